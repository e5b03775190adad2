"""The case flow: one compiled loop over the day's case events, in exact time order.

Every case found and not yet resolved has one next event, at its ``next_t``: at stage
DISPATCH, dispatch (:func:`sim.core.mechanisms.dispatch.dispatch`); at TRANSIT, its
arrival at a unit (:func:`sim.core.mechanisms.handling.arrive`); at QUEUED, the finish
of its job there (:func:`sim.core.mechanisms.handling.complete`). :func:`run_day`
handles the day's events earliest first, keyed by (time, case): those due at the day's
start come sorted, and an event may give the case a next event, which is handled at
once when it is at the same time (no other key comes between) and otherwise waits in a
heap if it falls before the day's end. So arrivals at every unit come in time order —
the queues are exactly first come, first served — and a hand-off, an escalation or a
bounce reaches its next unit on the same day when its time comes. The rules are the
mechanisms' (compiled functions in their modules); the ledger's compiled transitions
(:mod:`sim.core.ledger_flow`) change the cases. The events other mechanisms listen to
(``work_started``, ``bounced``, ``resolved``, ``dropped``) are logged, those that have
subscribers (:data:`LOGGED`), and emitted through the world's hooks after the day's
flow, in the order they happened.

The flow's state is one tuple of tuples of arrays (:class:`Flow`), built each day over
the world's arrays (no copies): the cases, the units and their servers, the catalogue,
the settings, the squads' powers, the work accounts, the supervisors' checks and the
random streams' keys (:mod:`sim.core.draws`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from sim.core.agents import UNIT_LEVEL
from sim.core.draws import stream_keys
from sim.core.jit import Pinned, njit
from sim.core.kinds import Kind
from sim.core.ledger import MAX_ROUTE, Stage
from sim.core.ledger_flow import EV_BOOKED, EV_BOUNCED, EV_DROPPED, EV_RESOLVED, EV_STARTED, warm
from sim.core.mechanisms.dispatch import dispatch
from sim.core.mechanisms.handling import arrive, complete, travel_hours
from sim.core.mechanisms.powers import OFF
from sim.core.mechanisms.supervision import capacity
from sim.errors import GovsimError

if TYPE_CHECKING:
    from sim.core.world import World

DISPATCH, TRANSIT, QUEUED = int(Stage.DISPATCH), int(Stage.TRANSIT), int(Stage.QUEUED)
AHEAD = 8
"""How many due events ahead the flow warms a case's rows (:func:`sim.core.ledger_flow.warm`)."""
EVENTS_AT_ONCE = 1_000
"""Events of one case at one moment that mean the flow is looping (an error, not a result)."""
MAX_JOBS = MAX_ROUTE + 1
"""Most log entries one event makes (a job booked per unit of a route, and its start)."""
LOG_SIZE = 1 << 16
"""Entries of the flow's log between emissions."""
LOGGED = ("work_started", "bounced", "resolved", "dropped", None)
"""The hook of each log code (``EV_STARTED`` … ``EV_DROPPED``; ``EV_BOOKED`` has none):
the flow logs the events of a code only when its hook has subscribers (or, for
bookings, when :attr:`CaseFlow.bookings` collects them)."""


class Settings(NamedTuple):
    """The scenario's settings the compiled rules read (``F.s``)."""

    command_centre: bool
    handoff_days: float
    handoff_loss_probability: float
    misroute_probability: float
    duty_list_coverage: float
    assessment: bool
    max_bounces: int
    lead_department: bool
    lead_coordination_hours: float
    escalation_assessment_hours: float
    bounce_assessment_hours: float
    triage_hours: float
    follow_up_hours: float
    follow_up_days: float
    county_travel_hours: float
    town_travel_hours: float
    exponential: bool
    sigma: float
    joint_settles: bool
    meeting_days: int
    opening_hour: float
    deadline_watch: bool
    verification_days: float
    poor_on: bool
    checks_per_day: float
    grid_days_per_week: float
    days: int
    powers_on: bool
    items_per_domain: int
    cases_to_learn: float
    logged: tuple[bool, ...]
    """By log code (``EV_``): whether the flow logs such events (someone listens)."""


class Units(NamedTuple):
    """The units as the flow takes them (``F.units``): servers, routes, responses."""

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
    centre: np.ndarray
    police: np.ndarray
    departments: np.ndarray
    squads: np.ndarray
    travel: np.ndarray
    level: np.ndarray
    unit_response: np.ndarray
    town_response: np.ndarray


class Categories(NamedTuple):
    """The catalogue's columns the flow reads (``F.cat``)."""

    settle: np.ndarray
    joint: np.ndarray
    domains: np.ndarray
    police: np.ndarray
    patience: np.ndarray
    deadline: np.ndarray
    service_hours: np.ndarray
    on_site: np.ndarray
    freshness: np.ndarray
    poor: np.ndarray
    max_level: np.ndarray


class WorkArrays(NamedTuple):
    """The work accounts (``F.work``; unit accounts 0×0 when not tracked)."""

    busy: np.ndarray
    overtime_hours: np.ndarray
    unit_busy: np.ndarray
    unit_overtime: np.ndarray


class Checks(NamedTuple):
    """The grid supervisors' checks left today, by grid, and the day they count (``F.sup``)."""

    left: np.ndarray
    day: np.ndarray


class Buffers(NamedTuple):
    """The flow's working arrays (``F.buf``): the event heap, the log, a route scratch and
    the counts ``[heap size, log size, events read from the day's due list]``."""

    heap_t: np.ndarray
    heap_i: np.ndarray
    code: np.ndarray
    case: np.ndarray
    unit: np.ndarray
    t: np.ndarray
    aux: np.ndarray
    route: np.ndarray
    counts: np.ndarray

    @staticmethod
    def sized(heap: int) -> Buffers:
        """Buffers with room for ``heap`` events and a log of :data:`LOG_SIZE`."""
        i64 = np.int64
        return Buffers(
            np.empty(heap), np.empty(heap, i64), np.empty(LOG_SIZE, i64), np.empty(LOG_SIZE, i64),
            np.empty(LOG_SIZE, i64), np.empty(LOG_SIZE), np.empty(LOG_SIZE),
            np.empty(MAX_ROUTE, np.int32), np.zeros(3, i64),
        )  # fmt: skip


class Flow(NamedTuple):
    """Everything the compiled rules read and write, as ``F``."""

    cases: Any
    units: Units
    cat: Categories
    s: Settings
    powers: Any
    work: WorkArrays
    sup: Checks
    keys: np.ndarray
    town_of_grid: np.ndarray
    buf: Buffers


def settings(world: World) -> Settings:
    """The scenario's settings for the compiled rules."""
    p = world.params
    d, dep, e, c = p.dispatch, p.departments, p.enforcement, p.clusters
    return Settings(
        command_centre=bool(d.command_centre),
        handoff_days=float(d.handoff_days),
        handoff_loss_probability=float(d.handoff_loss_probability),
        misroute_probability=float(d.misroute_probability),
        duty_list_coverage=float(dep.duty_list_coverage),
        assessment=bool(p.assessment.enabled),
        max_bounces=int(d.max_bounces),
        lead_department=bool(dep.lead_department),
        lead_coordination_hours=float(dep.lead_coordination_hours),
        escalation_assessment_hours=float(d.escalation_assessment_hours),
        bounce_assessment_hours=float(d.bounce_assessment_hours),
        triage_hours=float(d.triage_hours),
        follow_up_hours=float(e.follow_up_hours),
        follow_up_days=float(e.follow_up_days),
        county_travel_hours=float(p.population.county_travel_hours),
        town_travel_hours=float(p.population.town_travel_hours),
        exponential=p.service_distribution == "exponential",
        sigma=float(np.sqrt(np.log1p(p.service_cv**2))),
        joint_settles=bool(c.centre and c.joint_settles),
        meeting_days=int(c.meeting_days),
        opening_hour=float(p.calendar.office.start_hour),
        deadline_watch=bool(d.deadline_watch),
        verification_days=float(d.verification_days),
        poor_on=bool(world.catalogue.poor.any()),
        checks_per_day=float(capacity(p)),
        grid_days_per_week=float(p.calendar.grid.days_per_week),
        days=int(world.days),
        powers_on=world.powers is not None,
        items_per_domain=int(p.powers.items_per_domain),
        cases_to_learn=float(p.powers.cases_to_learn),
        logged=(False,) * len(LOGGED),
    )


class CaseFlow:
    """The mechanism that runs the day's case flow (:func:`run_day`) and emits its events.

    ``bookings``: set to a list to collect every job booked on regular servers as arrays
    (unit, arrival, start), day by day (a diagnostic: ``benchmarks/queue_order.py``).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        U, cat = world.units, world.catalogue
        self.cat = Categories(
            cat.settle, cat.joint, cat.domains, cat.police, cat.patience, cat.deadline,
            cat.service_hours, cat.on_site, cat.freshness, cat.poor, cat.max_level,
        )  # fmt: skip
        self._static = dict(
            kind=U.kind, layer=U.layer, town=U.town, staff=U.staff, first=U.first,
            calendar=U.calendar, calendars=U.calendars, overtime_calendars=U.overtime_calendars,
            free_at=U.free_at, heap=U.heap, overtime_free_at=U.overtime_free_at,
            overtime_heap=U.overtime_heap, route=U.route,
            centre=U.centre, police=U.police, departments=U.of_kind(Kind.DEPARTMENT),
            squads=U.of_kind(Kind.ENFORCEMENT), travel=travel_hours(world), level=UNIT_LEVEL,
        )  # fmt: skip
        self.keys = stream_keys(world.seed)
        self.sup = Checks(np.zeros(world.places.n_grids), np.full(1, -1, dtype=np.int64))
        self.bookings: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._settings: Settings | None = None
        self.buf = Buffers.sized(1024)
        self._run_day = Pinned(run_day)
        self._state: Flow | None = None
        self._parts: tuple[Any, ...] = ()
        self._logged: tuple[bool, ...] = ()

    def state(self) -> Flow:
        """The flow's state over the world's current arrays: built again only when one of
        them is another array than the day before (the ledger grown, the ratings
        renewed, the buffers enlarged), else the same tuple, not built again each day."""
        w = self.world
        if self._settings is None:  # after every mechanism is built (powers)
            self._settings = settings(w)
        on = self.bookings is not None  # the bookings have no hook
        logged = tuple(on if k is None else w.hooks.heard(k) for k in LOGGED)
        wk = w.work
        powers = OFF if w.powers is None else w.powers.arrays()
        parts = (
            w.ledger.cases(), w.unit_response, w.town_response, wk.busy, wk.overtime_hours,
            wk.unit_busy, wk.unit_overtime, self.buf, *powers,
        )  # fmt: skip
        if self._state is None or logged != self._logged or not _same(parts, self._parts):
            self._state, self._parts, self._logged = self._build(logged, powers), parts, logged
        return self._state

    def _build(self, logged: tuple[bool, ...], powers: Any) -> Flow:
        """The flow's state over the world's current arrays (:meth:`state`)."""
        w = self.world
        assert self._settings is not None
        s = self._settings._replace(logged=logged)
        units = Units(**self._static, unit_response=w.unit_response, town_response=w.town_response)
        empty = np.zeros((0, 0))
        wk = w.work
        work = WorkArrays(
            wk.busy,
            wk.overtime_hours,
            empty if wk.unit_busy is None else wk.unit_busy,
            empty if wk.unit_overtime is None else wk.unit_overtime,
        )
        cases, grids = w.ledger.cases(), w.places.town_of_grid
        return Flow(cases, units, self.cat, s, powers, work, self.sup, self.keys, grids, self.buf)

    def step(self, day: int) -> None:
        """Run the day's case events (those before the day's end), then emit their hooks."""
        L = self.world.ledger
        due, due_t = L.due_between(DISPATCH, QUEUED, day + 1.0)
        if due.size > self.buf.heap_t.size:  # each case waits in the heap at most once
            self.buf = Buffers.sized(2 * due.size)
        self.buf.counts[:] = 0
        state = self.state()
        while True:
            status = self._run_day(state, float(day), due, due_t)
            self._emit()
            if status == 0:
                break
            if status == 2:
                raise GovsimError(f"day {day}: the case flow loops (cases move without time passing)")
        L.absorb_trace()

    def _emit(self) -> None:
        """Emit the logged events that have subscribers through the hooks, in order of
        kind; empty the log."""
        B, hooks = self.buf, self.world.hooks
        n = int(B.counts[1])
        code, ids, unit, t = B.code[:n], B.case[:n], B.unit[:n], B.t[:n]
        if hooks.heard("work_started"):
            on = code == EV_STARTED
            hooks.emit("work_started", ids[on], unit[on], t[on])
        if hooks.heard("bounced"):
            on = code == EV_BOUNCED
            hooks.emit("bounced", ids[on], unit[on])
        if hooks.heard("resolved"):
            on = code == EV_RESOLVED
            hooks.emit("resolved", ids[on], t[on])
        if hooks.heard("dropped"):
            hooks.emit("dropped", ids[code == EV_DROPPED])
        if self.bookings is not None:
            on = code == EV_BOOKED
            self.bookings.append((unit[on].copy(), t[on].copy(), B.aux[:n][on].copy()))
        B.counts[1] = 0


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Whether two tuples hold the same objects, item by item."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


_ONE, _TWO = np.uint64(1), np.uint64(2)
"""The event heap's positions are unsigned (as are the case ids, :func:`run_day`)."""


@njit(cache=True, inline="always")
def _push(B, t, i):  # type: ignore[no-untyped-def,unused-ignore]
    """Add event (t, i) to the heap in ``B`` (keyed by time, then case)."""
    k = np.uint64(B.counts[0])
    B.counts[0] += 1
    while k > 0:
        up = (k - _ONE) // _TWO
        if B.heap_t[up] < t or (B.heap_t[up] == t and B.heap_i[up] < i):
            break
        B.heap_t[k], B.heap_i[k] = B.heap_t[up], B.heap_i[up]
        k = up
    B.heap_t[k], B.heap_i[k] = t, i


@njit(cache=True, inline="always")
def _pop(B):  # type: ignore[no-untyped-def,unused-ignore]
    """Remove and return the heap's earliest event (t, i)."""
    t0, i0 = B.heap_t[0], B.heap_i[0]
    B.counts[0] -= 1
    n = np.uint64(B.counts[0])
    t, i, k = B.heap_t[n], B.heap_i[n], np.uint64(0)
    while True:
        c = _TWO * k + _ONE
        if c >= n:
            break
        d = c + _ONE
        if d < n and (
            B.heap_t[d] < B.heap_t[c] or (B.heap_t[d] == B.heap_t[c] and B.heap_i[d] < B.heap_i[c])
        ):
            c = d
        if t < B.heap_t[c] or (t == B.heap_t[c] and i < B.heap_i[c]):
            break
        B.heap_t[k], B.heap_i[k] = B.heap_t[c], B.heap_i[c]
        k = c
    B.heap_t[k], B.heap_i[k] = t, i
    return t0, i0


@njit(cache=True, _nrt=False)  # type: ignore[call-overload]
def run_day(F, day, due, due_t):  # type: ignore[no-untyped-def,unused-ignore]
    """Handle the events of cases ``due`` (sorted by their times ``due_t``, then id) and
    those they lead to before ``day + 1``, in time order (ties by case id), logging in
    ``F.buf``.

    The day's first events are read in order from ``due`` (from ``counts[2]`` on); an
    event a case gets at the very time of the one just handled is handled at once (no
    other event comes between: keys are distinct); one later in the day waits in the
    heap. The rules get the case's id unsigned: numba then reads its columns without the
    code for negative indices that a signed index takes at every read (signed, a
    town-year's flow took about a tenth longer); so are the positions in the due list and
    the heap, and the servers' in their heaps (:mod:`sim.core.queues`; a few per cent of
    the flow, ``benchmarks/speed_ab.py --part flow``). Returns 0 when the day's events are done,
    1 when the log is nearly full (emit it, reset ``count[1]`` and call again to resume),
    2 when the flow loops without time passing (an error). Compiled without reference
    counting (``_nrt=False``): it and the rules it inlines allocate nothing, so the many
    arrays they read cost nothing to pass.
    """
    C, B, end = F.cases, F.buf, day + 1.0
    room = B.code.size - 2 * MAX_JOBS - 2
    n_due = np.uint64(due.size)  # unsigned as the positions: compared without conversion to float
    while True:
        if B.counts[1] > room:
            return 1
        p = np.uint64(B.counts[2])
        if B.counts[0] > 0 and (
            p >= n_due or B.heap_t[0] < due_t[p] or (B.heap_t[0] == due_t[p] and B.heap_i[0] < due[p])
        ):
            t, i = _pop(B)
        elif p < n_due:
            t, i = due_t[p], due[p]
            B.counts[2] += 1
            if p + np.uint64(AHEAD) < n_due:
                warm(C, due[p + np.uint64(AHEAD)])
        else:
            return 0
        case = np.uint64(i)  # unsigned: numba indexes by it without handling negative indices
        for _ in range(EVENTS_AT_ONCE):
            st = C.stage[case]
            if st == DISPATCH:
                dispatch(F, case, t)
            elif st == TRANSIT:
                arrive(F, case, t)
            else:
                complete(F, case, t)
            st = C.stage[case]
            if not (DISPATCH <= st <= QUEUED and C.next_t[case] == t) or B.counts[1] > room:
                break
        else:
            return 2
        if DISPATCH <= st <= QUEUED and C.next_t[i] < end:
            _push(B, C.next_t[i], i)
