"""Shapley attribution of a reform's effect to its mechanisms."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.core.model import GovModel
from sim.core.output import staff_hours
from sim.experiments.attribution import (
    attribute,
    differences,
    equal_cost_control,
    group,
    shapley,
    shapley_orders,
)
from tests.conftest import REFERENCE

SMALL = {"population.residents": 12_000}
KPIS = ["tier_share_grid", "delay_total_mean_days", "on_site_disposal_rate", "approval_trips_mean"]


def test_shapley_on_a_known_game() -> None:
    # v = 10*a + 4*b + 6*a*b: Shapley splits the interaction equally
    def v(s: frozenset[str]) -> float:
        a, b = "a" in s, "b" in s
        return 10 * a + 4 * b + 6 * (a and b)

    values = {frozenset(c): v(frozenset(c)) for c in ([], ["a"], ["b"], ["a", "b"])}
    phi = shapley(values, shapley_orders(["a", "b"], max_exact=6, samples=0, seed=0))
    assert phi == {"a": 13.0, "b": 7.0}


def test_mechanisms_group_the_differences() -> None:
    a, b = sim.load_scenario("baseline"), sim.load_scenario("reform")
    mechs = group(differences(a, b))
    assert set(mechs) == {
        "separation",
        "service_lists",
        "command_centre",
        "merged_departments",
        "comprehensive_enforcement",
        "one_window",
    }
    assert mechs["separation"] == {"grid.separation": True}


@pytest.fixture(scope="module")
def reform_attribution() -> object:
    # the built-in assumptions: on the calibrated context the reform moves the grid share by
    # a fraction of a point, too little to judge a trace against
    a = sim.load_scenario("baseline", context=REFERENCE, overrides=SMALL)
    b = sim.load_scenario("reform", context=REFERENCE, overrides=SMALL)
    return attribute(a, b, KPIS, reps=2, days=40, workers=2)


def test_shares_sum_to_the_total_change(reform_attribution: object) -> None:
    shares = reform_attribution.shares  # type: ignore[attr-defined]
    for kpi in KPIS:
        k = shares[shares["kpi"] == kpi].set_index("mechanism")
        parts = k.drop(index="TOTAL")["contribution_mean"].sum()
        assert parts == pytest.approx(k.loc["TOTAL", "contribution_mean"], abs=1e-9)
        assert (
            k.drop(index="TOTAL")["share_mean"].sum() == pytest.approx(1.0)
            or k.loc["TOTAL", "contribution_mean"] == 0
        )
    # the total equals the difference between the two scenarios' own runs
    runs = reform_attribution.runs  # type: ignore[attr-defined]
    n_mechanisms = shares["mechanism"].nunique() - 1  # without TOTAL
    full = runs[runs["coalition"].str.count(r"\+") == n_mechanisms - 1]
    base = runs[runs["coalition"] == "FROM"]
    total = shares[(shares["kpi"] == "delay_total_mean_days") & (shares["mechanism"] == "TOTAL")]
    expected = full["delay_total_mean_days"].mean() - base["delay_total_mean_days"].mean()
    assert total["contribution_mean"].iloc[0] == pytest.approx(expected)


def test_one_window_barely_moves_case_kpis_but_cuts_trips(reform_attribution: object) -> None:
    """The window touches cases only through residents' satisfaction with their approvals,
    which moves their willingness to report: a trace, not an effect."""
    shares = reform_attribution.shares.set_index(["kpi", "mechanism"])  # type: ignore[attr-defined]
    for kpi in ("tier_share_grid", "delay_total_mean_days"):
        total = shares.loc[(kpi, "TOTAL"), "contribution_mean"]
        assert abs(shares.loc[(kpi, "one_window"), "contribution_mean"]) < 0.02 * abs(total)
    assert shares.loc[("approval_trips_mean", "one_window"), "contribution_mean"] < -0.5


def test_mechanism_on_in_both_gets_zero() -> None:
    common = {**SMALL, "grid.separation": True, "one_window.window_hours": 0.5}
    a = sim.load_scenario("baseline", overrides=common)
    b = sim.load_scenario(
        "baseline",
        overrides={
            **common,
            "enforcement.mode": "comprehensive",
            "enforcement.devolved_domains": ["urban_management"],
            "one_window.window_hours": 0.2,
        },
    )
    res = attribute(a, b, ["on_site_disposal_rate", "delay_total_mean_days"], reps=2, days=30)
    s = res.shares.set_index(["kpi", "mechanism"])
    assert "separation" not in res.mechanisms  # on in both: not a player
    # one window is off in both; its parameter differs but changes nothing
    assert (s.xs("one_window", level="mechanism")["contribution_mean"] == 0).all()
    assert s.loc[
        ("on_site_disposal_rate", "comprehensive_enforcement"), "contribution_mean"
    ] == pytest.approx(s.loc[("on_site_disposal_rate", "TOTAL"), "contribution_mean"])


def test_equal_cost_control_matches_staff_hours() -> None:
    a = sim.load_scenario("baseline", overrides=SMALL)
    b = sim.load_scenario("reform", overrides=SMALL)
    c = equal_cost_control(a, b)
    hb, hc, ha = (staff_hours(GovModel(p, days=365)) for p in (b, c, a))
    assert hc == pytest.approx(hb, rel=0.02) and hc > ha
    assert not c.grid.separation and not c.dispatch.command_centre  # no structure
    assert c.departments.staff_per_10k > a.departments.staff_per_10k


def test_attribute_cli(tmp_path: pd.DataFrame) -> None:
    r = CliRunner().invoke(
        app,
        [
            "attribute",
            "baseline",
            "reform",
            "--reps",
            "2",
            "--days",
            "20",
            "--set",
            "population.residents=8000",
            "--kpi",
            "delay_total_mean_days",
            "--workers",
            "2",
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "equal-cost control" in r.output and "separation" in r.output
    # without a terminal, progress comes as log lines, and the bar knows its total
    assert re.search(r"^runs: (\d+)/\1 \(100%\)", r.output, re.MULTILINE), r.output
    shares = pd.read_parquet(tmp_path / "shares.parquet")
    assert set(shares["mechanism"]) >= {"separation", "TOTAL"}
