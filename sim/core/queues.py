"""First-come-first-served multi-server queues on working calendars (numba kernels).

Each handling unit has ``n`` servers (staff) whose next free times live in one array
(``free_at``), and a binary min-heap of its server indices keyed by (free time, index)
in another (``heap``: positions ``first .. first+n-1`` hold the unit's heap, so the
server free first is at ``heap[first]``; a unit of a thousand staff costs a few steps per
job, not a thousand). A job arriving at time ``a`` with ``w`` hours of work goes to the
unit's server that is free first (ties: the lowest server index); it starts at the first working moment not
before ``max(a, free)`` and ends when ``w`` working hours have passed on the unit's
calendar (Kiefer–Wolfowitz recurrence). Jobs are served in the order they are given,
which the callers make arrival order. Times are days since the start (floats).
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import njit
from sim.core.params import Shift


def shift_array(shift: Shift) -> np.ndarray:
    """A calendar as ``[open, close, days_per_week]`` (open/close as fractions of a day)."""
    return np.array(
        [shift.start_hour / 24.0, (shift.start_hour + shift.hours_per_day) / 24.0, float(shift.days_per_week)]
    )


@njit(cache=True, inline="always")
def _weekday(day: float) -> float:
    """``day % 7`` of a whole, non-negative day, exact (without a call to fmod)."""
    return day - 7.0 * np.floor(day / 7.0)


@njit(cache=True)
def next_open(t: float, open_: float, close: float, dpw: float) -> float:
    """The first working moment at or after ``t``."""
    day = np.floor(t)
    frac = t - day
    if _weekday(day) < dpw and frac < close - 1e-12:
        return day + max(frac, open_)
    day += 1.0
    while _weekday(day) >= dpw:
        day += 1.0
    return day + open_


@njit(cache=True)
def advance(t: float, hours: float, open_: float, close: float, dpw: float) -> float:
    """The moment ``hours`` working hours after the working moment ``t``."""
    remaining = hours / 24.0
    while True:
        t = next_open(t, open_, close, dpw)
        end = np.floor(t) + close
        if remaining <= end - t + 1e-12:
            return t + remaining
        remaining -= end - t
        t = end


def server_heap(staff: np.ndarray) -> np.ndarray:
    """The servers' heaps while every server is free: each unit's servers in index order."""
    return np.arange(int(staff.sum()), dtype=np.int64)


@njit(cache=True)
def _book(free_at, heap, s0, cal, arrival, hours):  # type: ignore[no-untyped-def,unused-ignore]
    """Book one job on the first-free server of the unit whose heap starts at ``s0``:
    (server, start, finish); :func:`_take` commits it. (Here and in :func:`_take` the
    indices are unsigned, so numba reads the arrays without handling negative indices.)"""
    best = heap[np.uint64(s0)]
    t = next_open(max(arrival, free_at[np.uint64(best)]), cal[0], cal[1], cal[2])
    return best, t, advance(t, hours, cal[0], cal[1], cal[2])


@njit(cache=True)
def _take(free_at, heap, s0, n, finish):  # type: ignore[no-untyped-def,unused-ignore]
    """The unit's first-free server (its heap's root) is busy until ``finish``: set it and
    sift it down its heap (``heap[s0 : s0+n]``)."""
    s0, n = np.uint64(s0), np.uint64(n)  # unsigned: read without the code for negative indices
    one, two = np.uint64(1), np.uint64(2)
    item = heap[s0]
    free_at[np.uint64(item)] = finish
    k = np.uint64(0)
    while True:
        c = two * k + one
        if c >= n:
            break
        a = heap[s0 + c]
        fa = free_at[np.uint64(a)]
        if c + one < n:
            b = heap[s0 + c + one]
            fb = free_at[np.uint64(b)]
            if fb < fa or (fb == fa and b < a):
                c, a, fa = c + one, b, fb
        if finish < fa or (finish == fa and item < a):
            break
        heap[s0 + k] = a
        k = c
    heap[s0 + k] = item


@njit(cache=True)
def serve(free_at, heap, first, n_servers, unit_calendar, calendars, unit, arrival, hours):  # type: ignore[no-untyped-def,unused-ignore]
    """Serve jobs in the given order; returns their start and finish times.

    Args:
        free_at, heap: every server's next free time and the units' heaps (updated in place).
        first, n_servers: each unit's first server index and number of servers.
        unit_calendar: each unit's row in ``calendars`` (rows of ``shift_array``).
        unit, arrival, hours: the jobs' unit, arrival time and hours of work.
    """
    m = unit.shape[0]
    start = np.empty(m)
    finish = np.empty(m)
    for i in range(m):
        u = unit[i]
        _, start[i], finish[i] = _book(
            free_at, heap, first[u], calendars[unit_calendar[u]], arrival[i], hours[i]
        )
        _take(free_at, heap, first[u], n_servers[u], finish[i])
    return start, finish


@njit(cache=True, inline="always")
def book(U, unit, arrival, hours, deadline, give_up):  # type: ignore[no-untyped-def,unused-ignore]
    """Book one job at ``unit`` (jobs come in arrival order): start, finish, whether it is
    worked in overtime, and whether it is taken.

    ``U`` holds the servers (``free_at``, ``heap``, ``overtime_free_at``,
    ``overtime_heap``, ``first``, ``staff``, ``calendar``, ``calendars``,
    ``overtime_calendars``). A job whose regular finish is
    after ``deadline`` is worked in overtime instead (the unit's servers, on the row of
    ``overtime_calendars``) when that finishes sooner; a row with no working days has no
    overtime. A job whose start (regular or overtime, as chosen) would be after
    ``give_up`` is not taken: no server's time is used (start and finish NaN).
    """
    s0, n, row = U.first[unit], U.staff[unit], U.calendar[unit]
    _, start, finish = _book(U.free_at, U.heap, s0, U.calendars[row], arrival, hours)
    ot = U.overtime_calendars[row]
    if finish > deadline and ot[2] > 0:
        _, ot_start, ot_finish = _book(U.overtime_free_at, U.overtime_heap, s0, ot, arrival, hours)
        if ot_finish < finish and ot_start <= give_up:
            _take(U.overtime_free_at, U.overtime_heap, s0, n, ot_finish)
            return ot_start, ot_finish, True, True
    if start > give_up:
        return np.nan, np.nan, False, False
    _take(U.free_at, U.heap, s0, n, finish)
    return start, finish, False, True


def overtime_array(shift: Shift, hours_per_day: float) -> np.ndarray:
    """The overtime calendar after a shift: ``hours_per_day`` from its close, every day.

    No working days (none possible) where the shift leaves no such hours in the day.
    """
    close = (shift.start_hour + shift.hours_per_day) / 24.0
    if hours_per_day <= 0 or close + hours_per_day / 24.0 > 1.0 + 1e-9:
        return np.array([0.0, 0.0, 0.0])
    return np.array([close, close + hours_per_day / 24.0, 7.0])


def working_days(shift: Shift, days: int) -> int:
    """Number of working days of a calendar in the first ``days`` days."""
    return int(sum(1 for d in range(days) if d % 7 < shift.days_per_week))
