"""The day's moves of service requests, compiled (numba): :func:`run_rounds`.

The rules of :mod:`sim.core.mechanisms.one_window`, over its request columns: in each
round every request due before the day's end acts on its stage (at a desk, at the
window, behind the counter, served), the stages in that order, and the jobs of one act
are served at their units in order of arrival (:func:`sim.core.queues.serve`); rounds
repeat until no request is due. The random draws come from the one-window stream in the
order the acts make them, batch by batch (numba's ``Generator`` draws what NumPy's does).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.core.jit import njit
from sim.core.queues import serve
from sim.core.world import account

AT_DESK, AT_WINDOW, BACK, SERVED, DONE = range(5)


class Requests(NamedTuple):
    """The request columns the rounds read and write (``R``; floats, by request id), and
    each request's desk order (``domains``)."""

    stage: np.ndarray
    next_t: np.ndarray
    pos: np.ndarray
    steps: np.ndarray
    trips: np.ndarray
    proc: np.ndarray
    par: np.ndarray
    prechecked: np.ndarray
    completed: np.ndarray
    town: np.ndarray
    domains: np.ndarray


class Desks(NamedTuple):
    """The desks and windows, their servers and the work accounts (``D``; ``unit_busy``
    0×0 when not tracked)."""

    desk: np.ndarray
    window: np.ndarray
    free_at: np.ndarray
    heap: np.ndarray
    first: np.ndarray
    staff: np.ndarray
    calendar: np.ndarray
    calendars: np.ndarray
    unit_kind: np.ndarray
    busy: np.ndarray
    unit_busy: np.ndarray


class Rules(NamedTuple):
    """The scenario's settings for requests (``P``)."""

    precheck: bool
    incomplete: float
    step_hours: float
    window_hours: float
    trip_days: float


@njit(cache=True)
def run_rounds(R, D, P, rng, active, day, max_rounds):  # type: ignore[no-untyped-def,unused-ignore]
    """Move the requests ``active`` due before ``day + 1``, round after round.

    Returns the ids of the requests served today, in order; where each round's served
    end among them (``ends``: one entry per round that served any); the rounds taken
    (``max_rounds + 1`` when they were not enough: an error); and the requests of
    ``active`` still open.
    """
    served = np.empty(active.size, dtype=np.int64)
    ends = np.empty(active.size, dtype=np.int64)
    n = m = 0
    taken = max_rounds + 1
    for r in range(max_rounds):
        due = active[(R.stage[active] != DONE) & (R.next_t[active] < day + 1.0)]
        if due.size == 0:
            taken = r
            break
        stages = R.stage[due]
        for stage in (AT_DESK, AT_WINDOW, BACK, SERVED):
            ids = due[stages == stage]
            if ids.size == 0:
                continue
            if stage == AT_DESK:
                _at_desk(R, D, P, rng, ids)
            elif stage == AT_WINDOW:
                _at_window(R, D, P, rng, ids)
            elif stage == BACK:
                _back(R, D, P, rng, ids)
            else:
                for i in ids:
                    R.stage[i] = DONE
                    served[n] = i
                    n += 1
                ends[m] = n
                m += 1
    return served[:n], ends[:m], taken, active[R.stage[active] != DONE]


@njit(cache=True)
def _serve(D, P, unit, arrival, hours):  # type: ignore[no-untyped-def,unused-ignore]
    """Serve jobs at their units in order of arrival (ties in the given order) and account
    their hours (:func:`sim.core.world.account`); returns their finish times."""
    order = np.argsort(arrival, kind="mergesort")
    u, h = unit[order], hours[order]
    start, fin = serve(D.free_at, D.heap, D.first, D.staff, D.calendar, D.calendars, u, arrival[order], h)
    account(D.busy, D.unit_busy, D.unit_kind, u, start, h)
    finish = np.empty(arrival.size)
    finish[order] = fin
    return finish


@njit(cache=True)
def _at_desks(R, D, P, ids, pos):  # type: ignore[no-untyped-def,unused-ignore]
    """Serve a step of ``step_hours`` for each request ``ids`` at the desk of its
    ``pos``-th domain in its town; returns the finish times."""
    unit = np.empty(ids.size, dtype=np.int64)
    for j in range(ids.size):
        i = ids[j]
        unit[j] = D.desk[R.domains[i, pos[j]], int(R.town[i])]
    return _serve(D, P, unit, R.next_t[ids], np.full(ids.size, P.step_hours))


@njit(cache=True)
def _finish(R, i, at):  # type: ignore[no-untyped-def,unused-ignore]
    R.completed[i], R.stage[i], R.next_t[i] = at, SERVED, at


@njit(cache=True)
def _at_desk(R, D, P, rng, ids):  # type: ignore[no-untyped-def,unused-ignore]
    """A resident at a department's desk (no window)."""
    fin = _at_desks(R, D, P, ids, R.pos[ids].astype(np.int64))
    incomplete = rng.random(ids.size) < P.incomplete
    wait = rng.exponential(1.0, ids.size)
    trip = rng.exponential(P.trip_days, ids.size)
    for j in range(ids.size):
        i = ids[j]
        ready = fin[j] + wait[j] * R.proc[i]
        last = R.pos[i] + 1 >= R.steps[i]
        R.pos[i] += 0.0 if incomplete[j] else 1.0
        R.trips[i] += 1.0 if incomplete[j] or not last else 0.0
        R.next_t[i] = fin[j] + trip[j] if incomplete[j] else ready + trip[j]
        if not incomplete[j] and last:
            _finish(R, i, ready)


@njit(cache=True)
def _at_window(R, D, P, rng, ids):  # type: ignore[no-untyped-def,unused-ignore]
    """A resident at the one window: intake, precheck, then the file goes behind."""
    unit = np.empty(ids.size, dtype=np.int64)
    for j in range(ids.size):
        unit[j] = D.window[int(R.town[ids[j]])]
    fin = _serve(D, P, unit, R.next_t[ids], np.full(ids.size, P.window_hours))
    lacking = rng.random(ids.size) < P.incomplete
    trip = rng.exponential(P.trip_days, ids.size)
    for j in range(ids.size):
        i = ids[j]
        missing = lacking[j] and R.prechecked[i] == 0 and P.precheck
        R.prechecked[i] = 1.0
        R.trips[i] += 1.0 if missing else 0.0
        R.next_t[i] = fin[j] + trip[j] if missing else fin[j]
        if not missing:
            R.stage[i] = BACK


@njit(cache=True)
def _back(R, D, P, rng, ids):  # type: ignore[no-untyped-def,unused-ignore]
    """Behind the counter: desks work the file in parallel or in turn; no trips."""
    par = R.par[ids] > 0
    if not par.all():
        _back_in_turn(R, D, P, rng, ids[~par])
    ids = ids[par]
    if ids.size == 0:
        return
    k = R.steps[ids].astype(np.int64)
    case = np.empty(k.sum(), dtype=np.int64)
    pos = np.empty(k.sum(), dtype=np.int64)
    m = 0
    for j in range(ids.size):
        for s in range(k[j]):
            case[m], pos[m] = j, s
            m += 1
    fin = _at_desks(R, D, P, ids[case], pos)
    wait = rng.exponential(1.0, case.size)
    for m in range(case.size):
        fin[m] += wait[m] * R.proc[ids[case[m]]]
    fin += _rework(R, P, rng, ids[case])
    ready = np.full(ids.size, -np.inf)
    for m in range(case.size):
        ready[case[m]] = max(ready[case[m]], fin[m])
    for j in range(ids.size):
        _finish(R, ids[j], ready[j])


@njit(cache=True)
def _back_in_turn(R, D, P, rng, ids):  # type: ignore[no-untyped-def,unused-ignore]
    """Behind the counter, desks in turn: the file moves by hand-off, no trips."""
    fin = _at_desks(R, D, P, ids, R.pos[ids].astype(np.int64))
    wait = rng.exponential(1.0, ids.size)
    again = _rework(R, P, rng, ids)
    for j in range(ids.size):
        i = ids[j]
        ready = fin[j] + wait[j] * R.proc[i] + again[j]
        R.pos[i] += 1.0
        R.next_t[i] = ready
        if R.pos[i] >= R.steps[i]:
            _finish(R, i, ready)


@njit(cache=True)
def _rework(R, P, rng, ids):  # type: ignore[no-untyped-def,unused-ignore]
    """Without a precheck a desk may find the file incomplete: the resident comes again
    (a trip, counted on the request) and the step waits for him; returns the delays."""
    if P.precheck:
        return np.zeros(ids.size)
    again = rng.random(ids.size) < P.incomplete
    for j in range(ids.size):
        R.trips[ids[j]] += 1.0 if again[j] else 0.0
    trip = rng.exponential(P.trip_days, ids.size)
    return np.where(again, trip, 0.0)
