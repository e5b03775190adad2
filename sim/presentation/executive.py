"""The brief's front: its title, and an executive summary for a reader who reads nothing else.

:func:`brief_title` is the first sentence of the design's description (the question the
study asks), else the experiment's name. :func:`executive_summary` condenses the findings
(:mod:`sim.presentation.findings`) into a few sentences generated from the same numbers:
what was run; for each comparison, the headline KPIs
(:data:`sim.presentation.comparison.HEADLINE_KPIS`) whose 95% paired interval excludes
zero, with their values under both, and the others named as not clearly different; and
how far to trust it (few replications, runs that did not finish). Over posterior draws it says
so, and for how many headline differences parameter uncertainty dominates the interval.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.experiments.uncertainty import PARAMETERS
from sim.presentation.comparison import HEADLINE_KPIS, ROUGH_BELOW
from sim.presentation.findings import (
    Study,
    clear_change,
    comparisons,
    format_diff,
    format_value,
    is_share,
    kpi_noun,
    kpi_unit,
)

MAX_COMPARISONS = 4
"""Comparisons stated in the summary; the rest are left to the findings."""


def brief_title(study: Study) -> str:
    """The first sentence of the design's description, else the experiment's name."""
    description = " ".join(str(study.design.get("description") or "").split())
    first = re.split(r"(?<=[.?!])\s", description, maxsplit=1)[0].removesuffix(".")
    return first or str(study.design.get("name") or study.res.path.name)


def _setup(study: Study) -> str:
    d = study.design
    scenarios = [Path(str(x)).stem for x in dict.fromkeys(d.get("scenarios", []))]
    points = int(study.res.design["point"].nunique())
    at = f" at {points} parameter points" if points > 1 else ""
    pooled = " (figures averaged over the points)" if study.pooled_points > 1 else ""
    draws = (
        f" under each of {study.draws} posterior draws of the context's parameters (so every "
        "interval carries the parameter uncertainty as well as run-to-run noise)"
        if study.draws
        else ""
    )
    return (
        f"The study ran {len(scenarios)} scenario{'s' if len(scenarios) != 1 else ''} "
        f"({', '.join(scenarios)}){at} for {d.get('days', '?')} simulated days, with "
        f"{d.get('replications', '?')} paired replications each{draws}{pooled}."
    )


def _dominance(rows: Sequence[Mapping[Hashable, Any]]) -> str:
    """Which source of uncertainty dominates the headline differences' intervals (over draws)."""
    judged = [r for r in rows if r.get("dominant")]
    if not judged:
        return ""
    by_params = sum(r["dominant"] == PARAMETERS for r in judged)
    return (
        f"Parameter uncertainty dominates the interval of {by_params} of the {len(judged)} headline "
        "differences (more replications would not narrow those; a sharper calibration would), "
        f"run-to-run noise the other {len(judged) - by_params}."
    )


def _clause(kpi: str, row: Mapping[Hashable, Any]) -> str:
    fr, to = format_value(kpi, row["mean_reference"]), format_value(kpi, row["mean_scenario"])
    unit = kpi_unit(kpi)
    d = row["diff_mean"]
    diff = format_diff(kpi, d) + (" points" if is_share(kpi) else unit)
    return f"the {kpi_noun(kpi)} {'rose' if d > 0 else 'fell'} from {fr} to {to}{unit} ({diff})"


def _comparison(name: str, ref: str, rows: Sequence[Mapping[Hashable, Any]]) -> str:
    clear = [r for r in rows if clear_change(r)]
    unclear = [kpi_noun(str(r["kpi"])) for r in rows if not clear_change(r)]
    subject = f"{name[:1].upper()}{name[1:]} against {ref}"
    if not rows:
        return f"{subject}: no paired runs finished, so there is nothing to compare."
    if not clear:
        return f"{subject}: no headline figure differs clearly."
    text = f"{subject}: " + "; ".join(_clause(str(r["kpi"]), r) for r in clear) + "."
    if unclear:
        text += f" No clear difference in the {', '.join(unclear)}."
    return text


def executive_summary(study: Study, kpis: Sequence[str] = HEADLINE_KPIS) -> list[str]:
    """The summary's sentences: the setup, up to :data:`MAX_COMPARISONS` comparisons, caveats."""
    shown = [k for k in kpis if k in study.kpis] or study.kpis[:4]
    items = [_setup(study)]
    found = list(comparisons(study))
    stated: list[Mapping[Hashable, Any]] = []
    for name, ref, diffs in found[:MAX_COMPARISONS]:
        by_kpi = {r["kpi"]: r for r in diffs.to_dict("records")}
        stated += [by_kpi[k] for k in shown if k in by_kpi]
        items.append(_comparison(name, ref, [by_kpi[k] for k in shown if k in by_kpi]))
    if len(found) > MAX_COMPARISONS:
        items.append(f"{len(found) - MAX_COMPARISONS} more comparisons are stated in the findings below.")
    note = _dominance(stated)
    if note:
        items.append(note)
    n = int(study.summaries.groupby("scenario").size().min()) // max(study.draws, 1)
    if n < ROUGH_BELOW:
        items.append(
            f"With {n} replication{'s' if n != 1 else ''} per scenario the intervals are rough "
            f"(fewer than {ROUGH_BELOW}): read these differences as indicative."
        )
    runs = study.res.runs
    failed = int((runs["status"] != "ok").sum())
    if failed:
        items.append(f"{failed} of {len(runs)} runs did not finish and are left out.")
    return items


__all__ = ["MAX_COMPARISONS", "brief_title", "executive_summary"]
