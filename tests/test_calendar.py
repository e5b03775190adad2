"""The ledger's calendar lists exactly the cases due each day (:mod:`sim.core.calendar`).

Every day of a run, the cases the calendar gives the case flow and the closing are
those a pass over every open case finds (at a flow stage, or in verification, with the
next event before the day's end; in time then id order), the active set afterwards is
the open cases, and at the day's end the calendar's lists hold each open case at a flow
stage or in verification once and nothing else: over every shipped scenario, one that
drops cases at the bounce limit, one whose grid supervisors reopen poor resolutions,
a model stepped past its horizon, and one whose ledger (and calendar) grow.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import sim
from sim.core import model as model_module
from sim.core.ledger import Ledger, Stage
from sim.core.model import GovModel
from sim.core.scenarios import builtin_scenarios
from tests.conftest import SMALL
from tests.test_life_cycle import BOUNCING, POOR

FLOW = (Stage.DISPATCH, Stage.QUEUED)


def _in_time_then_id_order(ids: np.ndarray, t: np.ndarray) -> np.ndarray:
    return ids[np.lexsort((ids, t[ids]))]


def _checked(m: GovModel) -> dict[str, int]:
    """Hold the ledger's daily queries to passes over the open cases; count what they gave."""
    L, seen = m.ledger, {"due": 0, "closed": 0, "dropped": 0}
    due_today, close_due = L.due_today, L.close_due
    closed: list[np.ndarray] = []
    m.world.hooks.subscribe("closed", closed.append)

    def due(day: int) -> tuple[np.ndarray, np.ndarray]:
        a = L.active
        st = L.stage[a]
        ref = _in_time_then_id_order(a[(st >= FLOW[0]) & (st <= FLOW[1]) & (L.next_t[a] < day + 1)], L.next_t)
        ids, t = due_today(day)
        assert np.array_equal(ids, ref) and np.array_equal(t, L.next_t[ref]), f"day {day}: due"
        seen["due"] += ids.size
        return ids, t

    def close(day: int) -> None:
        a = L.active
        st = L.stage[a]
        ending = _in_time_then_id_order(a[(st == Stage.CLOSING) & (L.next_t[a] < day + 1)], L.next_t)
        dropped = a[st == Stage.DROPPED]
        closed.clear()
        close_due(day)
        assert np.array_equal(np.concatenate(closed), ending), f"day {day}: closings"
        assert np.array_equal(L.active, np.setdiff1d(a, np.concatenate([ending, dropped]))), f"day {day}"
        seen["closed"] += ending.size
        seen["dropped"] += dropped.size

    L.due_today, L.close_due = due, close  # type: ignore[method-assign]
    return seen


def _on_lists(L: Ledger) -> np.ndarray:
    """Every id on the calendar's lists (in chunk order)."""
    K = L.calendar
    free = K.free[1 : K.free[0] + 1]
    used = np.setdiff1d(np.arange(K.chunks.shape[0]), free)
    return np.concatenate([K.slots[c, : K.chunks[c, 1]] for c in used] or [np.empty(0, np.int64)])


def _run(m: GovModel, steps: int) -> dict[str, int]:
    seen = _checked(m)
    L = m.ledger
    for _ in range(steps):
        m.step()
        on = _on_lists(L)
        a = L.active
        waiting = a[(L.stage[a] >= FLOW[0]) & (L.stage[a] <= Stage.CLOSING)]
        assert on.size == np.unique(on).size and np.array_equal(np.sort(on), waiting), f"day {m.day}"
    return seen


CASES = [(s, {}) for s in builtin_scenarios()] + [("baseline", BOUNCING), ("wujiang_grid_linkage", POOR)]


@pytest.mark.parametrize(("scenario", "over"), CASES, ids=[f"{s}{'+' if o else ''}" for s, o in CASES])
def test_each_days_lists_are_the_cases_due(scenario: str, over: dict[str, Any]) -> None:
    m = GovModel(sim.load_scenario(scenario, overrides={**SMALL, **over}), seed=2, days=45)
    seen = _run(m, 45)
    assert seen["due"] > 500 and seen["closed"] > 100
    if over is BOUNCING:
        assert seen["dropped"] > 0


def test_a_model_stepped_past_its_horizon_keeps_its_calendar() -> None:
    m = GovModel(sim.load_scenario("reform", overrides=SMALL), seed=4, days=10)
    seen = _run(m, 30)  # days 10 to 29 read the last day's list
    assert seen["closed"] > 100


def test_a_growing_ledger_keeps_its_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    class SmallLedger(Ledger):
        def __init__(self, capacity: int, *args: Any, **kwargs: Any) -> None:
            super().__init__(16, *args, **kwargs)  # grows many times

    monkeypatch.setattr(model_module, "Ledger", SmallLedger)
    m = model_module.GovModel(sim.load_scenario("baseline", overrides=SMALL), seed=3, days=30)
    seen = _run(m, 30)
    assert m.ledger.calendar.chunks.shape[0] > 10 and seen["due"] > 100
