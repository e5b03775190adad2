"""Findings of an experiment in plain sentences: numbers as text, and what they support.

:func:`load_study` reads an experiment store (:func:`sim.experiments.results.open`) and keys its finished runs
by label (the scenario, or the scenario and parameter point); :func:`findings` states each paired
difference against the reference scenario in a sentence generated from the numbers.

A finding says a scenario *changed* a KPI only when the 95% paired bootstrap interval of the
difference (:func:`sim.experiments.stats.paired_differences`) excludes zero; otherwise it says the difference
is not distinguishable from zero with that many replications. A delay difference with a scenario that
did not reach a steady state (:mod:`sim.experiments.stability`) always says that it grows with the
horizon. Designs with many parameter points
(samplers) are summarised per scenario, averaged over the points of each replication (still
paired: every scenario runs the same points with the same seeds). A design run over posterior
draws (``posterior_draws``) is stated with the combined intervals of
:mod:`sim.experiments.uncertainty`, and each sentence says which source of uncertainty dominates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import sim.experiments.results
from sim.core.metrics import TARGET_TIER_SHARES
from sim.errors import GovsimError, did_you_mean
from sim.experiments.stability import grows_with_horizon, stability
from sim.experiments.uncertainty import DRAW, SOURCE_WORDS, differences_of, has_draws, intervals_of
from sim.presentation import plots
from sim.presentation.plots import is_share

HEADLINE = (
    "plan_share_grid",
    "tier_share_grid",
    "tier_share_village",
    "tier_share_department",
    "tier_share_enforcement",
    "delay_total_mean_days",
    "delay_total_p90_days",
    "on_site_disposal_rate",
    "completion_within_deadline_rate",
    "approval_days_mean",
    "staff_hours",
    "satisfaction_mean",
)
#: With more parameter points than this, a design is summarised per scenario (points averaged).
MAX_POINTS = 6
KEYS = ("run_id", "scenario", "point", "draw", "replication", "seed")
MINUS = "\u2212"
Row = Mapping[Hashable, Any]


# ---- numbers as text ------------------------------------------------------------------------------


def _sig(x: float) -> str:
    """About three significant digits, thousands separated, with a true minus sign."""
    a = abs(x)
    if a == 0:
        return "0"
    s = f"{a:,.0f}" if a >= 100 else f"{a:.1f}" if a >= 10 else f"{a:.2f}" if a >= 1 else f"{a:#.3g}"
    return (MINUS if x < 0 and s.strip("0.,") else "") + s


def kpi_unit(kpi: str) -> str:
    """The unit written after a KPI's numbers ('' for shares, counts and plain numbers)."""
    label = plots.kpi_label(kpi)
    unit = label[label.rfind("(") + 1 : -1] if label.endswith(")") else ""
    return f" {unit}" if unit in ("days", "hours") else ""


def format_value(kpi: str, x: float) -> str:
    """A KPI value as shown in the brief: shares as percentages, others to about 3 digits."""
    if not math.isfinite(x):
        return "–"
    x += 0.0  # -0.0 -> 0.0, so that a zero never shows a minus sign
    if is_share(kpi):
        return f"{x * 100:.1f}%".replace("-", MINUS)
    return _sig(x)


def format_diff(kpi: str, d: float) -> str:
    """A difference (or interval bound) with its sign; shares in percentage points."""
    if not math.isfinite(d):
        return "–"
    if is_share(kpi):  # percentage points to one decimal, more digits if that would show 0.0
        text = f"{abs(d) * 100:.1f}"
        text = (MINUS if d < 0 else "") + (f"{abs(d) * 100:#.2g}" if text == "0.0" else text)
    else:
        text = _sig(d)
    return text if text.startswith(MINUS) or not d else "+" + text


def kpi_noun(kpi: str) -> str:
    """A KPI's plain-words name without its unit."""
    label = plots.kpi_label(kpi)
    return label[: label.rfind(" (")] if label.endswith(")") else label


# ---- reading the store ----------------------------------------------------------------------------


@dataclass
class Study:
    """An experiment store prepared for the brief: runs labelled, summaries keyed by label."""

    res: sim.experiments.results.Results
    design: dict[str, Any]
    labels: dict[tuple[str, int], str]
    summaries: pd.DataFrame
    kpis: list[str]
    reference: str
    pooled_points: int
    steady: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Whether each label reached a steady state (:func:`sim.experiments.stability.stability`)."""

    @property
    def names(self) -> list[str]:
        """Labels of what is compared, in design order."""
        return list(dict.fromkeys(self.labels.values()))

    @property
    def draws(self) -> int:
        """Posterior draws the runs were made under (0: none)."""
        return int(self.summaries[DRAW].nunique()) if has_draws(self.summaries) else 0

    @property
    def unstable(self) -> set[str]:
        """Labels that did not reach a steady state."""
        if self.steady.empty:
            return set()
        return {str(x) for x in self.steady.loc[self.steady["unstable"], "scenario"]}


def _point_labels(design: pd.DataFrame) -> tuple[dict[tuple[str, int], str], int]:
    """(scenario, point) -> label, and how many points are pooled per label (1 if none)."""
    params = [c for c in design.columns if c not in KEYS]
    pts = design.drop_duplicates(["scenario", "point"])
    n_points = pts["point"].nunique()
    pooled = n_points > MAX_POINTS
    labels = {}
    for row in pts.to_dict("records"):
        label = str(row["scenario"])
        if n_points > 1 and not pooled:
            label += " (" + ", ".join(f"{p.split('.')[-1]}={row[p]}" for p in params) + ")"
        labels[(str(row["scenario"]), int(row["point"]))] = label
    return labels, n_points if pooled else 1


def load_study(experiment_path: str | Path, reference: str | None = None) -> Study:
    """Open a store and key its finished runs by label (scenario, or scenario and point).

    Raises:
        GovsimError: no store, no finished runs, or an unknown reference scenario.
    """
    res = sim.experiments.results.open(experiment_path)
    s = res.summaries
    if s.empty:
        raise GovsimError(f"{res.path}: no finished runs to report on; run govsim batch first")
    design_file = res.path / "design.json"
    design = json.loads(design_file.read_text()) if design_file.is_file() else {}
    labels, pooled = _point_labels(res.design)
    label = [labels[(str(a), int(b))] for a, b in zip(s["scenario"], s["point"], strict=True)]
    s = s.assign(scenario=label)
    steady = stability(s.assign(point=0))  # points pooled into a label are judged together
    kpis = res.kpis
    if pooled > 1:
        by = ["scenario", DRAW, "replication"] if has_draws(s) else ["scenario", "replication"]
        s = s.groupby(by, sort=False)[kpis].mean().reset_index()
    s = s.assign(point=0)
    headline = [k for k in HEADLINE if k in kpis] or kpis
    scenarios = list(dict.fromkeys(str(x) for x in res.design["scenario"]))
    ref = reference or scenarios[0]
    if ref not in scenarios:
        hint = did_you_mean(ref, scenarios)
        among = f"is not a scenario of this experiment{hint}; choose from {scenarios}"
        raise GovsimError(f"--reference: {ref!r} {among}")
    return Study(res, design, labels, s, headline, ref, pooled, steady)


# ---- findings -------------------------------------------------------------------------------------


def uncertainty_note(row: Row) -> str:
    """What a sentence about a run over posterior draws adds: the interval's sources and which
    dominates ('' for a run without draws)."""
    draws = row.get("draws")
    if not draws:
        return ""
    what = f" The interval covers {int(draws)} posterior draws of the parameters as well as the runs"
    dominant = SOURCE_WORDS.get(str(row.get("dominant") or ""))
    return what + (f"; {dominant}." if dominant else ".")


def finding_sentence(kpi: str, row: Row, name: str, ref: str) -> str:
    """One plain sentence about one paired difference, claiming a change only when it is clear.

    Args:
        kpi: the KPI compared.
        row: a row of :func:`sim.experiments.stats.paired_differences` (``n_pairs``, ``mean_reference``,
            ``mean_scenario``, ``diff_mean``, ``diff_lo``, ``diff_hi``), or of
            :func:`sim.experiments.uncertainty.paired_differences_draws` (then also ``draws`` and
            ``dominant``).
        name: what is compared (the scenario's label).
        ref: what it is compared with.

    Returns:
        "X raised/cut the ... (paired difference ..., 95% interval ...)." when the interval excludes
        zero (or every paired difference is the same non-zero amount); otherwise a sentence saying
        the difference is not distinguishable from zero with that many replications. Over posterior
        draws, followed by :func:`uncertainty_note`.
    """
    sentence = _finding(kpi, row, name, ref)
    return sentence + uncertainty_note(row) if row["n_pairs"] >= 2 else sentence


def _finding(kpi: str, row: Row, name: str, ref: str) -> str:
    n, noun, unit = int(row["n_pairs"]), kpi_noun(kpi), kpi_unit(kpi)
    d, lo, hi = row["diff_mean"], row["diff_lo"], row["diff_hi"]
    fr, to = format_value(kpi, row["mean_reference"]), format_value(kpi, row["mean_scenario"])
    reps = f"{n} replication{'s' if n != 1 else ''}"
    if row.get("draws"):
        reps = f"{n} paired runs over {int(row['draws'])} posterior draws"
    every = "both replications" if n == 2 else f"all {reps}"
    subject = name[:1].upper() + name[1:]
    verb = "raised" if d > 0 else "cut"
    pp = " percentage points" if is_share(kpi) else unit
    if n == 0:
        return f"The {noun} has no value in the paired runs of {name} and {ref}, so it cannot be compared."
    if n < 2:
        return (
            f"The {noun} was {fr}{unit} under {ref} and {to}{unit} under {name}; with 1 paired "
            "replication no interval can be given, so this is not evidence of a difference."
        )
    if not (math.isfinite(lo) and math.isfinite(hi)):  # all paired differences were equal
        if d == 0:
            return (
                f"The difference in the {noun} between {name} and {ref} is not distinguishable from zero "
                f"with {reps}: the two gave identical results in {every} (mean {fr}{unit})."
            )
        return (
            f"{subject} {verb} the {noun} from {fr} to {to}{unit}, by the same amount in {every} "
            f"(paired difference {format_diff(kpi, d)}{pp})."
        )
    if lo > 0 or hi < 0:
        return (
            f"{subject} {verb} the {noun} from {fr} to {to}{unit} (paired difference "
            f"{format_diff(kpi, d)}{pp}, 95% interval {format_diff(kpi, lo)} to {format_diff(kpi, hi)})."
        )
    return (
        f"The difference in the {noun} between {name} ({to}{unit}) and {ref} ({fr}{unit}) is not "
        f"distinguishable from zero with {reps} (paired difference {format_diff(kpi, d)}{pp}, "
        f"95% interval {format_diff(kpi, lo)} to {format_diff(kpi, hi)})."
    )


def horizon_caveat(name: str, ref: str, unstable: set[str], days: Any = None) -> str:
    """What a delay finding must add when either side did not reach a steady state ('' if none)."""
    which = [x for x in (name, ref) if x in unstable]
    if not which:
        return ""
    who = " and ".join(which)
    horizon = f"the {days}-day horizon" if days else "the horizon"
    return (
        f" But {who} did not reach a steady state (backlogs still grew after the warm-up), so this "
        f"difference grows with the horizon: it holds for {horizon}, not as a lasting effect."
    )


def _target_sentence(name: str, row: Row) -> str:
    """Where the grid share (the village counted in the grid, as 001 counts it) stands
    against the reforms' 70% target."""
    target = TARGET_TIER_SHARES["grid"]
    m, lo, hi = row["mean"], row["lo"], row["hi"]
    share = f"{format_value('plan_share_grid', m)} of resolved issues were settled in the grid or the village"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"Under {name}, {share} (target {target:.0%}; no interval with one replication)."
    where = "below" if hi < target else "above" if lo > target else "not distinguishable from"
    return (
        f"Under {name}, {share} (95% interval {format_value('plan_share_grid', lo)} to "
        f"{format_value('plan_share_grid', hi)}), {where} the reforms' {target:.0%} target."
    )


def clear_change(row: Row) -> bool:
    """Whether a paired difference is clearly not zero (what :func:`finding_sentence` calls a change)."""
    if row["n_pairs"] < 2:
        return False
    if not (math.isfinite(row["diff_lo"]) and math.isfinite(row["diff_hi"])):
        return bool(row["diff_mean"] != 0 and math.isfinite(row["diff_mean"]))
    return bool(row["diff_lo"] > 0 or row["diff_hi"] < 0)


def comparisons(study: Study) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Each compared label, its reference (the reference scenario at the same parameter point)
    and their paired differences over the study's KPIs."""
    s = study.summaries
    ref_of = {lab: study.labels.get((study.reference, p), "") for (_, p), lab in study.labels.items()}
    for name in study.names:
        ref = ref_of[name]
        if name == ref or ref not in set(s["scenario"]):
            continue
        pair = s[s["scenario"].isin([ref, name])]
        yield name, ref, differences_of(pair, study.kpis, reference=ref)


def findings(study: Study) -> list[tuple[str, list[str]]]:
    """Sentences per comparison (each scenario against the reference, point by point).

    Returns:
        ``(heading, sentences)`` pairs: clear changes first, then the rest, in KPI order.
    """
    s, out = study.summaries, []
    for name, ref, diffs in comparisons(study):
        rows = diffs.to_dict("records")
        ordered = [r for r in rows if clear_change(r)] + [r for r in rows if not clear_change(r)]
        caveat = horizon_caveat(name, ref, study.unstable, study.design.get("days"))
        sentences = [
            finding_sentence(r["kpi"], r, name, ref) + (caveat if grows_with_horizon(r["kpi"]) else "")
            for r in ordered
        ]
        out.append((f"{name[:1].upper()}{name[1:]} compared with {ref}", sentences))
    if "plan_share_grid" in study.kpis:
        grid = intervals_of(s, ["plan_share_grid"]).to_dict("records")
        out.append(("Against the 70/20/10 target", [_target_sentence(r["scenario"], r) for r in grid]))
    return out


# ---- figures --------------------------------------------------------------------------------------


__all__: Sequence[str] = [
    "HEADLINE",
    "Study",
    "clear_change",
    "comparisons",
    "finding_sentence",
    "findings",
    "format_diff",
    "format_value",
    "horizon_caveat",
    "is_share",
    "kpi_noun",
    "kpi_unit",
    "load_study",
    "uncertainty_note",
]
