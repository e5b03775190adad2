"""Discovery of latent issues: patrol, volunteers, inspections from above, residents.

Each day every latent issue may be found by (a) its grid's patrol, with daily hazard
``detectability × patrol hours / shift hours`` (a full-time patroller gives hazard
``detectability``); (b) the grid's volunteers (the "N" of "4+N", 001), each with
``volunteer_detectability_factor`` of a patroller's hazard; (c) inspections by the
departments (cases "assigned from above"; Luzhi: 99.8% raised from below, 000); or
(d) the resident's own report, pre-sampled at occurrence; (e) with
``professional_grids.enabled``, the patrol of the professional grids for their categories
(:mod:`sim.core.mechanisms.professional_grids`, on its own stream); or (f) for the
public-security categories, the grid's police officers (网格警务员, 001;
:meth:`Discovery._police`). The earliest wins.

Patrol–handling separation (巡办分离, 001). The grid teams decide each day how many
hours each grid is patrolled and how likely its patrol is to report an issue its own
workers would have to fix (:meth:`sim.core.agents.GridTeam.plan_day`: the workers' time
budget of assigned tasks, handling and patrol, and their reluctance under pending
work). Patrol hours set the patrol's hazard; an issue the grid team would settle itself
(of the grid's level, in a category on the grid's service list) that the patrol finds
first is passed over with the complementary probability, and is not reported by that
patrol again until it grows beyond the grid. These are the two
mechanisms the brief names; the resulting patrol-reported share is an outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.core.jit import Pinned, njit
from sim.core.kinds import Layer, Tier
from sim.core.ledger import Channel
from sim.core.ledger_flow import level_at
from sim.core.mechanisms.professional_grids import ProfessionalPatrol

if TYPE_CHECKING:
    from sim.core.world import World

INTAKE_LAYER = np.array(
    [Layer.GRID, Layer.GRID, Layer.COUNTY, Layer.COUNTY, Layer.VILLAGE, Layer.COUNTY, Layer.GRID, Layer.GRID],
    dtype=np.int8,
)
"""Layer where a report enters the hierarchy, by channel (patrol, volunteer, hotline,
app, walk-in, inspection, professional patrol, police); inspections enter at the
departments' layer, professional patrollers report through the grid like basic ones."""

CANDIDATES = np.array(
    [Channel.PATROL, Channel.VOLUNTEER, Channel.INSPECTION, -1, Channel.POLICE, Channel.PROFESSIONAL],
    dtype=np.int8,
)
"""The channels that may find an issue, in the order that breaks ties (the first listed
wins): patrol, volunteers, inspection, the resident's own report (his ``self_channel``),
police, professional patrol."""
GRID = int(Tier.GRID)


class Today(NamedTuple):
    """The day's channels as the compiled pass takes them (:func:`_find`): each drawn
    channel's window ``[lo, hi)`` and hazard, and the day's random numbers by channel, two
    a column (:func:`_window_time`)."""

    end: float
    windows: np.ndarray  # (5, 2): patrol, volunteers, inspection, police, professional patrol
    detectability: np.ndarray  # by category
    patrol_hours: np.ndarray  # by grid, over shift_hours a day
    shift_hours: float
    volunteers: float  # volunteers per grid × their detectability factor
    inspection: float  # inspection rate; 0 on the offices' days off
    police_per_grid: float
    professional: np.ndarray  # the professional patrol's hazard of each latent issue, or empty
    report: np.ndarray  # by grid: the chance the patrol reports an issue of its own
    settle: np.ndarray  # the catalogue's settle[category, level]
    police: np.ndarray  # by category: settled and reported by the grid's police officers
    u_patrol: np.ndarray  # (2, latent)
    u_volunteers: np.ndarray  # (2, latent)
    u_inspection: np.ndarray  # (2, latent)
    u_police: np.ndarray  # (2, latent of police categories), or (2, 0) when they do not patrol
    u_professional: np.ndarray  # (2, latent), or (2, 0) without professional grids
    u_pass: np.ndarray  # (latent,) the pass-over's, or empty when patrol and handling are separate


class Discovery:
    """Finds latent issues each day and hands them to dispatch."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("discovery")
        self.intake = INTAKE_LAYER.copy()
        town_seat = Layer.COUNTY if world.params.departments.location == "county" else Layer.TOWN
        self.intake[Channel.INSPECTION] = town_seat
        pro = world.params.professional_grids.enabled
        self.professional = ProfessionalPatrol(world) if pro else None
        self._find = Pinned(_find)
        self.latent = np.empty(0, dtype=np.int64)
        """The issues still latent after the last step, in id order."""
        self._seen = 0  # the issues that had occurred by the last step

    def step(self, day: int) -> None:
        """Find latent issues today; found ones go to dispatch at the time found. Each
        issue's channels are weighed in one compiled pass (:func:`_find`).

        The latent issues are those left latent yesterday and those that occurred since
        (only discovery's ``find`` moves an issue out of latency), so no pass over the
        ledger's open cases is needed to list them (a test holds the list to
        :meth:`sim.core.ledger.Ledger.undiscovered`)."""
        L = self.world.ledger
        lat = np.concatenate([self.latent, np.arange(self._seen, L.n, dtype=np.int64)])
        self._seen = L.n
        if lat.size == 0:
            return
        n = lat.size
        ids, t, chan = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n, dtype=np.int8)
        rest = np.empty(n, dtype=np.int64)
        m, r = self._find(L.cases(), L.max_level, lat, self._today(day, lat), ids, t, chan, rest)
        L.find(ids[:m], t[:m], chan[:m], self.intake[chan[:m]])
        self.latent = rest[:r]

    def _today(self, day: int, lat: np.ndarray) -> Today:
        """The day's channels for the latent issues ``lat``, their random numbers drawn in
        each stream's order: the discovery stream's for the patrol, the volunteers, the
        inspections, then the pass-over (if patrol and handling are not separate); the
        police's (:meth:`_police`); the professional patrol's, after it has seen the new
        issues (:meth:`ProfessionalPatrol.hazard`)."""
        w, cat, p, n = self.world, self.world.catalogue, self.world.params, lat.size
        gcal, ocal, ecal = p.calendar.grid, p.calendar.office, p.calendar.enforcement
        # patrol, volunteers, inspection (two rows each), then the pass-over's: one call
        # draws the same numbers in the same order as one call for each
        u = self.rng.random((6 if p.grid.separation else 7, n))
        u_pass = np.empty(0) if p.grid.separation else u[6]
        pro, u_pro = np.empty(0), np.empty((2, 0))
        if self.professional is not None:
            pro = self.professional.hazard(lat, day)
            u_pro = self.professional.rng.random((2, n))
        grid, office, police = (_window(day, c.start_hour, c.hours_per_day) for c in (gcal, ocal, ecal))
        return Today(
            end=day + 1.0,
            windows=np.array([grid, _window(day, 8.0, 12.0), office, police, grid]),
            detectability=cat.detectability,
            patrol_hours=w.patrol_hours,
            shift_hours=float(gcal.hours_per_day),
            volunteers=float(p.grid.volunteers_per_grid * p.grid.volunteer_detectability_factor),
            inspection=float(p.departments.inspection_rate if day % 7 < ocal.days_per_week else 0.0),
            police_per_grid=float(p.grid.police_per_grid),
            professional=pro,
            report=w.report_probability,
            settle=cat.settle,
            police=cat.police,
            u_patrol=u[0:2],
            u_volunteers=u[2:4],
            u_inspection=u[4:6],
            u_police=self._police(day, lat),
            u_professional=u_pro,
            u_pass=u_pass,
        )

    def _police(self, day: int, lat: np.ndarray) -> np.ndarray:
        """The draws of the grid's police officers today: two for each latent issue of a
        police category (none on their days off, or with no officers; stream ``police``).
        Each officer finds them as a full-time patroller would (hazard
        ``detectability × police_per_grid``, *assumption*), on his calendar's working hours
        and days (:func:`_find`)."""
        w = self.world
        if day % 7 >= w.params.calendar.enforcement.days_per_week or not w.catalogue.police.any():
            return np.empty((2, 0))
        m = np.count_nonzero(w.catalogue.police[w.ledger.category[lat]])
        return w.stream("police").random((2, m)) if m else np.empty((2, 0))


def _window(day: int, start_hour: float, hours: float) -> tuple[float, float]:
    """A daily window ``[lo, hi)`` of ``hours`` from ``start_hour`` on ``day``, in days."""
    return day + start_hour / 24.0, day + (start_hour + hours) / 24.0


@njit(cache=True, _nrt=False)  # type: ignore[call-overload]
def _find(C, max_level, lat, D, ids, when, chan, rest):  # type: ignore[no-untyped-def,unused-ignore]
    """Which latent issues ``lat`` are found today, when and through which channel: each
    issue's time of detection by every channel (:func:`_candidates`), the patrol's after
    the unseparated worker's choices (:func:`_pass_over`), and the earliest of them,
    the first listed among equals (:data:`CANDIDATES`), if before the day's end. Writes
    the found issues in order to ``ids``, ``when`` and ``chan``, the others to ``rest``;
    returns the numbers of each.
    Compiled without reference counting (``_nrt=False``): it and the rules it inlines
    allocate nothing, so the many arrays they read cost nothing to pass."""
    found, kept, used = 0, 0, 0  # used: the police draws taken so far
    for k in range(lat.size):
        i = lat[k]
        t, used = _candidates(C, D, i, k, used)
        if D.u_pass.size:
            t = (_pass_over(C, max_level, D, i, t, D.u_pass[k]),) + t[1:]
        first = _earliest(t)
        if t[first] < D.end:
            ids[found], when[found] = i, t[first]
            chan[found] = C.self_channel[i] if CANDIDATES[first] < 0 else CANDIDATES[first]
            found += 1
        else:
            rest[kept] = i
            kept += 1
    return found, kept


@njit(cache=True, inline="always")
def _candidates(C, D, i, k, used):  # type: ignore[no-untyped-def,unused-ignore]
    """The times at which each channel of :data:`CANDIDATES` finds issue ``i`` (the
    ``k``-th latent) today, or inf, and the police draws taken so far (``used`` before).

    The patrol's hazard is ``detectability × patrol hours / shift hours``, the volunteers'
    ``detectability × volunteers × their factor``, the inspections' ``detectability ×
    inspection_rate`` on the offices' working days; the resident's own report was drawn at
    occurrence; the police officers find the issues of their categories with hazard
    ``detectability × police_per_grid`` on the enforcement calendar's working days; the
    professional patrol's hazard is its own (:mod:`sim.core.mechanisms.professional_grids`)."""
    det, occ, W, u = D.detectability[C.category[i]], C.occurred[i], D.windows, D.u_patrol
    hazard = det * D.patrol_hours[C.grid[i]] / D.shift_hours
    patrol = _window_time(occ, W[0, 0], W[0, 1], hazard, u[0, k], u[1, k])
    u = D.u_volunteers
    volunteers = _window_time(occ, W[1, 0], W[1, 1], det * D.volunteers, u[0, k], u[1, k])
    u = D.u_inspection
    inspection = _window_time(occ, W[2, 0], W[2, 1], det * D.inspection, u[0, k], u[1, k])
    officers = professional = np.inf
    if D.u_police.shape[1] and D.police[C.category[i]]:
        u = D.u_police
        officers = _window_time(occ, W[3, 0], W[3, 1], det * D.police_per_grid, u[0, used], u[1, used])
        used += 1
    if D.professional.size:
        u = D.u_professional
        professional = _window_time(occ, W[4, 0], W[4, 1], D.professional[k], u[0, k], u[1, k])
    return (patrol, volunteers, inspection, C.self_report_at[i], officers, professional), used


@njit(cache=True, inline="always")
def _earliest(t):  # type: ignore[no-untyped-def,unused-ignore]
    """The index of the earliest of the times ``t``, the first among equals."""
    first = 0
    for j in range(1, len(t)):
        if t[j] < t[first]:
            first = j
    return first


@njit(cache=True, inline="always")
def _pass_over(C, max_level, D, i, t, u):  # type: ignore[no-untyped-def,unused-ignore]
    """The patrol's time of issue ``i`` after the unseparated worker's choices: what he
    passed over stays unreported by him (inf). A worker who finds a grid-level issue
    first (before every other channel in ``t``) may pass over it, with the complementary
    probability of his grid's ``report`` (passed if ``u`` is not below it): it is then not
    his report (inf) and he ignores it (``ignored`` set)."""
    tp = t[0]
    if C.ignored[i] and _own(C, max_level, D, i, tp):
        return np.inf
    first = np.isfinite(tp)
    for j in range(1, len(t)):
        first = first and tp < t[j]
    if first and _own(C, max_level, D, i, tp) and u >= D.report[C.grid[i]]:
        C.ignored[i] = True
        return np.inf
    return tp


@njit(cache=True, inline="always")
def _own(C, max_level, D, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Whether the grid team would settle issue ``i`` itself at time ``t`` (its level
    then, the ledger's rule :func:`sim.core.ledger_flow.level_at`)."""
    c = C.category[i]
    return D.settle[c, level_at(C, max_level, i, t)] == GRID and not D.police[c]


@njit(cache=True, inline="always")
def _window_time(occ, lo, hi, hazard, u0, u1):  # type: ignore[no-untyped-def,unused-ignore]
    """Detection time in the window [lo, hi) of an issue that occurred at ``occ``, with a
    daily ``hazard`` over the whole window (prorated to the part after occurrence), or
    inf: hit if ``u0 < 1 - exp(-hazard × part)``, at ``u1`` of the way through the part."""
    ws = max(occ, lo)
    frac = min(max((hi - ws) / (hi - lo), 0.0), 1.0)
    return ws + u1 * (hi - ws) if _hit(u0, hazard * frac) else np.inf


@njit(cache=True, inline="always")
def _hit(u, x):  # type: ignore[no-untyped-def,unused-ignore]
    """Whether ``u < -expm1(-x)``, i.e. ``u < 1 - exp(-x)`` (``u`` in [0, 1), ``x ≥ 0``):
    never where ``u`` is at least ``x``, the bound of ``1 - exp(-x)`` (with a margin far
    wider than rounding), which is most latent issues on most days; else computed."""
    return u < x * (1.0 + 1e-9) and u < -np.expm1(-x)
