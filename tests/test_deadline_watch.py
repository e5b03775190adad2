"""The command centre's deadline watch: supervised cases are worked in overtime."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import sim
from sim.core.params import Shift
from sim.core.queues import book, overtime_array, serve, shift_array
from tests.conftest import REFERENCE

OFFICE = Shift(start_hour=9, hours_per_day=8, days_per_week=5)  # 9:00-17:00 Mon-Fri


def h(day: float, hour: float) -> float:
    return day + hour / 24


def test_overtime_calendar_follows_the_shift_every_day() -> None:
    np.testing.assert_allclose(overtime_array(OFFICE, 2.0), [17 / 24, 19 / 24, 7])
    assert overtime_array(Shift(start_hour=0, hours_per_day=24, days_per_week=7), 2.0)[2] == 0
    assert overtime_array(OFFICE, 0.0)[2] == 0


class Servers(NamedTuple):
    """One unit's servers, as :func:`sim.core.queues.book` reads them."""

    free_at: np.ndarray
    heap: np.ndarray
    overtime_free_at: np.ndarray
    overtime_heap: np.ndarray
    first: np.ndarray
    staff: np.ndarray
    calendar: np.ndarray
    calendars: np.ndarray
    overtime_calendars: np.ndarray


def _watched(
    deadline: np.ndarray, overtime_hours: float = 2.0, give_up: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """One office unit with one server, busy until Monday 17:00; three 1-hour jobs on Monday,
    booked in arrival order. Returns start, finish, overtime (and, when ``give_up`` is
    given, booked)."""
    U = Servers(
        np.array([h(0, 17)]),
        np.zeros(1, dtype=np.int64),
        np.zeros(1),
        np.zeros(1, dtype=np.int64),
        np.array([0]),
        np.array([1]),
        np.array([0]),
        shift_array(OFFICE)[None, :],
        overtime_array(OFFICE, overtime_hours)[None, :],
    )
    arrival = np.array([h(0, 10), h(0, 11), h(0, 12)])
    limit = np.full(3, np.inf) if give_up is None else give_up
    jobs = [book(U, 0, arrival[k], 1.0, deadline[k], limit[k]) for k in range(3)]
    out = tuple(np.array(col) for col in zip(*jobs, strict=True))
    return out[: 3 if give_up is None else 4]


def test_jobs_that_would_miss_their_deadline_are_worked_in_overtime() -> None:
    # job 0 is due Monday 20:00: its regular slot (Tuesday 9-10) is late, overtime (17-18) is not;
    # job 1 has no deadline; job 2 is due Tuesday noon and its regular slot (10-11) meets it
    start, finish, overtime = _watched(np.array([h(0, 20), np.inf, h(1, 12)]))
    np.testing.assert_array_equal(overtime, [True, False, False])
    np.testing.assert_allclose(start, [h(0, 17), h(1, 9), h(1, 10)])
    np.testing.assert_allclose(finish, [h(0, 18), h(1, 10), h(1, 11)])


def test_overtime_only_when_it_is_sooner_and_exists() -> None:
    # the second overdue job finds the overtime hour taken: Monday's evening is full,
    # Tuesday's evening (17-18) is later than the regular Tuesday 9-10 slot
    start, _, overtime = _watched(np.array([h(0, 12), h(0, 12), np.inf]), overtime_hours=1.0)
    np.testing.assert_array_equal(overtime, [True, False, False])
    np.testing.assert_allclose(start, [h(0, 17), h(1, 9), h(1, 10)])
    _, _, none = _watched(np.zeros(3), overtime_hours=0.0)
    assert not none.any()


def test_without_deadlines_it_is_the_plain_kernel() -> None:
    free = np.array([h(0, 17)])
    plain = serve(
        free.copy(),
        np.zeros(1, dtype=np.int64),
        np.array([0]),
        np.array([1]),
        np.array([0]),
        shift_array(OFFICE)[None, :],
        np.zeros(3, dtype=np.int64),
        np.array([h(0, 10), h(0, 11), h(0, 12)]),
        np.ones(3),
    )
    start, finish, overtime, booked = _watched(np.full(3, np.inf), give_up=np.full(3, np.inf))
    assert booked.all()
    np.testing.assert_allclose(start, plain[0])
    np.testing.assert_allclose(finish, plain[1])
    assert not overtime.any()


def test_jobs_that_could_not_start_before_they_are_given_up_are_not_taken() -> None:
    # job 0 would start Tuesday 9:00, after its give-up Monday 20:00: not booked, and job 1
    # (no give-up) takes its slot; job 2 gives up Tuesday noon and starts at 10:00
    start, finish, _, booked = _watched(np.full(3, np.inf), give_up=np.array([h(0, 20), np.inf, h(1, 12)]))
    np.testing.assert_array_equal(booked, [False, True, True])
    assert np.isnan(start[0]) and np.isnan(finish[0])
    np.testing.assert_allclose(start[1:], [h(1, 9), h(1, 10)])


@pytest.fixture(scope="module")
def watched_runs() -> dict[bool, sim.RunResult]:
    """An overloaded baseline given a command centre, with and without the watch (same seed)."""
    runs = {}
    for watch in (False, True):
        sc = sim.load_scenario(
            "baseline",
            context=REFERENCE,
            overrides={
                "population.residents": 40_000,
                "dispatch.command_centre": True,
                "dispatch.deadline_watch": watch,
            },
        )
        runs[watch] = sim.run(sc, seed=3, days=120)
    return runs


def test_the_watch_meets_more_deadlines_at_the_cost_of_overtime(
    watched_runs: dict[bool, sim.RunResult],
) -> None:
    off, on = watched_runs[False].summary, watched_runs[True].summary
    assert off["supervised_share"] == 0 and off["overtime_hours"] == 0
    assert on["supervised_share"] > 0 and on["overtime_hours"] > 0
    assert on["completion_within_deadline_rate"] > off["completion_within_deadline_rate"]
    assert on["staff_hours"] == pytest.approx(off["staff_hours"] + on["overtime_hours"])
    # common random numbers: the same issues occur
    np.testing.assert_array_equal(
        watched_runs[False].cases["occurred_at"], watched_runs[True].cases["occurred_at"]
    )


def test_supervised_cases_were_discovered_and_worked(watched_runs: dict[bool, sim.RunResult]) -> None:
    cases = watched_runs[True].cases
    sup = cases[cases["supervised"]]
    assert len(sup) > 0
    assert sup["discovered_at"].notna().all() and sup["handling_started_at"].notna().all()
