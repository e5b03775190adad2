"""Comparing scenarios over replications with common random numbers.

Replication ``r`` of every scenario uses the same seed (spawned from the root seed,
:mod:`sim.experiments.replicate`), so scenarios that share a context meet the same
issues and differences are policy, not noise. Each KPI is reported as its mean and a
95% t-interval across replications (the batch machinery — designs, stores,
resumption — is :mod:`sim.experiments.batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from sim.core.limits import check_run, check_runs
from sim.core.metrics import KPIS
from sim.core.params import Params
from sim.core.runner import run as sim_run
from sim.core.scenarios import load_scenario
from sim.errors import GovsimError
from sim.experiments.replicate import Run, interval, local_executor, paired_runs, replicate

_COUNTS_AND_COST = (
    "cases_created",
    "cases_closed",
    "cases_open",
    "cases_dropped",
    "cases_timed_out",
    "cases_resolved",
    "staff_hours",
    "overtime_hours",
    "satisfaction_mean",
    "tier_distance_from_target",
)
KPI_ORDER = tuple(k for k in KPIS if k not in _COUNTS_AND_COST) + _COUNTS_AND_COST
"""The KPIs in display order: outcomes first, then counts, cost and satisfaction."""


def _one(run: Run) -> tuple[pd.Series, pd.DataFrame]:
    res = sim_run(run.params, seed=run.seed, days=run.days)
    daily = res.daily.assign(scenario=str(run.key), replication=run.replication)
    return res.summary.rename(f"{run.key}#{run.replication}"), daily


def run_scenarios(
    scenarios: Sequence[str | Params],
    reps: int = 5,
    seed: int = 0,
    days: int = 365,
    context: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    workers: int = 1,
    progress: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every scenario ``reps`` times with shared replication seeds
    (:func:`sim.experiments.replicate.paired_runs`).

    Returns:
        (summaries, daily): one row per run (with ``scenario``, ``replication``,
        ``seed``), and the daily tables stacked with the same keys.

    Raises:
        GovsimError: two scenarios of one name, or a seed, horizon, size or number of runs out
            of bounds.
    """
    params = [load_scenario(s, context=context, overrides=overrides) for s in scenarios]
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise GovsimError(f"scenarios: {names} name one scenario twice; compare needs different scenarios")
    check_runs(len(params) * reps, "scenarios × replications")
    for p in params:
        check_run(p, days, seed)
    runs = paired_runs({p.name: p for p in params}, reps, seed, days)
    with local_executor(workers) as pool:
        results = replicate(_one, runs, pool, progress)
    summaries = pd.DataFrame([s for s, _ in results]).reset_index(drop=True)
    summaries.insert(0, "scenario", [r.key for r in runs])
    summaries.insert(1, "replication", [r.replication for r in runs])
    summaries.insert(2, "seed", [r.seed for r in runs])
    return summaries, pd.concat([d for _, d in results], ignore_index=True)


def kpi_table(summaries: pd.DataFrame, kpis: Sequence[str] = KPI_ORDER) -> pd.DataFrame:
    """Long table: one row per scenario and KPI with ``mean``, ``lo``, ``hi``, ``n``."""
    rows = []
    for scen, grp in summaries.groupby("scenario", sort=False):
        for k in kpis:
            m, lo, hi = interval(grp[k])
            rows.append(
                {"scenario": scen, "kpi": k, "mean": m, "lo": lo, "hi": hi, "n": int(grp[k].notna().sum())}
            )
    return pd.DataFrame(rows)
