"""Mechanisms on tiny hand-built worlds, and the order of a day."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.core.agents import Department, GridTeam
from sim.core.kinds import Kind, Tier
from sim.core.ledger import Stage
from sim.core.mechanisms import REGISTRY
from sim.core.model import DAY_ORDER, GovModel
from tests.conftest import REFERENCE, SMALL


def _model(scenario: str = "baseline", days: int = 30, **over: object) -> GovModel:
    return GovModel(sim.load_scenario(scenario, overrides={**SMALL, **over}), seed=1, days=days)


def test_day_order_is_pinned_and_followed() -> None:
    assert [a.name for a in DAY_ORDER] == [
        "workforce",
        "occurrence",
        "discovery",
        "meetings",
        "case_flow",
        "closure",
        "assessment",
        "service_requests",
        "record",
    ]
    assert {a.owner for a in DAY_ORDER} <= {"model", *REGISTRY}
    m = _model()
    seen: list[str] = []
    m._day = [
        lambda day, _n=a.name, _f=f: (seen.append(_n), _f(day))[1]
        for a, f in zip(DAY_ORDER, m._day, strict=True)
    ]
    m.step()
    m.step()
    assert seen == [a.name for a in DAY_ORDER] * 2


def test_the_case_flow_books_every_unit_first_come_first_served() -> None:
    """The flow handles events in time order across units, so each unit's jobs are booked
    in arrival order and start in that order (no job is overtaken by a later arrival)."""
    m = _model(days=60)
    m.mechanisms["flow"].bookings = booked = []
    for _ in range(60):
        m.step()
    unit, arrival, start = (np.concatenate([b[k] for b in booked]) for k in range(3))
    assert unit.size > 1000
    order = np.lexsort((np.arange(unit.size), unit))  # by unit, booking order kept
    u, a, s = unit[order], arrival[order], start[order]
    same = u[1:] == u[:-1]
    assert (a[1:][same] >= a[:-1][same]).all()
    assert (s[1:][same] >= s[:-1][same] - 1e-12).all()
    assert (s >= a - 1e-12).all()


def test_the_case_flow_logs_the_events_someone_listens_to() -> None:
    """The flow logs an event only when its hook has subscribers: in the baseline only
    ``dropped`` (the residents); a subscriber added to ``resolved`` then hears every
    resolution, once, at its time."""
    m = _model(days=30)
    assert m.mechanisms["flow"].state().s.logged == (False, False, False, True, False)
    heard: list[tuple[np.ndarray, np.ndarray]] = []
    m.world.hooks.subscribe("resolved", lambda ids, t: heard.append((ids.copy(), t.copy())))
    assert m.mechanisms["flow"].state().s.logged == (False, False, True, True, False)
    for _ in range(30):
        m.step()
    ids, t = (np.concatenate([h[k] for h in heard]) for k in range(2))
    L = m.ledger
    resolved = np.flatnonzero(~np.isnan(L.resolved[: L.n]))
    assert resolved.size > 100 and np.array_equal(np.sort(ids), resolved)  # no case reopens here
    assert np.array_equal(t, L.resolved[ids])


def test_the_case_flows_state_is_built_again_only_over_other_arrays() -> None:
    """The flow keeps its state tuple from day to day, and builds it again when an array
    in it is replaced: the ratings renewed (assessment), the ledger grown."""
    m = _model(days=30)
    flow, w = m.mechanisms["flow"], m.world
    first = flow.state()
    assert flow.state() is first
    w.unit_response = w.unit_response.copy()
    renewed = flow.state()
    assert renewed is not first and renewed.units.unit_response is w.unit_response
    m.ledger._grow(2 * m.ledger._cap)
    grown = flow.state()
    assert grown is not renewed and grown.cases.stage is m.ledger.stage
    assert flow.state() is grown


def test_mechanisms_see_the_world_not_the_model() -> None:
    m = _model(days=2)
    for name, mech in m.mechanisms.items():
        assert isinstance(mech, REGISTRY[name])
        assert not any(isinstance(v, GovModel) for v in vars(mech).values()), name


def test_units_conserve_staff_and_hold_authority() -> None:
    for name in ("baseline", "reform"):
        m = _model(name)
        p, U = m.params, m.units
        n_dept = U.staff[U.kind == Kind.DEPARTMENT].sum()
        assert n_dept == round(p.departments.staff_per_10k * p.population.residents / 1e4)
        assert U.staff[U.kind == Kind.ENFORCEMENT].sum() == round(
            p.enforcement.staff_per_10k * p.population.residents / 1e4
        )
        for di, d in enumerate(p.domains):
            for g in (0, m.places.n_grids - 1):
                unit = m.units.units[U.route[Tier.DEPARTMENT, di, g]]
                assert isinstance(unit, Department) and unit.can_handle(Tier.DEPARTMENT, (d,))
                assert isinstance(m.units.units[U.route[0, di, g]], GridTeam)
    base, reform = _model("baseline"), _model("reform")
    assert (base.units.kind == Kind.DEPARTMENT).sum() == 6
    assert (reform.units.kind == Kind.DEPARTMENT).sum() == 3


def test_grid_handlers_follow_separation() -> None:
    team = {
        "grid.patrollers_per_grid": 2,
        "grid.leaders_per_grid": 1,
        "assigned_tasks.hours_per_worker_per_day": 0,
    }
    together = _model(**team)
    apart = _model(**team, **{"grid.separation": True})
    assert (together.units.staff[together.units.kind == Kind.GRID] == 3).all()
    assert (apart.units.staff[apart.units.kind == Kind.GRID] == 1).all()

    def patrol(m: GovModel, day: int) -> np.ndarray:  # the grid teams' decision, as the model calls it
        GridTeam.plan_day(m._plans[GridTeam], m.world, day)
        return m.world.patrol_hours

    # separated patrollers patrol their whole shift on a working day
    assert patrol(apart, 0) == pytest.approx(np.full(apart.places.n_grids, 16.0))
    # unseparated workers patrol with the hours their handling queue leaves them
    gs = together._plans[GridTeam].servers
    together.units.free_at[gs[0, 0]] = 0 + (8.5 + 3) / 24  # 3 hours booked on day 0
    assert patrol(together, 0)[0] == pytest.approx(24 - 3)
    assert patrol(together, 6)[0] == 0  # the grid's day off


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
    share_latent = (L.stage[: L.n] == Stage.LATENT).mean()
    assert share_latent > 0.9


@pytest.mark.parametrize("scenario", ["baseline", "reform"])
def test_discoverys_list_of_latent_issues_is_the_ledgers(scenario: str) -> None:
    """Discovery keeps its own list of the issues still latent (yesterday's left, plus
    those that occurred since) instead of scanning the ledger's open cases: at the end of
    every day it is exactly the ledger's latent cases, in id order, and the columns it
    keeps of them are the ledger's (``ignored`` included, which it sets in both)."""
    from sim.core.mechanisms.discovery import LATENT_COLUMNS

    m = GovModel(sim.load_scenario(scenario, overrides=SMALL), seed=4, days=60)
    disc = m.mechanisms["discovery"]
    for _ in range(60):
        m.step()
        assert np.array_equal(disc.latent, m.ledger.undiscovered())
        for name, kept in zip(LATENT_COLUMNS, disc.kept[1:], strict=True):
            assert np.array_equal(kept, m.ledger.cols[name][disc.latent]), name
    assert 0 < disc.latent.size < m.ledger.n
    assert disc.kept.ignored.any() == (scenario == "baseline")  # the unseparated pass over some


def test_multi_domain_enforcement_is_never_on_site_with_line_teams() -> None:
    res = sim.run("baseline", seed=2, days=150, overrides=SMALL)
    c = res.cases
    enf = c[(c["tier"] == "enforcement")]
    construction = enf[enf["category"] == "illegal_construction"]
    assert len(construction) > 0 and (construction["on_site"] == 0).all()
    single = enf[enf["category"] == "street_vending"]
    assert single["on_site"].notna().all()


def test_clusters_pool_grid_handlers() -> None:
    over = {**SMALL, "clusters.villages_per_cluster": 2, "grid.separation": True, "grid.leaders_per_grid": 1}
    m = GovModel(sim.load_scenario("baseline", context=REFERENCE, overrides=over), seed=1, days=30)
    U, places = m.units, m.places
    teams = U.of_kind(Kind.GRID)
    assert len(teams) < places.n_grids
    counts = np.bincount(U.grid_unit, minlength=len(teams))
    assert (U.staff[teams] == counts).all()  # one leader per grid, pooled
    # a team never spans two towns or more than two villages
    for k in range(len(teams)):
        grids = np.flatnonzero(U.grid_unit == k)
        assert len(set(places.town_of_grid[grids])) == 1 and len(set(places.village_of_grid[grids])) <= 2
        assert (U.route[0, 0, grids] == k).all()
    res = sim.run(m.params, seed=1, days=40)
    assert res.summary["tier_share_grid"] > 0.45 and res.summary["cases_closed"] > 0  # 0.50-0.52 by seed


def test_duty_list_removes_misrouting() -> None:
    a = sim.run("baseline", seed=3, days=60, overrides=SMALL).summary
    b = sim.run(
        "baseline", seed=3, days=60, overrides={**SMALL, "departments.duty_list_coverage": 1.0}
    ).summary
    assert a["bounces_per_case"] > 0.02 and b["bounces_per_case"] == 0


def test_town_domains_and_staff_moved_down() -> None:
    over = {"departments.town_domains": ["urban_management"], "departments.moved_down_per_town": 5}
    m = _model(**over)
    depts = [u for u in m.units.units if isinstance(u, Department)]
    town = [u for u in depts if u.town >= 0]
    assert [u.domains for u in town] == [("urban_management",)]
    plain = _model(**{"departments.town_domains": ["urban_management"]})
    plain_depts = [u for u in plain.units.units if isinstance(u, Department)]
    assert sum(u.staff for u in depts) == sum(u.staff for u in plain_depts)  # moved, not added
    assert town[0].staff == [u for u in plain_depts if u.town >= 0][0].staff + 5
    di = m.params.domains.index("urban_management")
    assert m.units.units[m.units.route[Tier.DEPARTMENT, di, 0]] is town[0]
    with pytest.raises(sim.ScenarioError, match="whole department groups"):
        sim.load_scenario(
            "reform", overrides={"departments.location": "county", "departments.town_domains": ["land"]}
        )


def test_sub_centres_serve_their_towns() -> None:
    p = sim.load_scenario(
        "reform", context="wujiang", overrides={"population.residents": 80_000, "dispatch.sub_centres": True}
    )
    m = GovModel(p, seed=0, days=5)
    centres = m.units.centre
    assert len(set(centres.tolist())) == 8 and all(m.units.units[c].town == t for t, c in enumerate(centres))
    for _ in range(5):
        m.step()
    m.release()


def test_approvals_move_satisfaction_by_the_days_they_take() -> None:
    """No issues at all, only service requests: each resident who got one approval moves
    from the initial satisfaction toward 0.5^(days/D) at the learning rate."""
    base = sim.load_scenario("baseline")
    quiet = {f"categories.{c}.rate_per_1000_per_day": 0.0 for c in base.categories}
    m = _model(days=60, **quiet, **{"service_requests.rate_per_1000_per_day": 1.0})
    for _ in range(60):
        m.step()
    c, n, r = m.mechanisms["one_window"].cols, m.mechanisms["one_window"].n, base.residents
    done = np.flatnonzero(c["completed"][:n] < 60)  # in hand by the end of the last step
    who = c["resident"][done].astype(np.int64)
    once = np.isin(who, np.flatnonzero(np.bincount(who) == 1))
    assert m.ledger.n == 0 and once.sum() > 200
    days = (c["completed"] - c["submitted"])[done][once]
    want = r.satisfaction_initial + r.learning_rate * (
        0.5 ** (days / r.reference_delay_days) - r.satisfaction_initial
    )
    np.testing.assert_allclose(m.mechanisms["population"].satisfaction[who[once]], want, rtol=1e-5)
    untouched = np.ones(m.mechanisms["population"].satisfaction.size, dtype=bool)
    untouched[who] = False  # residents without an approval in hand (or one still pending) keep theirs
    assert (m.mechanisms["population"].satisfaction[untouched] == np.float32(r.satisfaction_initial)).all()
    m.release()


def test_residents_learn_as_numpy_fancy_assignment_does() -> None:
    """The compiled update of satisfaction (float32) equals numpy's
    ``s[r] = s[r] + rate * (outcome - s[r])``, a resident listed twice keeping the last."""
    from sim.core.mechanisms.population import _toward

    rng = np.random.default_rng(0)
    for _ in range(50):
        sat = rng.random(40).astype(np.float32)
        residents = rng.integers(0, 40, rng.integers(0, 60)).astype(np.int32)
        outcome = rng.random(residents.size)
        expected = sat.copy()
        s = expected[residents]
        expected[residents] = s + 0.137 * (outcome - s)
        _toward(sat, residents, outcome, 0.137)
        assert np.array_equal(sat, expected)


def test_self_reports_are_the_numpy_expression() -> None:
    """Occurrence's compiled pass gives, value for value, what the array expression it
    replaces gives: the resident's own report time, his willingness in float32, capped at 1."""
    from sim.core.mechanisms.population import _self_reports

    rng = np.random.default_rng(5)
    n, m = 300, 2000
    will, sat = rng.random(n).astype(np.float32) * 1.5, rng.random(n).astype(np.float32)
    res = rng.integers(0, n, m)
    u, report, at = rng.random(m), rng.random(m), rng.random(m) * 9
    w = np.minimum(will[res] * (0.5 + sat[res]), 1.0)
    assert w.dtype == np.float32 and (w == 1.0).any()  # the cap is reached
    u[::2] = (report * w)[::2]  # draws on the edge: willingness in float64 would differ there
    expected = np.where(u < report * w, at, np.inf)
    assert np.array_equal(_self_reports(res, will, sat, u, report, at), expected)


def _issues_as_numpy_draws_them(pop, first: int):  # type: ignore[no-untyped-def]
    """A block of issues by the whole-array NumPy expressions the compiled pass replaced."""
    from sim.core.mechanisms.population import Issues

    w, cat, rng = pop.world, pop.world.catalogue, pop.rng
    _, order, c, t = pop._occurrences(first)
    n = order.size
    resident = rng.integers(0, w.params.population.residents, n)[order]
    u_level, u_self, u_chan = rng.random((3, n))[:, order]
    e_grow, e_self = rng.exponential(1.0, (3, n))[:, order], rng.exponential(1.0, n)[order]
    step = cat.growth_days[c]
    level0 = np.minimum((u_level[:, None] >= cat.initial_cum[c]).sum(axis=1), 3).astype(np.int8)
    chan = np.searchsorted(pop.channel_cum, u_chan * pop.channel_cum[-1], side="right")
    grow1 = t + step * e_grow[0]
    grow2 = grow1 + step * e_grow[1]
    return Issues(
        c, t, resident, w.places.grid_of(resident), level0, grow1, grow2, grow2 + step * e_grow[2],
        pop.channel_codes[chan.clip(0, len(pop.channel_codes) - 1)], cat.self_report[c], u_self,
        t + cat.self_delay[c] * e_self,
    )  # fmt: skip


@pytest.mark.parametrize("scenario", ["baseline", "suzhou_1_4_n"])
def test_a_block_of_issues_is_what_numpy_draws(scenario: str) -> None:
    """The compiled pass over a block's issues (``population._issues``) gives, value for
    value and type for type, what NumPy's whole-array draws and expressions give, and
    leaves the occurrence stream where they leave it."""
    pop = GovModel(sim.load_scenario(scenario, overrides=SMALL), seed=6, days=60).mechanisms["population"]
    for first in (0, 30):
        start = pop.rng.bit_generator.state
        got, _ = pop._draw(first)
        after = pop.rng.bit_generator.state
        pop.rng.bit_generator.state = start
        want = _issues_as_numpy_draws_them(pop, first)
        assert pop.rng.bit_generator.state == after
        assert got.category.size > 100
        for name in got._fields:
            a, b = getattr(got, name), getattr(want, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name


def test_a_delay_of_some_cases_is_numpys_difference() -> None:
    """The KPIs' compiled difference of two time columns over a mask is numpy's, NaN too."""
    from sim.core.metrics_compiled import masked_difference

    rng = np.random.default_rng(2)
    a, b = rng.random(500), rng.random(500) + 1.0
    b[rng.random(500) < 0.2] = np.nan
    among = rng.random(500) < 0.6
    assert np.array_equal(masked_difference(a, b, among), b[among] - a[among], equal_nan=True)
    assert masked_difference(a, b, np.zeros(500, dtype=bool)).size == 0


@pytest.mark.parametrize(("scenario", "lead"), [("baseline", False), ("reform", False), ("reform", True)])
def test_requests_enter_as_drawn_and_not_on_the_offices_days_off(scenario: str, lead: bool) -> None:
    """A day's requests join the table with their block's draws (time, steps, town,
    resident, desk order) and the entry values of their kind (one trip, at the window or
    the first desk, or with a lead department a "one thing" behind the counter in
    parallel, in fewer steps); on the offices' days off none join."""
    from sim.core.mechanisms.one_window import AT_DESK, AT_WINDOW, BACK, DONE

    rates = {
        "service_requests.rate_per_1000_per_day": 2.0,
        "service_requests.one_thing.rate_per_1000_per_day": 2.0,
    }
    m = _model(scenario, days=14, **{"departments.lead_department": lead, **rates})
    ow, p = m.mechanisms["one_window"], m.world.params
    ot, first = p.service_requests.one_thing, AT_WINDOW if p.one_window.enabled else AT_DESK
    drawn, draw = {}, ow._draw

    def record(kind: str, first_day: int) -> object:
        out = draw(kind, first_day)
        drawn[kind] = out[0]
        return out

    ow._draw = record
    entered = dict.fromkeys(("ordinary", "one_thing"), 0)
    for day in range(14):
        for kind in ("ordinary", "one_thing"):
            n0 = ow.n
            ow._enter(kind, day)
            block = ow._blocks[kind]
            lo, hi = block.bounds[day - block.first], block.bounds[day - block.first + 1]
            if day % 7 >= p.calendar.office.days_per_week:
                assert ow.n == n0
                continue
            a, rows = drawn[kind], slice(n0, ow.n)
            assert ow.n - n0 == hi - lo
            entered[kind] += ow.n - n0
            c = ow.cols
            np.testing.assert_array_equal(c["submitted"][rows], a.t[lo:hi])
            np.testing.assert_array_equal(c["next_t"][rows], a.t[lo:hi])
            np.testing.assert_array_equal(c["town"][rows], a.town[lo:hi])
            np.testing.assert_array_equal(c["resident"][rows], a.resident[lo:hi])
            np.testing.assert_array_equal(ow.domains[rows], ow._cycle(a.perm[lo:hi]))
            assert (c["trips"][rows] == 1).all() and (c["pos"][rows] == 0).all()
            assert np.isnan(c["completed"][rows]).all() and (c["stage"][rows] != DONE).all()
            if kind == "ordinary":
                np.testing.assert_array_equal(c["steps"][rows], a.steps[lo:hi])
                assert (c["kind"][rows] == 0).all() and (c["stage"][rows] == first).all()
            else:
                assert (c["kind"][rows] == 1).all()
                assert (c["steps"][rows] == (ot.steps_with_lead if lead else ot.steps)).all()
                assert (c["stage"][rows] == (BACK if lead else first)).all()
                assert (c["par"][rows] == (1.0 if lead else float(p.one_window.parallel))).all()
    assert min(entered.values()) > 50
    m.release()
