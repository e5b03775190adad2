"""Comparing scenarios over replications with common random numbers.

Replication ``r`` of every scenario uses the same seed (spawned from the root seed),
so scenarios that share a context meet the same issues and differences are policy,
not noise. Each KPI is reported as its mean and a 95% t-interval across replications.
(The full batch machinery — designs, stores, resumption — is :mod:`sim` issue 4.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.limits import check_run, check_runs
from sim.core.metrics import KPIS
from sim.core.params import Params
from sim.core.rng import replication_seeds
from sim.core.runner import run
from sim.core.scenarios import load_scenario
from sim.errors import GovsimError

_COUNTS_AND_COST = (
    "cases_created",
    "cases_closed",
    "cases_open",
    "cases_dropped",
    "cases_resolved",
    "staff_hours",
    "overtime_hours",
    "satisfaction_mean",
    "tier_distance_from_target",
)
KPI_ORDER = tuple(k for k in KPIS if k not in _COUNTS_AND_COST) + _COUNTS_AND_COST
"""The KPIs in display order: outcomes first, then counts, cost and satisfaction."""


def _one(args: tuple[Params, int, int, int]) -> tuple[pd.Series, pd.DataFrame]:
    params, rep, seed, days = args
    res = run(params, seed=seed, days=days)
    daily = res.daily.assign(scenario=params.name, replication=rep)
    return res.summary.rename(f"{params.name}#{rep}"), daily


def replicate(
    scenarios: Sequence[str | Params],
    reps: int = 5,
    seed: int = 0,
    days: int = 365,
    context: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    workers: int = 1,
    progress: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every scenario ``reps`` times with shared replication seeds.

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
    seeds = replication_seeds(seed, reps)
    jobs = [(p, r, s, days) for p in params for r, s in enumerate(seeds)]
    rows, dailies = [], []
    with ProcessPoolExecutor(workers) if workers > 1 else SerialPool() as pool:
        for summary, daily in pool.map(_one, jobs):
            rows.append(summary)
            dailies.append(daily)
            if progress is not None:
                progress()
    summaries = pd.DataFrame(rows).reset_index(drop=True)
    summaries.insert(0, "scenario", [p.name for p, _, _, _ in jobs])
    summaries.insert(1, "replication", [r for _, r, _, _ in jobs])
    summaries.insert(2, "seed", [s for _, _, s, _ in jobs])
    return summaries, pd.concat(dailies, ignore_index=True)


class SerialPool:
    """A stand-in for a process pool that maps in this process."""

    def __enter__(self) -> SerialPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Any:
        return map(fn, items)


def interval(values: pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of ``values`` (NaN bounds with fewer than 2 values)."""
    v = values.dropna().to_numpy(dtype=float)
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return (m, m - half, m + half)


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
