"""Whether each scenario of an experiment reached a steady state, from its runs' verdicts.

Every run's summary carries its steady-state verdict (:data:`sim.core.steady.STEADY_COLUMNS`):
the warm-up, and for open cases and each kind of unit's backlog the trend after it. A
scenario (at a parameter point) is **unstable** when at least half of its runs that could
be judged found a stock growing. An unstable scenario has no steady-state delay: its
delays grow with the horizon, so a delay difference against it says as much about the
horizon as about the policy. :func:`grows_with_horizon` names those KPIs, and
:func:`mark_differences` marks the paired differences that involve such a scenario, so
that ``compare``, ``analyze`` and the brief never state one without saying so.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import pandas as pd

from sim.core.steady import STOCKS

STOCK_NAMES = {
    "open_cases": "open cases",
    "backlog_grid": "the grid teams' backlog",
    "backlog_department": "the departments' backlog",
    "backlog_enforcement": "enforcement's backlog",
    "backlog_centre": "the command centre's backlog",
    "backlog_village": "the village staff's backlog",
    "backlog_police": "the grid police officers' backlog",
}
"""How a sentence names each stock of :data:`sim.core.steady.STOCKS`."""

HORIZON_MARK = "†"
"""Marks a delay difference that involves a scenario without a steady state."""

COLUMNS = ["scenario", "point", "runs", "judged", "growing", "unstable", "warmup_days", "growth"]


def grows_with_horizon(kpi: str) -> bool:
    """Whether a KPI grows with the horizon in a scenario whose backlogs grow: the delays of cases."""
    return kpi.startswith("delay_")


def stability(summaries: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario and point: is it in steady state?

    Args:
        summaries: one row per run with ``scenario``, ``point`` (optional) and the steady-state
            columns; runs stored without them (older stores) count as not judged.

    Returns:
        Columns ``scenario, point, runs, judged`` (runs with a verdict), ``growing`` (runs in
        which a stock grows), ``unstable`` (at least half the judged runs grow),
        ``warmup_days`` (mean warm-up) and ``growth``: stock → its mean growth per day over
        the runs in which it grows.
    """
    if summaries.empty:
        return pd.DataFrame(columns=COLUMNS)
    s = summaries if "point" in summaries else summaries.assign(point=0)
    rows = []
    for (scen, point), grp in s.groupby(["scenario", "point"], sort=False):
        verdict = grp["steady_state"] if "steady_state" in grp else pd.Series(dtype=float)
        judged, growing = int(verdict.notna().sum()), int((verdict == 0).sum())
        growth = {}
        for stock in STOCKS:
            flag = grp.get(f"{stock}_grows")
            if flag is not None and (flag == 1).any():
                growth[stock] = float(grp.loc[flag == 1, f"{stock}_growth_per_day"].mean())
        rows.append(
            {
                "scenario": scen,
                "point": point,
                "runs": len(grp),
                "judged": judged,
                "growing": growing,
                "unstable": bool(growing and 2 * growing >= judged),
                "warmup_days": float(grp["warmup_days"].mean()) if "warmup_days" in grp else float("nan"),
                "growth": growth,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def unstable_note(row: Mapping[Hashable, Any], days: int | None = None) -> str:
    """One sentence on an unstable scenario: how many runs grew, which stocks, how fast.

    Args:
        row: a row of :func:`stability`.
        days: the experiment's horizon, named in the sentence if given.
    """
    grew = " and ".join(f"{STOCK_NAMES.get(k, k)} by {v:,.1f} a day" for k, v in row["growth"].items())
    horizon = f" ({days} days here)" if days else ""
    return (
        f"{row['scenario']} did not reach a steady state: in {row['growing']} of its {row['judged']} "
        f"runs a stock still grew after the warm-up ({grew}). Its delays grow with the horizon"
        f"{horizon}, so a delay difference against it is not a steady-state effect."
    )


def unstable_scenarios(summaries: pd.DataFrame) -> set[tuple[str, int]]:
    """The (scenario, point) pairs that :func:`stability` calls unstable."""
    t = stability(summaries)
    return {(str(r["scenario"]), int(r["point"])) for _, r in t[t["unstable"]].iterrows()}


def mark_differences(diffs: pd.DataFrame, summaries: pd.DataFrame) -> pd.DataFrame:
    """Paired differences with a ``grows_with_horizon`` column: a delay KPI compared with or
    against an unstable scenario (at the same point)."""
    bad = unstable_scenarios(summaries)
    flag = [
        grows_with_horizon(str(r["kpi"]))
        and bool({(str(r["scenario"]), int(r["point"])), (str(r["reference"]), int(r["point"]))} & bad)
        for _, r in diffs.iterrows()
    ]
    return diffs.assign(grows_with_horizon=pd.Series(flag, index=diffs.index, dtype=bool))
