"""Planning the units of a scenario, building them as agents, and the arrays the
mechanisms route with.

:func:`plan_units` lays the units out as plain specifications (no model needed, so
staffing and cost can be counted from parameters alone, :mod:`sim.core.staffing`);
:func:`build_units` makes them agents of a model and derives the routing arrays.
Staff of departments and enforcement are set per 10,000 residents for all units of a
kind together, then split across units in proportion to each unit's *potential
workload* (see :func:`_domain_load`) in the domains it holds and the residents it
serves, with at least one each. So a scenario that merges departments has the same
staff as one that does not: differences are structure, not headcount.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np

from sim.core.agents import (
    KIND_CALENDAR,
    ApprovalDesk,
    CommandCentre,
    Department,
    EnforcementSquad,
    GridPolice,
    GridTeam,
    Unit,
    VillageStaff,
    WindowCounter,
    handling_shift,
)
from sim.core.catalogue import settling_tiers
from sim.core.kinds import LEVELS, Layer, Tier
from sim.core.params import Category, Params
from sim.core.places import Places
from sim.core.powers import county_share, held_count
from sim.core.queues import overtime_array, server_heap, shift_array

CALENDARS: tuple[str, ...] = tuple(dict.fromkeys(KIND_CALENDAR))
"""The working calendars units use, in first-use order (rows of ``UnitTable.calendars``)."""


@dataclass(frozen=True)
class UnitSpec:
    """A unit before it is an agent: its class, constructor arguments and staff."""

    cls: type[Unit]
    args: tuple[Any, ...]
    staff: int

    def build(self, model: mesa.Model) -> Unit:
        """The unit as an agent of ``model``."""
        return self.cls(model, *self.args)


@dataclass
class UnitTable:
    """Units as arrays, plus routing look-ups.

    ``route[tier, domain, grid]`` is the unit of ``tier`` that holds authority over
    ``domain`` for grid ``grid`` (-1 if none); ``desk[domain, town]`` the approval desk;
    ``window[town]`` the one-window counter (-1 if none); ``centre[town]`` the command
    centre or sub-centre serving a town (-1 if none); ``grid_unit[grid]`` the grid team
    that handles a grid's cases (its own, or its cluster's); ``police[grid]`` the grid's
    police officers (-1 if none).
    """

    units: list[Unit]
    kind: np.ndarray
    layer: np.ndarray
    town: np.ndarray
    staff: np.ndarray
    first: np.ndarray
    calendar: np.ndarray
    calendars: np.ndarray
    overtime_calendars: np.ndarray
    free_at: np.ndarray
    heap: np.ndarray
    overtime_free_at: np.ndarray
    overtime_heap: np.ndarray
    route: np.ndarray
    desk: np.ndarray
    window: np.ndarray
    centre: np.ndarray
    grid_unit: np.ndarray
    police: np.ndarray

    def of_kind(self, kind: int) -> np.ndarray:
        """Indices of the units of one kind."""
        return np.flatnonzero(self.kind == kind)


def found_level_mix(cat: Category, growth: bool = True, wait: float = 0.0) -> np.ndarray:
    """Expected shares of an issue's level when a unit takes it up (four levels).

    An issue starts at its ``initial_level`` and, until found, climbs a level at rate
    ``1 / growth_days`` while it is found at rate ``detectability`` (one full-time
    patroller) plus ``self_report_probability / self_report_delay_days``; so each further
    step happens before discovery with probability ``q = g / (g + d)``, up to
    ``max_level``. Found, it may climb once more while it travels to its unit for
    ``wait`` days (probability ``1 - exp(-wait × g)``). The units' staff are split by this
    potential workload, not by outcomes of a run.
    """
    top = LEVELS.index(cat.max_level)
    grow = 1.0 / cat.growth_days if growth else 0.0
    find = cat.detectability + cat.self_report_probability / max(cat.self_report_delay_days, 1e-9)
    q = grow / (grow + find) if grow + find > 0 else 0.0
    mix = np.zeros(len(LEVELS))
    for i, p in enumerate(cat.initial_level[: top + 1]):
        for j in range(i, top + 1):
            mix[j] += p * q ** (j - i) * (1.0 - q if j < top else 1.0)
    on_way = -np.expm1(-wait * grow)
    moved = mix[:top] * on_way
    mix[:top] -= moved
    mix[1 : top + 1] += moved
    return mix


def _hand_off_days(params: Params) -> float:
    """Days a found case travels up the hierarchy to a county unit (none with a centre)."""
    return 0.0 if params.dispatch.command_centre else params.dispatch.handoff_days * Layer.COUNTY


def _follow_up_share(params: Params, cat: Category) -> float:
    """Expected share of a category's enforcement cases that need a follow-up visit: all
    but those settled on site, which needs one squad holding every power the case needs
    and a fresh case (:mod:`sim.core.mechanisms.enforcement`); the case is taken to be as
    old as its hand-offs from the grid to the county (none with a command centre)."""
    e = params.enforcement
    devolved = e.mode == "comprehensive" and set(cat.domains) <= set(e.devolved_domains)
    one_squad = len(cat.domains) == 1 or devolved
    fresh = np.exp(-_hand_off_days(params) / cat.freshness_days)
    return 1.0 - (cat.on_site_probability * fresh if one_squad else 0.0)


def _domain_load(params: Params, tier: int) -> dict[str, float]:
    """Expected hours a day per 1,000 residents that ``tier`` settles in each domain: the
    level mix at discovery (:func:`found_level_mix`) of the levels the tier settles under
    the service lists, times the tier's service hours plus travel, and for enforcement the
    expected follow-up visit at the squad that finishes the case: the route's last, or
    with a lead department (jobs in parallel) its first, the lead."""
    load = dict.fromkeys(params.domains, 0.0)
    travel = 2 * params.population.county_travel_hours
    settle = settling_tiers(params)
    follow = params.enforcement.follow_up_hours + travel
    for i, cat in enumerate(params.categories.values()):
        mix = found_level_mix(cat, params.growth, _hand_off_days(params))
        rate = cat.rate_per_1000_per_day * float(mix[settle[i] == tier].sum())
        for d in cat.domains:
            load[d] += rate * (cat.service_hours[tier] + travel)
        if tier == Tier.ENFORCEMENT:
            finisher = cat.domains[0] if params.departments.lead_department else cat.domains[-1]
            load[finisher] += rate * _follow_up_share(params, cat) * follow
    return load


def _split(total: float, weights: list[float]) -> list[int]:
    """Split ``round(total)`` staff in proportion to ``weights`` (largest remainder), >= 1 each."""
    if not weights:
        return []
    w = np.asarray(weights, dtype=float)
    w = np.ones_like(w) if w.sum() <= 0 else w
    n = max(round(total), len(w))
    exact = n * w / w.sum()
    out = np.maximum(np.floor(exact).astype(int), 1)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable")[: max(n - out.sum(), 0)]:
        out[i] += 1
    return [int(x) for x in out]


def _departments(p: Params, town_res: np.ndarray) -> list[UnitSpec]:
    """County line departments and/or town bureaus (a group goes to the towns when the
    departments are town-located or the duty list gives all its domains to the towns)."""
    dep, load = p.departments, _domain_load(p, Tier.DEPARTMENT)
    spec: list[tuple[int, int, tuple[str, ...], float]] = []  # (layer, town, domains, weight)
    for g in dep.groups:
        at_town = dep.location == "town" or set(g) <= set(dep.town_domains)
        for t in range(p.population.towns) if at_town else [-1]:
            share = 1.0 if t < 0 else town_res[t] / town_res.sum()
            spec.append((Layer.COUNTY if t < 0 else Layer.TOWN, t, g, share * sum(load[d] for d in g)))
    staff = _split(dep.staff_per_10k * p.population.residents / 1e4, [s[3] for s in spec])
    if dep.moved_down_per_town:
        staff = _move_down(spec, staff, dep.moved_down_per_town * p.population.towns)
    return [UnitSpec(Department, (lay, t, g, n), n) for (lay, t, g, _), n in zip(spec, staff, strict=True)]


def _move_down(spec: list[tuple[int, int, tuple[str, ...], float]], staff: list[int], n: int) -> list[int]:
    """Move ``n`` staff from county units (keeping one each) to town units, by weight."""
    county = [i for i, s in enumerate(spec) if s[0] == Layer.COUNTY]
    town = [i for i, s in enumerate(spec) if s[0] == Layer.TOWN]
    spare = [staff[i] - 1 for i in county]
    n = min(n, sum(spare))
    if n <= 0 or not town:
        return staff
    out = list(staff)
    for i, k in zip(county, _split_exact(n, [float(x) for x in spare]), strict=True):
        out[i] -= k
    for i, k in zip(town, _split_exact(n, [spec[i][3] for i in town]), strict=True):
        out[i] += k
    return out


def _split_exact(n: int, weights: list[float]) -> list[int]:
    """Split exactly ``n`` in proportion to ``weights`` (largest remainder; zero allowed)."""
    w = np.asarray(weights, dtype=float)
    exact = n * w / w.sum() if w.sum() > 0 else np.full(len(w), n / len(w))
    out = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - out), kind="stable")[: n - out.sum()]:
        out[i] += 1
    return [int(x) for x in out]


def enforcement_case_rates(p: Params) -> dict[str, float]:
    """Expected enforcement cases a day per 1,000 residents whose power (item) lies in each
    domain: a case's item lies in one of its category's domains, each equally likely
    (:mod:`sim.core.mechanisms.powers`); the level mix as in :func:`_domain_load`."""
    rates = dict.fromkeys(p.domains, 0.0)
    settle = settling_tiers(p)
    for i, cat in enumerate(p.categories.values()):
        mix = found_level_mix(cat, p.growth, _hand_off_days(p))
        rate = cat.rate_per_1000_per_day * float(mix[settle[i] == Tier.ENFORCEMENT].sum())
        for d in cat.domains:
            rates[d] += rate / len(cat.domains)
    return rates


def _county_keeps(p: Params, devolved: tuple[str, ...], town_res: np.ndarray) -> dict[str, float]:
    """With powers as items: the share of each devolved domain's enforcement workload whose
    items the county line team keeps (:func:`sim.core.powers.county_share`), for the
    domains where it keeps any (it then has a line team beside the town squads)."""
    pw, e = p.powers, p.enforcement
    if not pw.items or (held_count(p) == pw.items_per_domain and not pw.review_days):
        return {}
    squads = -(-p.population.towns // e.towns_per_squad) * e.squads_per_town
    per_squad = town_res.sum() / squads / 1000.0
    rates = enforcement_case_rates(p)
    return {d: county_share(p, rates[d] * per_squad) for d in devolved}


def _enforcement(p: Params, town_res: np.ndarray) -> list[UnitSpec]:
    e, load = p.enforcement, _domain_load(p, Tier.ENFORCEMENT)
    needed = [d for d in p.domains if load[d] > 0]
    devolved = tuple(d for d in needed if e.mode == "comprehensive" and d in e.devolved_domains)
    kept = _county_keeps(p, devolved, town_res)
    spec: list[tuple[int, int, tuple[str, ...], float, tuple[int, ...]]] = []  # + towns served
    for d in needed:
        if d not in devolved or d in kept:
            all_towns = tuple(range(p.population.towns))
            spec.append((Layer.COUNTY, -1, (d,), load[d] * kept.get(d, 1.0), all_towns))
    if devolved:
        town_load = sum(load[d] * (1.0 - kept.get(d, 0.0)) for d in devolved)
        for first in range(0, p.population.towns, e.towns_per_squad):
            served = tuple(range(first, min(first + e.towns_per_squad, p.population.towns)))
            share = town_res[list(served)].sum() / town_res.sum() / e.squads_per_town
            for _ in range(e.squads_per_town):
                spec.append((Layer.TOWN, first, devolved, share * town_load, served))
    staff = _split(e.staff_per_10k * p.population.residents / 1e4, [s[3] for s in spec])
    return [
        UnitSpec(EnforcementSquad, (lay, t, ds, n, served), n)
        for (lay, t, ds, _, served), n in zip(spec, staff, strict=True)
    ]


def _desks(p: Params) -> list[UnitSpec]:
    towns = [-1] if p.departments.location == "county" else list(range(p.population.towns))
    spec = [(t, g) for t in towns for g in p.departments.groups]
    staff = _split(p.one_window.desk_staff_per_10k * p.population.residents / 1e4, [len(g) for _, g in spec])
    out = [
        UnitSpec(ApprovalDesk, (Layer.COUNTY if t < 0 else Layer.TOWN, t, g, n), n)
        for (t, g), n in zip(spec, staff, strict=True)
    ]
    if p.one_window.enabled:
        per_w = max(
            1, round(p.one_window.window_staff_per_10k * p.population.residents / 1e4 / p.population.towns)
        )
        out += [UnitSpec(WindowCounter, (Layer.TOWN, t, (), per_w), per_w) for t in range(p.population.towns)]
    return out


def _grid_teams(p: Params, places: Places, team_of_grid: np.ndarray) -> list[UnitSpec]:
    g, out = p.grid, []
    for team in _members(team_of_grid):
        grids, town = tuple(int(x) for x in team), int(places.town_of_grid[team[0]])
        args = (grids, town, g.patrollers_per_grid, g.leaders_per_grid, g.separation)
        out.append(UnitSpec(GridTeam, args, GridTeam.handlers(*args[2:]) * len(grids)))
    return out


def _members(group: np.ndarray) -> list[np.ndarray]:
    """The indices of each group ``0 .. group.max()``, in index order (one sort, not a
    pass over ``group`` per group: a county has a couple of thousand teams)."""
    order = np.argsort(group, kind="stable")
    return np.split(order, np.searchsorted(group[order], np.arange(1, int(group.max()) + 1)))


def _police(p: Params, places: Places) -> list[UnitSpec]:
    """The police officers of each grid (``grid.police_per_grid``; none when 0), in grid order."""
    n = p.grid.police_per_grid
    if n == 0:
        return []
    return [UnitSpec(GridPolice, (g, int(places.town_of_grid[g]), n), n) for g in range(places.n_grids)]


def _villages(p: Params, places: Places) -> list[UnitSpec]:
    """The staff of each village (community), in village order; with the cluster's own
    centre (``clusters.centre``), the staff of each cluster's villages together, in cluster
    order (the clusters of :func:`cluster_of_grid`)."""
    n = p.village.staff_per_village
    town = np.zeros(places.n_villages, dtype=np.int64)
    town[places.village_of_grid] = places.town_of_grid
    if not p.clusters.centre:
        return [UnitSpec(VillageStaff, (int(town[v]), v, n), n) for v in range(places.n_villages)]
    of_grid = np.zeros(places.n_villages, dtype=np.int64)
    of_grid[places.village_of_grid] = cluster_of_grid(places, p.clusters.villages_per_cluster)
    cluster = np.unique(of_grid, return_inverse=True)[1]  # (one grid's team each if no clusters)
    out = []
    for members in _members(cluster):
        vs = tuple(int(v) for v in members)
        out.append(UnitSpec(VillageStaff, (int(town[vs[0]]), vs[0], n * len(vs), vs), n * len(vs)))
    return out


@dataclass(frozen=True)
class UnitPlan:
    """The units of a scenario, in unit-index order, with two look-ups by place:
    ``team_of_grid[grid]`` (the grid team's index) and ``centre[town]`` (-1 if none)."""

    specs: list[UnitSpec]
    team_of_grid: np.ndarray
    centre: np.ndarray


def plan_units(p: Params, places: Places) -> UnitPlan:
    """Lay out every unit of the scenario: grid teams, village staff, departments,
    enforcement, centres, desks, grid police."""
    town_res = places.residents_in_town().astype(float)
    team_of_grid = cluster_of_grid(places, p.clusters.villages_per_cluster)
    specs = _grid_teams(p, places, team_of_grid) + _villages(p, places)
    specs += _departments(p, town_res) + _enforcement(p, town_res)
    centre = np.full(p.population.towns, -1, dtype=np.int32)
    if p.dispatch.command_centre:
        n = p.dispatch.centre_staff_per_10k * p.population.residents / 1e4
        if p.dispatch.sub_centres:
            for t, k in enumerate(_split(n, list(town_res))):
                centre[t] = len(specs)
                specs.append(UnitSpec(CommandCentre, (Layer.TOWN, t, (), k), k))
        else:
            centre[:] = len(specs)
            k = max(1, round(n))
            specs.append(UnitSpec(CommandCentre, (Layer.COUNTY, -1, (), k), k))
    return UnitPlan(specs + _desks(p) + _police(p, places), team_of_grid, centre)


def build_units(model: mesa.Model, p: Params, places: Places) -> UnitTable:
    """Create every unit agent of the scenario and the routing arrays."""
    plan = plan_units(p, places)
    units = [s.build(model) for s in plan.specs]
    for i, u in enumerate(units):
        u.index = i
    staff = np.array([max(u.staff, 1) for u in units], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(staff)[:-1]]).astype(np.int64)
    kinds = np.array([u.kind for u in units], dtype=np.int64)
    cal = np.array([CALENDARS.index(u.calendar) for u in units], dtype=np.int64)
    shifts = [handling_shift(p) if c == "grid" else getattr(p.calendar, c) for c in CALENDARS]
    calendars = np.stack([shift_array(s) for s in shifts])
    ot = p.dispatch.overtime_hours_per_day
    overtime = np.stack([overtime_array(s, ot) for s in shifts])
    return UnitTable(
        units=units,
        kind=kinds,
        layer=np.array([u.layer for u in units], dtype=np.int8),
        town=np.array([u.town for u in units], dtype=np.int32),
        staff=staff,
        first=first,
        calendar=cal,
        calendars=calendars,
        overtime_calendars=overtime,
        free_at=np.zeros(int(staff.sum())),
        heap=server_heap(staff),
        overtime_free_at=np.zeros(int(staff.sum())),
        overtime_heap=server_heap(staff),
        route=_route(units, p, places, plan.team_of_grid),
        grid_unit=plan.team_of_grid,
        desk=_desk_lookup(units, p),
        window=_window(units, p),
        centre=plan.centre,
        police=_police_lookup(units, places.n_grids),
    )


def _serves(u: Unit, town: int) -> bool:
    if isinstance(u, EnforcementSquad):
        return town in u.towns
    return u.town in (-1, town)


def cluster_of_grid(places: Places, villages_per_cluster: int) -> np.ndarray:
    """The grid team (unit index) of each grid: its own, or its cluster's (clusters group
    ``villages_per_cluster`` neighbouring villages of one town)."""
    if villages_per_cluster <= 1:
        return np.arange(places.n_grids, dtype=np.int32)
    town, village = places.town_of_grid.astype(np.int64), places.village_of_grid.astype(np.int64)
    first_village = np.minimum.reduceat(village, np.flatnonzero(np.diff(town, prepend=-1)))[town]
    key = town * 1_000_000 + (village - first_village) // villages_per_cluster
    return np.unique(key, return_inverse=True)[1].astype(np.int32)


def _route(units: list[Unit], p: Params, places: Places, team_of_grid: np.ndarray) -> np.ndarray:
    n_dom, n_grid = len(p.domains), places.n_grids
    route = np.full((len(Tier), n_dom, n_grid), -1, dtype=np.int32)
    route[Tier.GRID] = team_of_grid[None, :]
    village_unit = {v: u.index for u in units if isinstance(u, VillageStaff) for v in u.villages}
    route[Tier.VILLAGE] = np.array([village_unit[v] for v in places.village_of_grid], dtype=np.int32)[None, :]
    grids = np.arange(n_grid)
    for level, cls in ((Tier.DEPARTMENT, Department), (Tier.ENFORCEMENT, EnforcementSquad)):
        for di, d in enumerate(p.domains):
            held = [u for u in units if isinstance(u, cls) and u.can_handle(level, (d,))]
            for t in range(places.towns):
                serving = [u for u in held if _serves(u, t)]
                # a town's own units first: the county's line team of a devolved domain
                # takes only the items the town does not hold (powers as items)
                cands = [u.index for u in serving if u.layer != Layer.COUNTY] or [u.index for u in serving]
                if not cands:
                    continue
                in_town = grids[places.town_of_grid == t]
                local = in_town - in_town.min()
                route[level, di, in_town] = np.asarray(cands)[local % len(cands)]
    return route


def _police_lookup(units: list[Unit], n_grids: int) -> np.ndarray:
    police = np.full(n_grids, -1, dtype=np.int32)
    for u in units:
        if isinstance(u, GridPolice):
            police[u.grid] = u.index
    return police


def _desk_lookup(units: list[Unit], p: Params) -> np.ndarray:
    desk = np.full((len(p.domains), p.population.towns), -1, dtype=np.int32)
    for u in units:
        if isinstance(u, ApprovalDesk):
            for d in u.domains:
                cols = slice(None) if u.town < 0 else u.town
                desk[p.domains.index(d), cols] = u.index
    return desk


def _window(units: list[Unit], p: Params) -> np.ndarray:
    window = np.full(p.population.towns, -1, dtype=np.int32)
    for u in units:
        if isinstance(u, WindowCounter):
            window[u.town] = u.index
    return window


__all__ = ["UnitPlan", "UnitSpec", "UnitTable", "build_units", "plan_units"]
