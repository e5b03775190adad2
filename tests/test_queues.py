"""The FIFO multi-server kernel and the working calendar, on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.params import Shift
from sim.core.queues import advance, next_open, serve, server_heap, shift_array, working_days

OFFICE = shift_array(Shift(start_hour=9, hours_per_day=8, days_per_week=5))  # 9:00-17:00 Mon-Fri
ALWAYS = shift_array(Shift(start_hour=0, hours_per_day=24, days_per_week=7))


def h(day: float, hour: float) -> float:
    return day + hour / 24


def test_next_open() -> None:
    assert next_open(h(0, 7), *OFFICE) == pytest.approx(h(0, 9))
    assert next_open(h(0, 10), *OFFICE) == pytest.approx(h(0, 10))
    assert next_open(h(0, 18), *OFFICE) == pytest.approx(h(1, 9))
    assert next_open(h(4, 17), *OFFICE) == pytest.approx(h(7, 9))  # Friday evening -> Monday
    assert next_open(h(5, 12), *OFFICE) == pytest.approx(h(7, 9))  # Saturday
    assert next_open(h(5, 12), *ALWAYS) == pytest.approx(h(5, 12))


def test_advance_spans_nights_and_weekends() -> None:
    assert advance(h(0, 9), 3.0, *OFFICE) == pytest.approx(h(0, 12))
    assert advance(h(0, 15), 4.0, *OFFICE) == pytest.approx(h(1, 11))
    assert advance(h(4, 16), 2.0, *OFFICE) == pytest.approx(h(7, 10))
    assert advance(h(0, 23), 2.0, *ALWAYS) == pytest.approx(h(1, 1))


def test_serve_fifo_two_servers() -> None:
    free = np.zeros(2)
    first, n, cal = np.array([0]), np.array([2]), np.array([0])
    unit = np.zeros(4, dtype=np.int64)
    arrival = np.array([h(0, 0), h(0, 1), h(0, 2), h(0, 3)])
    hours = np.array([5.0, 5.0, 1.0, 1.0])
    start, finish = serve(free, server_heap(n), first, n, cal, ALWAYS[None, :], unit, arrival, hours)
    np.testing.assert_allclose(start * 24, [0, 1, 5, 6])
    np.testing.assert_allclose(finish * 24, [5, 6, 6, 7])
    np.testing.assert_allclose(np.sort(free) * 24, [6, 7])


def test_serve_keeps_units_apart_and_respects_calendar() -> None:
    free = np.zeros(2)
    first, n, cal = np.array([0, 1]), np.array([1, 1]), np.array([0, 1])
    calendars = np.stack([OFFICE, ALWAYS])
    unit = np.array([0, 1, 0], dtype=np.int64)
    arrival = np.array([h(0, 20), h(0, 20), h(0, 21)])
    start, finish = serve(
        free, server_heap(n), first, n, cal, calendars, unit, arrival, np.array([2.0, 2.0, 1.0])
    )
    np.testing.assert_allclose(start, [h(1, 9), h(0, 20), h(1, 11)])
    np.testing.assert_allclose(finish, [h(1, 11), h(0, 22), h(1, 12)])


def test_working_days() -> None:
    assert working_days(Shift(days_per_week=5), 14) == 10
    assert working_days(Shift(days_per_week=7), 10) == 10


def test_the_weekday_without_fmod_is_the_remainder() -> None:
    """The queues' weekday (no ``fmod``) is ``day % 7`` exactly, over more days than any
    run has (and past 2**31)."""
    from sim.core.queues import _weekday

    days = np.concatenate([np.arange(0.0, 100_000.0), 2.0**31 + np.arange(0.0, 1_000.0)])
    assert all(_weekday(d) == d % 7.0 for d in days)
