"""First-come-first-served multi-server queues on working calendars (numba kernels).

Each handling unit has ``n`` servers (staff) whose next free times live in one array.
A job arriving at time ``a`` with ``w`` hours of work goes to the unit's server that is
free first (ties: the lowest server index); it starts at the first working moment not
before ``max(a, free)`` and ends when ``w`` working hours have passed on the unit's
calendar (Kiefer–Wolfowitz recurrence). Jobs are served in the order they are given,
which the callers make arrival order. Times are days since the start (floats).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.core.params import Shift


def shift_array(shift: Shift) -> np.ndarray:
    """A calendar as ``[open, close, days_per_week]`` (open/close as fractions of a day)."""
    return np.array(
        [shift.start_hour / 24.0, (shift.start_hour + shift.hours_per_day) / 24.0, float(shift.days_per_week)]
    )


@njit(cache=True)
def next_open(t: float, open_: float, close: float, dpw: float) -> float:
    """The first working moment at or after ``t``."""
    day = np.floor(t)
    frac = t - day
    if (day % 7.0) < dpw and frac < close - 1e-12:
        return day + max(frac, open_)
    day += 1.0
    while (day % 7.0) >= dpw:
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


@njit(cache=True)
def _book(free_at, s0, n, cal, arrival, hours):  # type: ignore[no-untyped-def,unused-ignore]
    """Book one job on the first-free of servers ``s0 .. s0+n-1``: (server, start, finish)."""
    best = s0
    for s in range(s0 + 1, s0 + n):
        if free_at[s] < free_at[best]:
            best = s
    t = next_open(max(arrival, free_at[best]), cal[0], cal[1], cal[2])
    return best, t, advance(t, hours, cal[0], cal[1], cal[2])


@njit(cache=True)
def serve(free_at, first, n_servers, unit_calendar, calendars, unit, arrival, hours):  # type: ignore[no-untyped-def,unused-ignore]
    """Serve jobs in the given order; returns their start and finish times.

    Args:
        free_at: next free time of every server (updated in place).
        first, n_servers: each unit's first server index and number of servers.
        unit_calendar: each unit's row in ``calendars`` (rows of ``shift_array``).
        unit, arrival, hours: the jobs' unit, arrival time and hours of work.
    """
    m = unit.shape[0]
    start = np.empty(m)
    finish = np.empty(m)
    for i in range(m):
        u = unit[i]
        best, start[i], finish[i] = _book(
            free_at, first[u], n_servers[u], calendars[unit_calendar[u]], arrival[i], hours[i]
        )
        free_at[best] = finish[i]
    return start, finish


@njit(cache=True)
def serve_watched(
    free_at: np.ndarray,
    overtime_free_at: np.ndarray,
    first: np.ndarray,
    n_servers: np.ndarray,
    unit_calendar: np.ndarray,
    calendars: np.ndarray,
    overtime_calendars: np.ndarray,
    unit: np.ndarray,
    arrival: np.ndarray,
    hours: np.ndarray,
    deadline: np.ndarray,
    give_up: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`serve`, with overtime for jobs that would finish past their deadline, and
    jobs that are not taken when they could not start before they are given up.

    A job whose regular finish is after ``deadline`` is worked in overtime instead (its
    unit's servers, on the row of ``overtime_calendars``: ``free_at`` of those hours in
    ``overtime_free_at``) when that finishes sooner; a row with no working days has no
    overtime. A job whose start (regular or overtime, as chosen) would be after
    ``give_up`` is not booked: no server's time is taken. Returns start, finish (NaN for
    jobs not booked), whether each job was worked in overtime, and whether it was booked.
    """
    m = unit.shape[0]
    start = np.empty(m)
    finish = np.empty(m)
    overtime = np.zeros(m, dtype=np.bool_)
    booked = np.ones(m, dtype=np.bool_)
    for i in range(m):
        u = unit[i]
        s0, n, row = first[u], n_servers[u], unit_calendar[u]
        best, start[i], finish[i] = _book(free_at, s0, n, calendars[row], arrival[i], hours[i])
        ot = overtime_calendars[row]
        if finish[i] > deadline[i] and ot[2] > 0:
            ot_best, ot_start, ot_finish = _book(overtime_free_at, s0, n, ot, arrival[i], hours[i])
            if ot_finish < finish[i] and ot_start <= give_up[i]:
                overtime[i], start[i], finish[i] = True, ot_start, ot_finish
                overtime_free_at[ot_best] = ot_finish
                continue
        if start[i] > give_up[i]:
            booked[i], start[i], finish[i] = False, np.nan, np.nan
            continue
        free_at[best] = finish[i]
    return start, finish, overtime, booked


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
