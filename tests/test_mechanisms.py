"""Mechanisms on tiny hand-built worlds, and the order of a day."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.agents import DEPT_KIND, ENF_KIND, GRID_KIND, Department, GridTeam
from sim.ledger import LATENT
from sim.mechanisms.dispatch import unique_rows
from sim.model import DAY_ORDER, GovModel
from tests.conftest import SMALL


def _model(scenario: str = "baseline", days: int = 30, **over: object) -> GovModel:
    return GovModel(sim.load_scenario(scenario, overrides={**SMALL, **over}), seed=1, days=days)


def test_day_order_is_pinned_and_followed() -> None:
    assert DAY_ORDER == ("occurrence", "discovery", "case_flow", "closure", "service_requests", "record")
    m = _model()
    seen: list[str] = []
    for name in DAY_ORDER:
        act = m._acts[name]
        m._acts[name] = lambda day, _n=name, _a=act: (seen.append(_n), _a(day))[1]
    m.step()
    m.step()
    assert seen == list(DAY_ORDER) * 2


def test_unique_rows() -> None:
    route = np.array([[3, 3, 5, -1], [4, -1, -1, -1], [7, 8, 7, 9]])
    out, n = unique_rows(route)
    np.testing.assert_array_equal(out, [[3, 5, -1, -1], [4, -1, -1, -1], [7, 8, 9, -1]])
    np.testing.assert_array_equal(n, [2, 1, 3])


def test_units_conserve_staff_and_hold_authority() -> None:
    for name in ("baseline", "reform"):
        m = _model(name)
        p, U = m.params, m.units
        n_dept = U.staff[U.kind == DEPT_KIND].sum()
        assert n_dept == round(p.departments.staff_per_10k * p.population.residents / 1e4)
        assert U.staff[U.kind == ENF_KIND].sum() == round(
            p.enforcement.staff_per_10k * p.population.residents / 1e4
        )
        for di, d in enumerate(p.domains):
            for g in (0, m.places.n_grids - 1):
                unit = m.units.units[U.route[1, di, g]]
                assert isinstance(unit, Department) and unit.can_handle(1, (d,))
                assert isinstance(m.units.units[U.route[0, di, g]], GridTeam)
    base, reform = _model("baseline"), _model("reform")
    assert (base.units.kind == DEPT_KIND).sum() == 6 and (reform.units.kind == DEPT_KIND).sum() == 3


def test_grid_handlers_follow_separation() -> None:
    together = _model(**{"grid.patrollers_per_grid": 2, "grid.leaders_per_grid": 1})
    apart = _model(**{"grid.patrollers_per_grid": 2, "grid.leaders_per_grid": 1, "grid.separation": True})
    assert (together.units.staff[together.units.kind == GRID_KIND] == 3).all()
    assert (apart.units.staff[apart.units.kind == GRID_KIND] == 1).all()
    # separated patrollers patrol their whole shift on a working day
    assert apart.discovery.patrol_hours(0) == pytest.approx(np.full(apart.places.n_grids, 16.0))
    # unseparated workers patrol with the hours their handling queue leaves them
    gs = together.discovery.grid_servers
    together.units.free_at[gs[0, 0]] = 0 + (8.5 + 3) / 24  # 3 hours booked on day 0
    assert together.discovery.patrol_hours(0)[0] == pytest.approx(24 - 3)
    assert together.discovery.patrol_hours(6)[0] == 0  # the grid's day off


def test_undiscovered_issues_stay_latent_without_patrol_or_reports() -> None:
    m = _model(
        days=5,
        **{
            "grid.patrollers_per_grid": 0,
            "grid.leaders_per_grid": 1,
            "grid.separation": True,
            "departments.inspection_rate": 0.0,
            "residents.willingness_mean": 0.01,
            "residents.willingness_concentration": 2.0,
        },
    )
    for _ in range(5):
        m.step()
    L = m.ledger
    share_latent = (L.stage[: L.n] == LATENT).mean()
    assert share_latent > 0.9


def test_multi_domain_enforcement_is_never_on_site_with_line_teams() -> None:
    res = sim.run("baseline", seed=2, days=150, overrides=SMALL)
    c = res.cases
    enf = c[(c["tier"] == "enforcement")]
    construction = enf[enf["category"] == "illegal_construction"]
    assert len(construction) > 0 and (construction["on_site"] == 0).all()
    single = enf[enf["category"] == "street_vending"]
    assert single["on_site"].notna().all()
