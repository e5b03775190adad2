"""The Mesa way in: keyword construction, the DataCollector, ``running``, ``mesa.batch_run``."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from mesa.batchrunner import batch_run

import sim
from sim.core.agents import KINDS
from sim.core.collect import DAILY_COLUMNS, UNIT_COLUMNS
from sim.core.mesa_model import MesaGovModel, parameter_overrides
from sim.core.metrics import KPIS
from sim.core.model import GovModel
from sim.core.output import daily_table
from sim.core.scenarios import load_scenario, parse_override
from sim.core.steady import STEADY_COLUMNS
from sim.errors import GovsimError, ScenarioError
from sim.experiments.batch import run_batch

RESIDENTS = 8_000
DAYS = 30
STEPPED = {"population__residents": 12_000, "departments__staff_per_10k": 1.0}
SUMMARY = [*KPIS, *STEADY_COLUMNS]
"""A run summary's columns: the KPIs and the steady-state verdict."""


def _kpis(rows: list[dict[str, object]], by: list[str]) -> pd.DataFrame:
    """One row per run (batch_run repeats the model values on every agent row), KPIs by ``by``."""
    df = pd.DataFrame(rows).drop_duplicates("RunId")
    return df.set_index(by).sort_index()[SUMMARY].astype(float)


def test_the_issue_snippet_gives_the_summary_of_sim_run() -> None:
    rows = batch_run(
        MesaGovModel,
        parameters={
            "scenario": ["baseline", "reform"],
            "seed": range(2),
            "days": DAYS,
            "population__residents": RESIDENTS,
        },
        iterations=1,
        max_steps=DAYS,
        number_processes=1,
        display_progress=False,
    )
    assert {r["Step"] for r in rows} == {DAYS - 1}  # the last day, agent rows included
    assert {r["kind"] for r in rows} >= {"grid", "department"}
    got = _kpis(rows, ["scenario", "seed"])
    assert len(got) == 4
    for (scenario, seed), kpis in got.iterrows():
        ref = sim.run(scenario, seed=seed, days=DAYS, overrides={"population.residents": RESIDENTS}).summary
        pdt.assert_series_equal(kpis, ref.astype(float), check_names=False, check_exact=True)
    assert got.loc["reform", "tier_share_grid"].iloc[0] != got.loc["baseline", "tier_share_grid"].iloc[0]


def test_batch_run_on_two_processes_matches_govsim_batch(tmp_path: Path) -> None:
    design = tmp_path / "tiny.yaml"
    design.write_text(
        f"name: tiny\nscenarios: [baseline, reform]\ndays: {DAYS}\nreplications: 1\nseed: 5\n"
        f"overrides: {{population.residents: {RESIDENTS}}}\n"
        "parameters:\n  grid.patrollers_per_grid: {values: [1, 2]}\n"
    )
    run_batch(design, out=tmp_path / "store")
    store = sim.results.open(tmp_path / "store")
    ours = store.design.merge(store.summaries[["run_id", *SUMMARY]], on="run_id")
    ours = ours.rename(columns={"grid.patrollers_per_grid": "grid__patrollers_per_grid"})
    (seed,) = ours["seed"].unique()
    rows = batch_run(
        MesaGovModel,
        parameters={
            "scenario": ["baseline", "reform"],
            "seed": int(seed),
            "days": DAYS,
            "population__residents": RESIDENTS,
            "grid__patrollers_per_grid": [1, 2],
            "collect_agents": False,
        },
        max_steps=DAYS,
        number_processes=2,
        display_progress=False,
    )
    assert len(rows) == 4  # one row per run without agent reporters
    by = ["scenario", "grid__patrollers_per_grid"]
    expected = ours.set_index(by).sort_index()[SUMMARY].astype(float)
    pdt.assert_frame_equal(_kpis(rows, by), expected, check_exact=True)


@pytest.fixture(scope="module")
def stepped() -> MesaGovModel:
    """Reform on a small town, stepped by hand to its horizon; departments short of staff, so
    the centre's deadline watch buys overtime."""
    model = MesaGovModel("reform", seed=4, days=40, **STEPPED)
    while model.running:
        model.step()
    return model


def test_model_reporters_are_the_daily_table_then_the_summary(stepped: MesaGovModel) -> None:
    df = stepped.datacollector.get_model_vars_dataframe()
    assert len(df) == stepped.days == stepped.steps
    pdt.assert_frame_equal(df[list(DAILY_COLUMNS)], daily_table(stepped), check_exact=True)
    assert df[SUMMARY].iloc[:-1].isna().all().all()
    assert stepped.summary is not None
    ref = sim.run("reform", seed=4, days=40, overrides=parameter_overrides(STEPPED)).summary
    pdt.assert_series_equal(df[SUMMARY].iloc[-1].astype(float), ref, check_names=False, check_exact=True)
    pdt.assert_series_equal(stepped.summary, ref)


def test_unit_reports_add_up_to_the_daily_table(stepped: MesaGovModel) -> None:
    units = stepped.datacollector.get_agent_vars_dataframe()
    assert list(units.columns) == list(UNIT_COLUMNS)
    assert not set(UNIT_COLUMNS) & (set(DAILY_COLUMNS) | set(SUMMARY))  # batch_run merges the rows
    assert units.index.get_level_values("Step").unique().tolist() == list(range(stepped.days))
    assert len(units) == stepped.days * len(stepped.agents)
    daily = daily_table(stepped)
    measures = ["unit_backlog", "unit_handling_hours"]
    by_kind = units.groupby(["Step", "kind"])[measures].sum().unstack(fill_value=0)
    for k in ("grid", "department", "enforcement", "centre"):
        np.testing.assert_array_equal(by_kind["unit_backlog"][k], daily[f"backlog_{k}"])
    np.testing.assert_allclose(units.groupby("Step")["unit_patrol_hours"].sum(), daily["patrol_hours"])
    shift = stepped.params.calendar.grid
    working = (np.arange(stepped.days) % 7) < shift.days_per_week
    staff = stepped.units.staff[stepped.units.kind == KINDS.index("grid")].sum()
    np.testing.assert_allclose(
        by_kind["unit_handling_hours"]["grid"][working] / (staff * shift.hours_per_day),
        daily["utilisation_grid"][working],
    )
    assert daily["utilisation_grid"][working].gt(0).all()
    assert stepped.summary is not None
    overtime = units["unit_overtime_hours"].sum()
    assert overtime > 0
    assert overtime == pytest.approx(stepped.summary["overtime_hours"])


def test_unit_records_are_what_the_agent_reporters_say(stepped: MesaGovModel) -> None:
    dc = stepped.datacollector
    last = {rec[1]: rec[2:] for rec in dc._agent_records[stepped.days - 1]}
    for agent in stepped.agents:
        assert last[agent.unique_id] == tuple(rep(agent) for rep in dc.agent_reporters.values())


def test_running_stops_at_the_horizon_and_the_model_can_go(stepped: MesaGovModel) -> None:
    assert not stepped.running
    with pytest.raises(GovsimError, match="horizon is 40 days"):
        stepped.step()
    model = MesaGovModel("baseline", days=3, population__residents=5_000, collect_agents=False)
    model.run_model()
    assert model.steps == 3
    assert len(model.datacollector.get_model_vars_dataframe()) == 3
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_keywords_set_parameters_and_fail_like_set() -> None:
    assert sim.MesaGovModel is MesaGovModel
    model = MesaGovModel("reform", days=1, grid__separation=False, population__residents=5_000)
    assert model.params.grid.separation is False
    assert model.params.population.residents == 5_000
    assert load_scenario("reform").grid.separation is True
    wrong = (({"grid__bogus": 1}, "grid.bogus=1"), ({"grid__separation": "maybe"}, "grid.separation=maybe"))
    for keywords, text in wrong:
        with pytest.raises(ScenarioError) as mesa_way:
            MesaGovModel("reform", days=1, **keywords)
        with pytest.raises(ScenarioError) as set_way:
            load_scenario("reform", overrides=dict([parse_override(text)]))
        assert str(mesa_way.value) == str(set_way.value)
        assert "\n" not in str(mesa_way.value)


def test_a_plain_run_keeps_no_unit_accounts() -> None:
    model = GovModel(load_scenario("baseline", overrides={"population.residents": 5_000}), days=2)
    model.step()
    assert model.world.work.unit_busy is None
    assert not hasattr(model, "datacollector")
    model.release()
