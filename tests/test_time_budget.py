"""Grid workers' time budget (MODEL.md §3): assigned tasks first, then handling, then patrol;
separation protects patrol time, and reluctance to report grows with pending work."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.agents import GridTeam
from sim.core.model import GovModel
from tests.conftest import SMALL

TEAM = {"grid.patrollers_per_grid": 1, "grid.leaders_per_grid": 1}


def _plan(m: GovModel, day: int = 0) -> tuple[np.ndarray, np.ndarray]:
    GridTeam.plan_day(m._plans[GridTeam], m.world, day)
    return m.world.patrol_hours.copy(), m.world.report_probability.copy()


def _model(**over: object) -> GovModel:
    return GovModel(sim.load_scenario("baseline", overrides={**SMALL, **TEAM, **over}), seed=1, days=10)


def test_unseparated_patrol_falls_as_the_assigned_load_rises() -> None:
    hours = [_plan(_model(**{"assigned_tasks.hours_per_worker_per_day": a}))[0].mean() for a in (0, 1, 3)]
    assert hours == pytest.approx([16.0, 14.0, 10.0])  # two workers, 8-hour shift, nothing booked yet
    separated = [
        _plan(_model(**{"assigned_tasks.hours_per_worker_per_day": a, "grid.separation": True}))[0].mean()
        for a in (0, 3)
    ]
    assert separated == [8.0, 8.0]  # the patroller's time is protected


def test_with_separation_the_leaders_take_the_grid_s_tasks() -> None:
    m = _model(**{"assigned_tasks.hours_per_worker_per_day": 2, "grid.separation": True})
    assert m._plans[GridTeam].task_hours == 4.0  # two workers' tasks on one leader
    cal = m.units.calendars[m.units.calendar[0]]
    np.testing.assert_allclose(cal[:2], [(8.5 + 4) / 24, (8.5 + 8) / 24])  # handles after the tasks
    with pytest.raises(sim.ScenarioError, match="no time to handle"):
        sim.load_scenario(
            "baseline", overrides={"assigned_tasks.hours_per_worker_per_day": 4, "grid.separation": True}
        )


def test_reluctance_grows_with_pending_work() -> None:
    m = _model(**{"assigned_tasks.hours_per_worker_per_day": 2, "grid.report_reluctance": 1.5})
    servers = m._plans[GridTeam].servers
    m.units.free_at[servers[0, 0]] = (8.5 + 2 + 3) / 24  # one worker has 3 hours booked today
    _, report = _plan(m)
    team0 = m.units.grid_unit == 0
    pending = 2 + 3 / 2  # tasks, plus the team's booked hours per worker
    assert report[team0] == pytest.approx(np.exp(-1.5 * pending / 8))
    np.testing.assert_allclose(report[~team0], np.exp(-1.5 * 2 / 8))
    sep = _model(**{"grid.separation": True, "grid.report_reluctance": 1.5})
    assert (_plan(sep)[1] == 1).all()  # separated patrollers report everything


def _discovery(separation: bool, tasks: float, reluctance: float) -> pd.Series:
    over = {
        **SMALL,
        "grid.separation": separation,
        "grid.tasks_to": "village",  # with separation the tasks leave the grid (without, the pool does them)
        "assigned_tasks.hours_per_worker_per_day": tasks,
        "grid.report_reluctance": reluctance,
    }
    return sim.run("baseline", seed=5, days=150, overrides=over).summary


def test_without_tasks_or_reluctance_separation_gives_no_discovery_advantage() -> None:
    apart, together = _discovery(True, 0, 0), _discovery(False, 0, 0)
    # the pooled team patrols with both workers' free hours: separation only costs handling capacity
    assert apart["delay_discovery_mean_days"] >= together["delay_discovery_mean_days"]


def test_separation_s_effect_grows_with_the_assigned_load() -> None:
    effect = {}
    for tasks in (0.0, 3.0):
        apart, together = _discovery(True, tasks, 1.0), _discovery(False, tasks, 1.0)
        effect[tasks] = (
            together["delay_discovery_mean_days"] - apart["delay_discovery_mean_days"],
            apart["tier_share_grid"] - together["tier_share_grid"],
        )
    assert effect[3.0][0] > effect[0.0][0] and effect[3.0][1] > effect[0.0][1]
