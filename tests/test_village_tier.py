"""The village tier (001's four levels) and the service lists that decide which tier
settles an issue: the tiers respond to what the grid and the village may settle, the
structural shares (what issues needed) sit beside the resolved shares, and units are
staffed by the workload they can expect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.catalogue import settling_tiers
from sim.core.kinds import LEVELS, Tier
from sim.core.units import found_level_mix
from sim.errors import ScenarioError
from tests.conftest import REFERENCE

SMALL = {"population.residents": 20_000}
CATS = ("neighbour_dispute", "sanitation", "facility_repair", "street_vending")


def _result(scenario: str = "reform", days: int = 240, **overrides: object) -> sim.RunResult:
    return sim.run(scenario, seed=3, days=days, context=REFERENCE, overrides={**SMALL, **overrides})


def _run(scenario: str = "reform", days: int = 240, **overrides: object) -> dict[str, float]:
    return _result(scenario, days, **overrides).summary.to_dict()


def test_the_service_lists_decide_the_settling_tier() -> None:
    lists = {"grid.settles": ["sanitation"], "village.settles": ["sanitation", "neighbour_dispute"]}
    p = sim.load_scenario("reform", overrides=lists)
    settle = settling_tiers(p)
    names = list(p.category_names)
    san, nd, fr = (names.index(c) for c in ("sanitation", "neighbour_dispute", "facility_repair"))
    assert settle[san].tolist() == [Tier.GRID, Tier.VILLAGE, Tier.DEPARTMENT, Tier.ENFORCEMENT]
    assert settle[nd].tolist() == [Tier.VILLAGE, Tier.VILLAGE, Tier.DEPARTMENT, Tier.ENFORCEMENT]
    assert settle[fr].tolist() == [Tier.DEPARTMENT, Tier.DEPARTMENT, Tier.DEPARTMENT, Tier.ENFORCEMENT]
    with pytest.raises(ScenarioError, match="grid.settles"):
        sim.load_scenario("reform", overrides={"grid.settles": ["no_such_category"]})


def test_village_staff_settle_the_villages_issues() -> None:
    s = _run()
    assert s["tier_share_village"] > 0.05
    assert s["plan_share_grid"] == pytest.approx(s["tier_share_grid"] + s["tier_share_village"])
    assert sum(s[f"structural_share_{k}"] for k in LEVELS) == pytest.approx(1.0)


def test_narrower_service_lists_move_issues_up_the_tiers() -> None:
    full_run, no_grid_run = _result(), _result(**{"grid.settles": []})
    full, no_grid = full_run.summary, no_grid_run.summary
    nothing_below = _run(**{"grid.settles": [], "village.settles": []})
    assert no_grid["tier_share_grid"] == 0.0
    assert no_grid["tier_share_village"] > full["tier_share_village"] + 0.3
    assert nothing_below["tier_share_grid"] == nothing_below["tier_share_village"] == 0.0
    assert nothing_below["tier_share_department"] > full["tier_share_department"] + 0.3
    # what the issues needed does not depend on who may settle them (same seed, same issues)
    assert full_run.cases["need"].equals(no_grid_run.cases["need"])


def test_reluctance_bites_only_on_what_the_workers_own_team_would_settle() -> None:
    """With nothing on the grid's list, an unseparated worker has nothing of his own to
    fix, so his reluctance cannot change a thing."""
    kw = {"grid.settles": [], "assigned_tasks.hours_per_worker_per_day": 2.0}
    calm = _run("baseline", days=120, **kw, **{"grid.report_reluctance": 0.0})
    shy = _run("baseline", days=120, **kw, **{"grid.report_reluctance": 8.0})
    assert pd.Series(calm).equals(pd.Series(shy))
    own = {"grid.settles": list(CATS)}
    calm = _run("baseline", days=120, **own, **{"grid.report_reluctance": 0.0})
    shy = _run("baseline", days=120, **own, **{"grid.report_reluctance": 8.0})
    assert shy["patrol_reported_share"] < calm["patrol_reported_share"] - 0.02


def test_the_level_mix_at_discovery() -> None:
    cat = sim.load_scenario("reform").categories["illegal_construction"]
    mix = found_level_mix(cat)
    assert mix.sum() == pytest.approx(1.0) and (mix >= 0).all()
    assert np.allclose(found_level_mix(cat, growth=False), cat.initial_level)
    fast = found_level_mix(cat.model_copy(update={"growth_days": cat.growth_days / 10}))
    assert fast[Tier.ENFORCEMENT] > mix[Tier.ENFORCEMENT] > cat.initial_level[Tier.ENFORCEMENT]


@pytest.mark.parametrize("scenario", ["baseline", "suzhou_1_4_n"])
def test_staff_follow_the_expected_workload(scenario: str) -> None:
    """No department idles while another is saturated: staff are split by the workload
    each can expect (the level mix at discovery under the service lists)."""
    from sim.core.agents import KINDS
    from sim.core.model import GovModel

    p = sim.load_scenario(scenario, context=REFERENCE, overrides={"population.residents": 60_000})
    m = GovModel(p, seed=1, days=240)
    m.world.work.track_units()
    for _ in range(240):
        m.step()
    U, busy = m.units, m.world.work.unit_busy
    assert busy is not None
    dep = np.flatnonzero(U.kind == KINDS.index("department"))
    shift = p.calendar.office.hours_per_day * p.calendar.office.days_per_week / 7
    util = busy[dep, 60:].sum(axis=1) / (U.staff[dep] * shift * 180)
    assert util.max() < 2 * util.min() and util.min() > 0.3, util.round(2)
