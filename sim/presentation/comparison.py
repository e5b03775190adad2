"""The main job's output in plain words: headline sentences, then a readable KPI table.

``govsim compare`` opens with :func:`headline`: the brief's finding sentences
(:func:`sim.presentation.findings.finding_sentence`) for a few headline KPIs, each
scenario against the first, generated from the paired differences, so they always say
what the numbers say. The table that follows (:func:`kpi_rows`) names each KPI in plain
words (:func:`sim.presentation.plots.kpi_label`), shows shares as percentages and their
differences in percentage points, and cuts intervals at the KPI's natural limits (no
KPI is below 0; shares and satisfaction are at most 1). :func:`replication_warning`
says when there are too few replications for the intervals to be more than rough. Over
posterior draws (a ``dominant`` column, :mod:`sim.experiments.uncertainty`) the intervals are the
combined ones, each sentence says which source of uncertainty dominates, and the table gains a
column per difference naming it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import pandas as pd

from sim.experiments.stability import HORIZON_MARK
from sim.presentation.findings import finding_sentence, format_diff, format_value, is_share
from sim.presentation.plots import kpi_label

HEADLINE_KPIS = (
    "plan_share_grid",
    "delay_total_mean_days",
    "completion_within_deadline_rate",
    "staff_hours",
)
"""The KPIs the headline sentences are about: where issues are settled, how fast, how
reliably, and at what cost."""
ROUGH_BELOW = 5
"""Fewer replications than this give rough intervals (the paired bootstrap cannot be wider
than the spread of the few differences observed; the t-interval's width is itself uncertain)."""
_AT_MOST_ONE = ("satisfaction_mean",)
Row = Mapping[Hashable, Any]


def headline(diffs: pd.DataFrame, kpis: Sequence[str] = HEADLINE_KPIS) -> list[str]:
    """Plain sentences about the headline KPIs, each scenario against its reference.

    Args:
        diffs: the table of :func:`sim.experiments.stats.paired_differences`.
        kpis: the KPIs to speak of, in this order (those missing from ``diffs`` are skipped).

    Returns:
        One sentence per scenario and KPI: a change is claimed only when its 95% paired
        interval excludes zero (:func:`~sim.presentation.findings.finding_sentence`).
    """
    sentences = []
    for (name, ref), grp in diffs.groupby(["scenario", "reference"], sort=False):
        by_kpi = {r["kpi"]: r for r in grp.to_dict("records")}
        sentences += [
            finding_sentence(k, by_kpi[k], str(name), str(ref))
            + (f" {HORIZON_MARK}" if by_kpi[k].get("grows_with_horizon") else "")
            for k in kpis
            if k in by_kpi
        ]
    return sentences


def replication_warning(reps: int) -> str | None:
    """A warning when ``reps`` replications per scenario are too few (None when enough)."""
    if reps >= ROUGH_BELOW:
        return None
    if reps < 2:
        return "with 1 replication there is no interval, so no difference can be told from noise"
    return (
        f"with {reps} replications per scenario the 95% intervals are rough (fewer than {ROUGH_BELOW}); "
        "treat the differences as indicative"
    )


def interval_text(kpi: str, lo: float, hi: float) -> str:
    """An interval as text, cut at the KPI's natural limits (0, and 1 for shares and satisfaction)."""
    top = 1.0 if is_share(kpi) or kpi in _AT_MOST_ONE else math.inf
    return f"[{format_value(kpi, max(lo, 0.0))}, {format_value(kpi, min(hi, top))}]"


def value_cell(kpi: str, row: Row) -> str:
    """A KPI's mean and its 95% interval (a row of :func:`sim.experiments.compare.kpi_table`)."""
    mean = format_value(kpi, row["mean"])
    if row["n"] < 2 or not (math.isfinite(row["lo"]) and math.isfinite(row["hi"])) or row["lo"] == row["hi"]:
        return mean  # no interval, or none to show: every replication gave the same value
    return f"{mean} {interval_text(kpi, row['lo'], row['hi'])}"


def diff_cell(kpi: str, row: Row | None) -> str:
    """A paired difference and its bootstrap interval, signed; shares in percentage points (pp)."""
    if row is None or not math.isfinite(row["diff_mean"]):
        return "–"
    unit = " pp" if is_share(kpi) else ""
    text = format_diff(kpi, row["diff_mean"]) + unit
    if math.isfinite(row["diff_lo"]) and math.isfinite(row["diff_hi"]):
        text += f" [{format_diff(kpi, row['diff_lo'])}, {format_diff(kpi, row['diff_hi'])}]"
    return text + (f" {HORIZON_MARK}" if row.get("grows_with_horizon") else "")


def source_cell(row: Row | None) -> str:
    """Which source dominates a difference's interval over posterior draws: parameters or runs."""
    return str(row.get("dominant") or "–") if row is not None else "–"


def kpi_rows(kpis: pd.DataFrame, diffs: pd.DataFrame) -> list[list[str]]:
    """The KPI table's rows: label, each scenario's value, then each difference from the reference
    (and, over posterior draws, after each difference the source that dominates its interval).

    Args:
        kpis: :func:`sim.experiments.compare.kpi_table` (scenarios in their order of appearance).
        diffs: :func:`sim.experiments.stats.paired_differences` of the same runs (or
            :func:`sim.experiments.uncertainty.paired_differences_draws`).
    """
    others = list(dict.fromkeys(diffs["scenario"])) if not diffs.empty else []
    by_pair = {(r["scenario"], r["kpi"]): r for r in diffs.to_dict("records")}
    sources = "dominant" in diffs.columns
    rows = []
    for kpi, grp in kpis.groupby("kpi", sort=False):
        k = str(kpi)
        values = [value_cell(k, r) for r in grp.to_dict("records")]
        cells = []
        for n in others:
            row = by_pair.get((n, k))
            cells += [diff_cell(k, row), source_cell(row)] if sources else [diff_cell(k, row)]
        rows.append([kpi_label(k), *values, *cells])
    return rows
