"""Comparing scenarios over replications with common random numbers.

Replication ``r`` of every scenario uses the same seed (spawned from the root seed,
:mod:`sim.experiments.replicate`), so scenarios that share a context meet the same
issues and differences are policy, not noise. Each KPI is reported as its mean and a
95% t-interval across replications (the batch machinery — designs, stores,
resumption — is :mod:`sim.experiments.batch`). ``govsim compare`` runs
:func:`compare_design` with the batch runner, so its output is an experiment store like
any other (resumable; ``govsim results``, ``analyze``, ``report`` read it);
:func:`run_scenarios` runs the same comparison in memory. With ``draws`` the comparison runs
under each of the context's first posterior draws (:mod:`sim.experiments.posterior`), and its
intervals combine parameter and run-to-run uncertainty (:mod:`sim.experiments.uncertainty`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.core.limits import check_run, check_runs
from sim.core.metrics import KPIS
from sim.core.params import Params
from sim.core.runner import run as sim_run
from sim.core.scenarios import load_scenario
from sim.core.steady import check_warmup
from sim.errors import GovsimError
from sim.experiments.replicate import Run, interval, local_executor, paired_runs, replicate

if TYPE_CHECKING:
    from sim.experiments.design import Design

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


def compare_design(
    scenarios: Sequence[str],
    reps: int,
    seed: int,
    days: int,
    context: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    warmup: int | str = "auto",
    draws: int | None = None,
) -> Design:
    """The experiment design of a comparison: the scenarios × ``reps`` paired replications
    (× the first ``draws`` posterior draws of the context, if given).

    Named ``compare-A-B`` after the scenarios (as their store is); every KPI is kept, and
    the daily tables. Every scenario is loaded and checked first.

    Raises:
        GovsimError: a scenario that does not load, two of one name, a name that is not a
            slug, a seed, horizon, size or number of runs out of bounds, or a context with no
            draws file or fewer draws than asked (one line).
    """
    from pydantic import ValidationError

    from sim.experiments.design import Design, scenario_key
    from sim.experiments.paths import slug
    from sim.experiments.posterior import posterior_of

    params = [load_scenario(s, context=context, overrides=overrides) for s in scenarios]
    names = [slug(p.name, "scenario name (its name: or file name)") for p in params]
    if len(set(names)) != len(names):
        raise GovsimError(f"scenarios: {names} name one scenario twice; compare needs different scenarios")
    if draws is not None:
        posterior_of(scenarios, context).first(draws)
    check_runs(len(params) * reps * (draws or 1), f"scenarios{' × draws' if draws else ''} × replications")
    for p in params:
        check_run(p, days, seed)
    keys = [slug(scenario_key(s), "scenario file name") for s in scenarios]
    try:
        return Design(
            name="compare-" + "-".join(keys),
            description=f"govsim compare {' '.join(scenarios)}",
            scenarios=tuple(scenarios),
            context=context,
            days=days,
            replications=reps,
            seed=seed,
            overrides=dict(overrides or {}),
            warmup=check_warmup(warmup, days),
            posterior_draws=draws,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise GovsimError(f"{'.'.join(map(str, err['loc'])) or 'compare'}: {msg}") from None


def _one(run: Run) -> tuple[pd.Series, pd.DataFrame]:
    res = sim_run(run.params, seed=run.seed, days=run.days, warmup=run.warmup)
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
    warmup: int | str = "auto",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every scenario ``reps`` times with shared replication seeds
    (:func:`sim.experiments.replicate.paired_runs`), each with ``warmup`` (days or ``"auto"``).

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
    check_warmup(warmup, days)
    runs = paired_runs({p.name: p for p in params}, reps, seed, days, warmup)
    with local_executor(workers) as pool:
        results = replicate(_one, runs, pool, progress)
    summaries = pd.DataFrame([s for s, _ in results]).reset_index(drop=True)
    summaries.insert(0, "scenario", [r.key for r in runs])
    summaries.insert(1, "replication", [r.replication for r in runs])
    summaries.insert(2, "seed", [r.seed for r in runs])
    return summaries, pd.concat([d for _, d in results], ignore_index=True)


def kpi_table(summaries: pd.DataFrame, kpis: Sequence[str] = KPI_ORDER) -> pd.DataFrame:
    """Long table: one row per scenario and KPI with ``mean``, ``lo``, ``hi``, ``n``; over
    posterior draws (a ``draw`` column), the combined interval and its variance components
    (:func:`sim.experiments.uncertainty.kpi_intervals_draws`)."""
    from sim.experiments.uncertainty import has_draws, kpi_intervals_draws

    if has_draws(summaries):
        return kpi_intervals_draws(summaries, kpis).drop(columns=["point", "sd"])
    rows = []
    for scen, grp in summaries.groupby("scenario", sort=False):
        for k in kpis:
            m, lo, hi = interval(grp[k])
            rows.append(
                {"scenario": scen, "kpi": k, "mean": m, "lo": lo, "hi": hi, "n": int(grp[k].notna().sum())}
            )
    return pd.DataFrame(rows)
