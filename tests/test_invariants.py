"""Invariants every run must satisfy: accounting, time order, Little's law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.kinds import LEVELS

TIMES = ["occurred_at", "discovered_at", "dispatched_at", "handling_started_at", "resolved_at", "closed_at"]


@pytest.mark.parametrize("which", ["baseline_run", "reform_run"])
def test_every_case_is_accounted_for(which: str, request: pytest.FixtureRequest) -> None:
    res: sim.RunResult = request.getfixturevalue(which)
    cases, s = res.cases, res.summary
    assert len(cases) == s["cases_created"] > 1000
    assert s["cases_closed"] + s["cases_open"] + s["cases_dropped"] == s["cases_created"]
    assert set(cases["status"].unique()) <= {"closed", "open", "dropped"}
    closed = cases[cases["status"] == "closed"]
    assert closed["resolved_at"].notna().all() and closed["tier"].notna().all()
    dropped = cases[cases["status"] == "dropped"]
    assert (dropped["drop_reason"] != "").all()
    assert (cases.loc[cases["status"] != "dropped", "drop_reason"] == "").all()
    # the daily flows add up to the ledger
    d = res.daily
    assert d["occurred"].sum() == len(cases)
    resolved = d[[f"resolved_{k}" for k in LEVELS]].sum().sum()
    assert resolved == cases["resolved_at"].notna().sum()


@pytest.mark.parametrize("which", ["baseline_run", "reform_run"])
def test_times_are_in_lifecycle_order(which: str, request: pytest.FixtureRequest) -> None:
    cases = request.getfixturevalue(which).cases
    for a, b in zip(TIMES, TIMES[1:], strict=False):
        both = cases[[a, b]].dropna()
        assert (both[b] >= both[a] - 1e-9).all(), f"{b} before {a}"
    assert (cases["occurred_at"] < 200).all()
    # a resolved case was discovered and dispatched
    res = cases[cases["resolved_at"].notna()]
    assert res[["discovered_at", "dispatched_at", "handling_started_at"]].notna().all().all()


@pytest.mark.parametrize("which", ["baseline_run", "reform_run"])
def test_littles_law_on_ledger_and_daily_table(which: str, request: pytest.FixtureRequest) -> None:
    """Sum of day-end open cases = total time cases spent open (within snapshot error)."""
    res = request.getfixturevalue(which)
    cases, days = res.cases, res.days
    end = cases["closed_at"].fillna(days).clip(upper=days)
    time_open = (end - cases["occurred_at"]).sum()
    snapshot_sum = res.daily["open_cases"].sum()
    # day-end snapshots sample the open count once a day: the error is about half a day
    # per case (sign varies), far below 2% here
    assert snapshot_sum == pytest.approx(time_open, rel=0.02)
    # and per day, open_cases equals occurred minus ended by that day's end
    ended = np.bincount(np.floor(cases["closed_at"].dropna()).astype(int), minlength=days)[:days]
    assert (res.daily["open_cases"].to_numpy() == np.cumsum(res.daily["occurred"]) - np.cumsum(ended)).all()


def test_tier_shares_sum_to_one(baseline_run: sim.RunResult) -> None:
    s = baseline_run.summary
    assert s[[f"tier_share_{k}" for k in LEVELS]].sum() == pytest.approx(1)
    assert s[[f"plan_share_{k}" for k in ("grid", "department", "enforcement")]].sum() == pytest.approx(1)
    assert s[[f"structural_share_{k}" for k in LEVELS]].sum() == pytest.approx(1)
    assert s["plan_share_grid"] == pytest.approx(s["tier_share_grid"] + s["tier_share_village"])


def test_ledger_columns_match_the_published_schema(reform_run: sim.RunResult) -> None:
    expected = [
        "case_id",
        "category",
        "town",
        "village",
        "grid",
        "channel",
        "occurred_at",
        "discovered_at",
        "dispatched_at",
        "handling_started_at",
        "resolved_at",
        "tier",
        "resolver",
        "escalations",
        "bounces",
        "on_site",
        "status",
    ]
    assert set(expected) <= set(reform_run.cases.columns)
    assert isinstance(reform_run.cases["tier"].dtype, pd.CategoricalDtype)
    daily = [
        "day",
        "occurred",
        "discovered",
        "resolved_grid",
        "resolved_village",
        "resolved_department",
        "resolved_enforcement",
        "open_cases",
    ]
    assert set(daily) <= set(reform_run.daily.columns)
    assert any(c.startswith("backlog_") for c in reform_run.daily.columns)
    assert any(c.startswith("utilisation_") for c in reform_run.daily.columns)


def test_delay_table_by_tier_matches_ledger(reform_run: sim.RunResult) -> None:
    from sim.core.metrics import delay_table

    t = delay_table(reform_run.cases, "tier")
    assert set(t["tier"]) == set(LEVELS)
    c = reform_run.cases
    grid = c[(c["tier"] == "grid") & c["resolved_at"].notna()]
    row = t[(t["tier"] == "grid") & (t["delay"] == "total")].iloc[0]
    assert row["n"] == len(grid)
    assert row["mean_days"] == pytest.approx((grid["resolved_at"] - grid["occurred_at"]).mean())
    assert (t["median_days"] <= t["p90_days"]).all()


def test_summary_lists_exactly_the_published_kpis(reform_run: sim.RunResult) -> None:
    from sim.core.metrics import KPIS
    from sim.core.steady import STEADY_COLUMNS

    assert tuple(reform_run.summary.index) == (*KPIS, *STEADY_COLUMNS)


@pytest.mark.parametrize("scenario", ["reform", "baseline", "ningbo_cluster", "wujiang_grid_linkage"])
def test_a_finished_run_leaves_no_model_behind(scenario: str) -> None:
    """Mesa 3.3 keeps models alive through Agent._ids (mesa#3179), and the model, its
    agents and mechanisms form reference cycles: run() must release them and break the
    cycles, so that the model goes when run() returns, without a garbage collection."""
    import gc

    from sim.core.model import GovModel
    from sim.core.world import World

    def models() -> int:  # type(), not isinstance(): a dead weak proxy (numba keeps some) raises
        return sum(issubclass(type(o), (GovModel, World)) for o in gc.get_objects())

    gc.collect()
    before = models()
    gc.disable()
    try:
        for seed in range(3):
            sim.run(scenario, seed=seed, days=5, overrides={"population.residents": 5000})
        assert models() == before
    finally:
        gc.enable()
