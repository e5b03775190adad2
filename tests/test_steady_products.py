"""Steady state in the product: every run reports its warm-up and whether its stocks still grow
after it, the KPIs count what is observed after the warm-up, and compare, analyze, the brief
and the dashboard flag a scenario that does not settle."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.experiments.compare import run_scenarios
from sim.experiments.replicate import interval
from sim.experiments.stability import mark_differences, stability
from sim.presentation.dashboard.state import steady_verdict
from tests.conftest import SMALL

runner = CliRunner()
NO_PATIENCE = {f"categories.{c}.patience_days": 3650 for c in sim.load_scenario("baseline").categories}
UNDERSTAFFED_YAML = (
    "name: understaffed\ndescription: departments and enforcement cut far below their load.\n"
    "extends: baseline\ndepartments:\n  staff_per_10k: 12.0\nenforcement:\n  staff_per_10k: 3.0\n"
)


def _sets(overrides: dict[str, object]) -> list[str]:
    return [arg for k, v in overrides.items() for arg in ("--set", f"{k}={v}")]


# ---- the warm-up as asked for --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-3", "foo", "2.5", "30"])
@pytest.mark.parametrize("command", ["run", "compare", "attribute", "batch"])
def test_a_bad_warmup_is_refused_in_one_line(command: str, value: str, tmp_path: Path) -> None:
    design = tmp_path / "d.yaml"
    design.write_text("name: d\nscenarios: [baseline]\ndays: 30\nreplications: 1\n")
    args = {
        "run": ["run", "baseline"],
        "compare": ["compare", "baseline", "reform"],
        "attribute": ["attribute", "baseline", "reform"],
        "batch": ["batch", str(design)],
    }[command]
    days = [] if command == "batch" else ["--days", "30"]
    res = runner.invoke(app, [*args, *days, "--warmup", value, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --warmup:") and repr(value) in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_design_warmup_must_leave_days(tmp_path: Path) -> None:
    from sim.errors import ScenarioError
    from sim.experiments.design import load_design

    design = tmp_path / "d.yaml"
    design.write_text("name: d\nscenarios: [baseline]\ndays: 30\nwarmup: 30\n")
    with pytest.raises(ScenarioError, match=r"warmup: 30 is not allowed: it leaves nothing of the 30-day"):
        load_design(design)


def test_kpis_count_what_is_observed_after_the_warmup() -> None:
    warm = 60
    res = sim.run("baseline", seed=3, days=200, overrides=SMALL, warmup=warm)
    c, s = res.cases, res.summary
    resolved = c[c["resolved_at"] >= warm]
    settled = resolved.shape[0] + int(((c["status"] == "dropped") & (c["closed_at"] >= warm)).sum())
    assert s["warmup_days"] == warm and res.steady.warmup == warm and not res.steady.auto
    assert s["delay_total_mean_days"] == pytest.approx(
        (resolved["resolved_at"] - resolved["occurred_at"]).mean()
    )
    assert s["tier_share_grid"] == pytest.approx((resolved["tier"] == "grid").mean())
    assert s["resolution_rate"] == pytest.approx(len(resolved) / settled)
    assert s["cases_created"] == len(c)  # counts cover the whole run
    whole = sim.run("baseline", seed=3, days=200, overrides=SMALL, warmup=0).summary
    done = c[c["resolved_at"].notna()]
    assert whole["delay_total_mean_days"] == pytest.approx((done["resolved_at"] - done["occurred_at"]).mean())
    assert whole["delay_total_mean_days"] != s["delay_total_mean_days"]
    assert whole["staff_hours"] == s["staff_hours"]


def test_an_understaffed_run_says_it_has_no_steady_state(tmp_path: Path) -> None:
    over = {**SMALL, "departments.staff_per_10k": 12.0, "enforcement.staff_per_10k": 3.0, **NO_PATIENCE}
    res = runner.invoke(
        app, ["run", "baseline", "--days", "400", "--seed", "2", *_sets(over), "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "steady state NOT reached" in " ".join(res.output.split())
    s = pd.read_parquet(tmp_path / "summary.parquet").iloc[0]
    assert s["steady_state"] == 0 and s["open_cases_grows"] == 1 and s["open_cases_growth_per_day"] > 1
    assert s["open_cases_trend_t"] > 3 and 0 < s["warmup_days"] <= 200  # MSER-5 searches the first half


# ---- scenarios: the stability table and what is marked -------------------------------------------


def _runs(scenario: str, verdicts: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scenario": scenario,
            "point": 0,
            "replication": range(len(verdicts)),
            "steady_state": verdicts,
            "warmup_days": 50.0,
            "open_cases_grows": [1.0 if v == 0 else 0.0 for v in verdicts],
            "open_cases_growth_per_day": 4.0,
        }
    )


def test_a_scenario_is_unstable_when_half_its_judged_runs_grow() -> None:
    runs = pd.concat([_runs("a", [1, 1, 1, 0]), _runs("b", [0, 1, 0, np.nan]), _runs("c", [np.nan, np.nan])])
    t = stability(runs).set_index("scenario")
    assert t["unstable"].to_dict() == {"a": False, "b": True, "c": False}
    assert t.loc["b", ["judged", "growing"]].tolist() == [3, 2]
    assert t.loc["b", "growth"] == {"open_cases": 4.0}
    old = stability(runs.drop(columns=["steady_state"]))  # a store from before the verdict
    assert not old["unstable"].any() and (old["judged"] == 0).all()


def test_only_delay_differences_with_an_unstable_scenario_are_marked() -> None:
    runs = pd.concat([_runs("a", [1, 1]), _runs("b", [0, 0]), _runs("c", [1, 1])])
    diffs = pd.DataFrame(
        {
            "scenario": ["b", "b", "c", "c"],
            "reference": "a",
            "point": 0,
            "kpi": ["delay_total_mean_days", "tier_share_grid", "delay_total_mean_days", "tier_share_grid"],
        }
    )
    assert mark_differences(diffs, runs)["grows_with_horizon"].tolist() == [True, False, False, False]


def test_the_dashboard_says_whether_the_run_settled() -> None:
    rng = np.random.default_rng(0)
    flat = {"open_cases": list(500 + rng.normal(0, 10, 300)), "backlog_grid": [0.0] * 300}
    rising = {**flat, "open_cases": list(np.asarray(flat["open_cases"]) + np.arange(300) * 2.0)}
    assert steady_verdict(flat).startswith("steady state reached")
    assert steady_verdict(rising).startswith("NO steady state: open cases +2.0/day")
    assert "too early" in steady_verdict({k: v[:15] for k, v in flat.items()})


def test_compare_analyze_and_the_brief_flag_an_understaffed_scenario(tmp_path: Path) -> None:
    scen = tmp_path / "understaffed.yaml"
    scen.write_text(UNDERSTAFFED_YAML)
    store = tmp_path / "store"
    args = ["compare", "reform", str(scen), "--reps", "2", "--days", "400", "--workers", "2"]
    res = runner.invoke(app, [*args, *_sets({**SMALL, **NO_PATIENCE}), "--out", str(store)])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "warning: understaffed did not reach a steady state: in 2 of its 2 runs" in text
    assert "reform did not reach" not in text and "† grows with the horizon" in text
    steady = sim.results.open(store).steady.set_index("scenario")
    assert steady["unstable"].to_dict() == {"reform": False, "understaffed": True}
    diffs = pd.read_csv(store / "differences.csv").set_index("kpi")
    assert diffs.loc["delay_total_mean_days", "grows_with_horizon"]
    assert not diffs.loc["tier_share_grid", "grows_with_horizon"]
    analysed = runner.invoke(app, ["analyze", str(store)])
    assert analysed.exit_code == 0 and "understaffed did not reach a steady state" in " ".join(
        analysed.output.split()
    )
    assert runner.invoke(app, ["report", str(store), "--out", str(tmp_path / "brief.html")]).exit_code == 0
    brief = " ".join((tmp_path / "brief.html").read_text().split())
    assert "understaffed did not reach a steady state" in brief and "(no steady state)" in brief
    delay = [li for li in brief.split("<li>") if li.startswith("Understaffed raised the mean delay")]
    assert delay and "grows with the horizon: it holds for the 400-day horizon" in delay[0]


# ---- the shipped scenarios settle, and the reform effect does not depend on the horizon ---------


def test_the_reform_effect_on_delay_is_the_same_at_one_and_two_years() -> None:
    """Paired replications on a 10,000-resident town (both scenarios settle there; the test
    stays well under a minute): the 730-day effect lies within the 365-day effect's interval."""
    workers = min(4, os.cpu_count() or 1)
    effect, settled = {}, []
    town = {"population.residents": 10_000}
    for days in (365, 730):
        s, _ = run_scenarios(
            ["baseline", "reform"], reps=5, seed=0, days=days, overrides=town, workers=workers
        )
        delay = s.pivot(index="replication", columns="scenario", values="delay_total_mean_days")
        effect[days] = interval(delay["reform"] - delay["baseline"])
        settled.append(not stability(s)["unstable"].any())
    (m365, lo, hi), (m730, _, _) = effect[365], effect[730]
    assert all(settled)
    assert m365 < 0 and lo <= m730 <= hi, effect
