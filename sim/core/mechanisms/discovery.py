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
from sim.core.ledger_flow import find, grown_level
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
SIXTH, FOURTH, FIFTH = 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0


class Today(NamedTuple):
    """The day's channels as the compiled pass takes them (:func:`_find`): each drawn
    channel's window ``[lo, hi)`` and hazard, and the day's random numbers by channel, two
    a column (:func:`_window_time`)."""

    end: float
    intake: np.ndarray  # by channel: the layer where its reports enter (INTAKE_LAYER)
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
    u_patrol: np.ndarray  # (2, latent), or (2, 0) when no grid is patrolled today
    u_volunteers: np.ndarray  # (2, latent), or (2, 0) without volunteers
    u_inspection: np.ndarray  # (2, latent), or (2, 0) on the offices' days off or without inspections
    u_police: np.ndarray  # (2, latent of police categories), or (2, 0) when they do not patrol
    u_professional: np.ndarray  # (2, latent), or (2, 0) without professional grids
    u_pass: np.ndarray  # (latent,) the pass-over's, or empty: separation, or no patrol today


LATENT_COLUMNS = (
    "occurred",
    "self_report_at",
    "category",
    "grid",
    "ignored",
    "level0",
    "grow1",
    "grow2",
    "grow3",
)
"""The ledger's columns discovery reads of each latent issue (:class:`Latent`)."""


class Latent(NamedTuple):
    """Latent issues, in id order, and the ledger's :data:`LATENT_COLUMNS` of each: views
    of the ledger's rows for the issues new today, copies for those kept from earlier
    days. Discovery reads these instead of the ledger's rows of issues that may have
    occurred months ago, scattered over the ledger (in a county-year most latent issues
    are old ones the patrol passes over). A latent issue's columns do not change, but
    ``ignored``, which only discovery sets (in the ledger and here); and no unit has taken
    it, so its level is its grown level (:func:`sim.core.ledger_flow.grown_level`)."""

    ids: np.ndarray
    occurred: np.ndarray
    report_at: np.ndarray
    category: np.ndarray
    grid: np.ndarray
    ignored: np.ndarray
    level0: np.ndarray
    grow1: np.ndarray
    grow2: np.ndarray
    grow3: np.ndarray

    @staticmethod
    def rows(cols: dict[str, np.ndarray], lo: int, hi: int) -> Latent:
        """The issues ``lo`` to ``hi`` (ids), as views of the ledger's columns ``cols``."""
        return Latent(np.arange(lo, hi, dtype=np.int64), *(cols[k][lo:hi] for k in LATENT_COLUMNS))

    @staticmethod
    def room(cols: dict[str, np.ndarray], n: int) -> Latent:
        """Empty columns for ``n`` issues, of the ledger's dtypes."""
        return Latent(
            np.empty(n, dtype=np.int64), *(np.empty(n, dtype=cols[k].dtype) for k in LATENT_COLUMNS)
        )

    def head(self, n: int) -> Latent:
        """The first ``n`` issues."""
        return Latent(*(x[:n] for x in self))


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
        self._rooms = (Latent.room(world.ledger.cols, 0), Latent.room(world.ledger.cols, 0))
        """The rows of the issues kept latent (the first ``_kept``), and room for the next
        day's: the pass writes what it keeps into the other, and they swap."""
        self._kept = 0
        self._seen = 0  # the issues that had occurred by the last step
        p = world.params
        gcal, ocal, ecal = p.calendar.grid, p.calendar.office, p.calendar.enforcement
        grid = (gcal.start_hour, gcal.hours_per_day)  # the patrol's, and the professional patrol's
        office, police = (ocal.start_hour, ocal.hours_per_day), (ecal.start_hour, ecal.hours_per_day)
        shifts = (grid, (8.0, 12.0), office, police, grid)  # patrol, volunteers, inspection, police, pro
        self._hours = np.array([(start / 24.0, (start + hours) / 24.0) for start, hours in shifts])
        """The channels' daily windows ``[lo, hi)`` (:class:`Today`'s ``windows``), in
        days from the start of their day: a day's are ``day + self._hours``."""
        self._volunteers = float(p.grid.volunteers_per_grid * p.grid.volunteer_detectability_factor)
        self._inspection, self._office_days = float(p.departments.inspection_rate), ocal.days_per_week
        self._shift_hours, self._police_per_grid = float(gcal.hours_per_day), float(p.grid.police_per_grid)
        self._police_on = bool(world.catalogue.police.any())

    @property
    def kept(self) -> Latent:
        """The issues still latent after the last step, with their columns."""
        return self._rooms[0].head(self._kept)

    @property
    def latent(self) -> np.ndarray:
        """The ids of the issues still latent after the last step, in id order."""
        return self._rooms[0].ids[: self._kept]

    def step(self, day: int) -> None:
        """Find latent issues today; found ones go to dispatch at the time found. Each
        issue's channels are weighed in one compiled pass (:func:`_find`).

        The latent issues are those kept latent yesterday and those that occurred since
        (only discovery's ``find`` moves an issue out of latency), so no pass over the
        ledger's open cases is needed to list them (a test holds the list to
        :meth:`sim.core.ledger.Ledger.undiscovered`); the pass reads their columns from
        :class:`Latent`, and writes those it keeps into the room it keeps for them (no
        new arrays a day)."""
        L = self.world.ledger
        new = Latent.rows(L.cols, self._seen, L.n)
        self._seen = L.n
        kept, rest = self._rooms
        n = self._kept + new.ids.size
        if n == 0:
            return
        if rest.ids.size < n:
            rest = Latent.room(L.cols, 2 * n)
        today = self._today(day, kept, self._kept, new)
        self._kept = self._find(L.cases(), L.max_level, today, kept, self._kept, new, rest)
        self._rooms = (rest, kept)
        L.absorb_trace()

    def _today(self, day: int, kept: Latent, kept_n: int, new: Latent) -> Today:
        """The day's channels for the latent issues (the first ``kept_n`` of ``kept``, then
        ``new``), their random numbers drawn in each stream's order: the discovery
        stream's for the patrol, the volunteers, the inspections, then the pass-over (if
        patrol and handling are not separate); the police's (:meth:`_police`); the
        professional patrol's, after it has seen the new issues
        (:meth:`ProfessionalPatrol.hazard`)."""
        w, cat, p, n = self.world, self.world.catalogue, self.world.params, kept_n + new.ids.size
        volunteers = self._volunteers
        inspection = self._inspection if day % 7 < self._office_days else 0.0
        patrol = bool(w.patrol_hours.any())
        rows: tuple[tuple[int, bool], ...] = ((2, patrol), (2, volunteers > 0), (2, inspection > 0))
        rows += () if p.grid.separation else ((1, patrol),)  # the pass-over's: none if separate
        u_patrol, u_volunteers, u_inspection, *passed = _draws(self.rng, n, rows)
        u_pass = passed[0] if passed else np.empty(0)
        pro, u_pro = np.empty(0), np.empty((2, 0))
        if self.professional is not None:
            pro = self.professional.hazard(np.concatenate([kept.ids[:kept_n], new.ids]), day)
            u_pro = self.professional.rng.random((2, n))
        return Today(
            day + 1.0, self.intake, day + self._hours, cat.detectability, w.patrol_hours,
            self._shift_hours, volunteers, inspection, self._police_per_grid,
            pro, w.report_probability, cat.settle, cat.police, u_patrol, u_volunteers, u_inspection,
            self._police(day, kept.category[:kept_n], new.category), u_pro, u_pass,
        )  # fmt: skip

    def _police(self, day: int, kept: np.ndarray, new: np.ndarray) -> np.ndarray:
        """The draws of the grid's police officers today: two for each latent issue
        (those kept, then the new, of categories ``kept`` and ``new``) of a police
        category (none on their days off, or with no officers; stream ``police``).
        Each officer finds them as a full-time patroller would (hazard
        ``detectability × police_per_grid``, *assumption*), on his calendar's working hours
        and days (:func:`_find`)."""
        w = self.world
        if day % 7 >= w.params.calendar.enforcement.days_per_week or not self._police_on:
            return np.empty((2, 0))
        police = w.catalogue.police
        m = np.count_nonzero(police[kept]) + np.count_nonzero(police[new])
        return w.stream("police").random((2, m)) if m else np.empty((2, 0))


def _draws(rng: np.random.Generator, n: int, rows: tuple[tuple[int, bool], ...]) -> list[np.ndarray]:
    """The discovery stream's numbers of the day for ``n`` latent issues, in the stream's
    order, ``rows`` as (rows, on) for each channel: the patrol's, the volunteers' and the
    inspections' (two rows of ``n`` each), then the pass-over's (a row, when patrol and
    handling are not separate); a row of ``n`` is returned as a 1-d array. A channel that
    finds nothing today (not ``on``: no patrol hours in any grid, no volunteers, no
    inspection, no patrol to pass over) gets no numbers (its rows empty, and
    :func:`_candidates` skips it): the stream is advanced over them instead (the bit
    generator's ``advance``, by as many 64-bit words as they would have taken, one a
    float), so every later number is what drawing them would have left, and so are the
    results (a test holds each row to a draw of all of them). A channel on gets what one
    call for all the rows would have given it."""
    bits, out = rng.bit_generator, []
    assert isinstance(bits, np.random.PCG64)  # the streams' (sim.core.rng.stream), which advances
    for k, use in rows:
        if use:
            out.append(rng.random((k, n)) if k > 1 else rng.random(n))
        else:
            bits.advance(k * n)
            out.append(np.empty((k, 0)) if k > 1 else np.empty(0))
    return out


@njit(cache=True, _nrt=False)  # type: ignore[call-overload]
def _find(C, max_level, D, kept, r, new, rest):  # type: ignore[no-untyped-def,unused-ignore]
    """Which latent issues are found today, when and through which channel: the first ``r``
    issues of ``kept``, from earlier days, then the ``new`` ones (:class:`Latent`), the ``k``-th of
    them with the ``k``-th of the day's random numbers in ``D``. For each, its time of
    detection by every channel (:func:`_candidates`), the patrol's after the unseparated
    worker's choices (:func:`_pass_over`), and the earliest of them, the first listed
    among equals (:data:`CANDIDATES`), if before the day's end. A found issue goes to
    dispatch in the ledger then (:func:`sim.core.ledger_flow.find`, its report entering at
    its channel's layer, ``D.intake``); the others are copied to ``rest`` (a
    :class:`Latent`), whose number it returns.
    Compiled without reference counting (``_nrt=False``): it and the rules it inlines
    allocate nothing, so the many arrays they read cost nothing to pass."""
    kept_n, used = 0, 0  # used: the police draws taken so far
    for k in range(r + new.ids.size):
        X, j = (kept, k) if k < r else (new, k - r)
        t, used = _candidates(X, j, D, k, used)
        if D.u_pass.size:
            t = (_pass_over(C, max_level, D, X, j, t, D.u_pass[k]),) + t[1:]
        first = _earliest(t)
        if t[first] < D.end:
            i = X.ids[j]
            chan = C.self_channel[i] if CANDIDATES[first] < 0 else CANDIDATES[first]
            find(C, i, t[first], chan, D.intake[chan])
        else:
            _keep(rest, kept_n, X, j)
            kept_n += 1
    return kept_n


@njit(cache=True, inline="always")
def _keep(rest, m, X, j):  # type: ignore[no-untyped-def,unused-ignore]
    """Issue ``j`` of ``X`` stays latent: copy it to row ``m`` of ``rest``."""
    rest.ids[m], rest.occurred[m], rest.report_at[m] = X.ids[j], X.occurred[j], X.report_at[j]
    rest.category[m], rest.grid[m], rest.ignored[m] = X.category[j], X.grid[j], X.ignored[j]
    rest.level0[m], rest.grow1[m], rest.grow2[m], rest.grow3[m] = (
        X.level0[j],
        X.grow1[j],
        X.grow2[j],
        X.grow3[j],
    )


@njit(cache=True, inline="always")
def _candidates(X, j, D, k, used):  # type: ignore[no-untyped-def,unused-ignore]
    """The times at which each channel of :data:`CANDIDATES` finds issue ``j`` of ``X``
    (the ``k``-th latent) today, or inf, and the police draws taken so far (``used`` before).

    The patrol's hazard is ``detectability × patrol hours / shift hours``, the volunteers'
    ``detectability × volunteers × their factor``, the inspections' ``detectability ×
    inspection_rate`` on the offices' working days; the resident's own report was drawn at
    occurrence; the police officers find the issues of their categories with hazard
    ``detectability × police_per_grid`` on the enforcement calendar's working days; the
    professional patrol's hazard is its own (:mod:`sim.core.mechanisms.professional_grids`).
    A channel without numbers today (:func:`_draws`) finds nothing (inf), as its hazard of
    zero would have decided."""
    det, occ, W = D.detectability[X.category[j]], X.occurred[j], D.windows
    patrol = volunteers = inspection = officers = professional = np.inf
    if D.u_patrol.shape[1]:  # else no grid is patrolled today
        u = D.u_patrol
        hazard = det * D.patrol_hours[X.grid[j]] / D.shift_hours
        patrol = _window_time(occ, W[0, 0], W[0, 1], hazard, u[0, k], u[1, k])
    if D.u_volunteers.shape[1]:
        u = D.u_volunteers
        volunteers = _window_time(occ, W[1, 0], W[1, 1], det * D.volunteers, u[0, k], u[1, k])
    if D.u_inspection.shape[1]:
        u = D.u_inspection
        inspection = _window_time(occ, W[2, 0], W[2, 1], det * D.inspection, u[0, k], u[1, k])
    if D.u_police.shape[1] and D.police[X.category[j]]:
        u = D.u_police
        officers = _window_time(occ, W[3, 0], W[3, 1], det * D.police_per_grid, u[0, used], u[1, used])
        used += 1
    if D.professional.size:
        u = D.u_professional
        professional = _window_time(occ, W[4, 0], W[4, 1], D.professional[k], u[0, k], u[1, k])
    return (patrol, volunteers, inspection, X.report_at[j], officers, professional), used


@njit(cache=True, inline="always")
def _earliest(t):  # type: ignore[no-untyped-def,unused-ignore]
    """The index of the earliest of the times ``t``, the first among equals."""
    first = 0
    for j in range(1, len(t)):
        if t[j] < t[first]:
            first = j
    return first


@njit(cache=True, inline="always")
def _pass_over(C, max_level, D, X, j, t, u):  # type: ignore[no-untyped-def,unused-ignore]
    """The patrol's time of issue ``j`` of ``X`` after the unseparated worker's choices:
    what he passed over stays unreported by him (inf). A worker who finds a grid-level
    issue first (before every other channel in ``t``) may pass over it, with the
    complementary probability of his grid's ``report`` (passed if ``u`` is not below it):
    it is then not his report (inf) and he ignores it (``ignored`` set, in the ledger and
    in ``X``)."""
    tp = t[0]
    if X.ignored[j] and _own(max_level, D, X, j, tp):
        return np.inf
    first = np.isfinite(tp)
    for m in range(1, len(t)):
        first = first and tp < t[m]
    if first and _own(max_level, D, X, j, tp) and u >= D.report[X.grid[j]]:
        C.ignored[X.ids[j]] = True
        X.ignored[j] = True
        return np.inf
    return tp


@njit(cache=True, inline="always")
def _own(max_level, D, X, j, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Whether the grid team would settle issue ``j`` of ``X`` itself at time ``t`` (its
    level then, :func:`sim.core.ledger_flow.grown_level`)."""
    c = X.category[j]
    lvl = grown_level(X.level0[j], X.grow1[j], X.grow2[j], X.grow3[j], max_level[c], t)
    return D.settle[c, lvl] == GRID and not D.police[c]


@njit(cache=True, inline="always")
def _window_time(occ, lo, hi, hazard, u0, u1):  # type: ignore[no-untyped-def,unused-ignore]
    """Detection time in the window [lo, hi) of an issue that occurred at ``occ``, with a
    daily ``hazard`` over the whole window (prorated to the part after occurrence), or
    inf: hit if ``u0 < 1 - exp(-hazard × part)``, at ``u1`` of the way through the part."""
    ws = max(occ, lo)
    frac = 1.0 if ws == lo else min(max((hi - ws) / (hi - lo), 0.0), 1.0)  # exactly so at ws == lo
    return ws + u1 * (hi - ws) if _hit(u0, hazard * frac) else np.inf


@njit(cache=True, inline="always")
def _hit(u, x):  # type: ignore[no-untyped-def,unused-ignore]
    """Whether ``u < -expm1(-x)``, i.e. ``u < 1 - exp(-x)`` (``u`` in [0, 1), ``x ≥ 0``).
    ``1 - exp(-x)`` lies between its Taylor polynomials of degrees 4 and 5, ``x - x²/2 +
    x³/6 - x⁴/24`` and that plus ``x⁵/120`` (their Lagrange remainders have opposite
    signs for every ``x ≥ 0``), so ``u`` above the upper one misses (most latent issues on
    most days) and ``u`` below the lower one hits, each with a margin far wider than
    rounding; only ``u`` between the two (a band of width ``x⁵/120``) needs ``expm1``.
    (With the degrees 2 and 3 the band is ``x³/6``: at ``x = 1``, a sixth of the draws
    against a 120th.) Before either, ``u`` at or above ``x`` itself (the degree-1
    polynomial, also above ``1 - exp(-x)``, and so above the lower one and ``expm1``'s
    value) misses without the polynomials: the same answer for one product."""
    if u >= x * (1.0 + 1e-9):
        return False
    lower = x * (1.0 - x * (0.5 - x * (SIXTH - x * FOURTH)))
    if u >= (lower + x * x * x * x * x * FIFTH) * (1.0 + 1e-9):
        return False
    return u < lower * (1.0 - 1e-9) or u < -np.expm1(-x)
