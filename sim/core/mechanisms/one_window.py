"""Service requests (approvals) and the one window (便民服务一窗口; 000: 8 → 3 days).

A request needs approvals from ``k`` departments (``steps_probabilities``), drawn from
the ``requests`` stream only (common random numbers across scenarios; drawn
:data:`~sim.core.rng.BLOCK_DAYS` days at a time). Requests are made on office working
days, during office hours.

*Without one window* the resident takes the file to each department's desk in turn:
each visit is a trip; the desk works ``step_hours``; with ``incomplete_probability`` the
materials are incomplete and the resident must come back (another trip); otherwise the
department signs after an exponential ``processing_days`` and the resident makes the
next trip after an exponential ``trip_interval_days``.

*With one window* the resident makes one trip to the town's counter (``window_hours``);
with ``precheck`` the counter finds every missing item at once (at most one more trip),
without it each desk's finding costs another trip. Behind the counter the file goes to
the desks at once (``parallel``) or one after another, by hand-off, with no trips.

When the approval is in hand, the resident's satisfaction moves as after a closed case,
by the days it took (hook ``served``, :meth:`sim.core.mechanisms.population.Population.served`).
The requests arrive here (numpy, drawn ahead); their day's moves are compiled
(:mod:`sim.core.mechanisms.one_window_rounds`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.core.jit import Pinned
from sim.core.mechanisms.one_window_rounds import (
    AT_DESK,
    AT_WINDOW,
    BACK,
    DONE,
    Desks,
    Requests,
    Rules,
    run_rounds,
)
from sim.core.rng import BLOCK_DAYS
from sim.errors import GovsimError

if TYPE_CHECKING:
    from sim.core.world import World

MAX_ROUNDS = 10_000
_FIELDS = {
    "kind": 0,  # 0 an ordinary request, 1 a "one thing"
    "proc": 0.0,  # mean processing days per step
    "par": 0,  # 1 if desks work in parallel behind the counter
    "submitted": np.nan,
    "completed": np.nan,
    "trips": 0,
    "steps": 0,
    "pos": 0,
    "stage": DONE,
    "next_t": np.inf,
    "town": 0,
    "resident": 0,
    "prechecked": 0,
}
_ROW = {k: j for j, k in enumerate(_FIELDS)}
"""Each field's row in the request table (:attr:`OneWindow.fields`)."""
_DEFAULTS = np.array(list(_FIELDS.values()), dtype=float)


class Arrivals(NamedTuple):
    """Requests drawn ahead, in order of their days: time, steps (0 where the kind of
    request sets them), desk order, resident, town."""

    t: np.ndarray
    steps: np.ndarray
    perm: np.ndarray
    resident: np.ndarray
    town: np.ndarray


class Block(NamedTuple):
    """The requests of one kind drawn for a block of days from ``first``, as they enter:
    their rows of the request table (``values``, a column a request) and desk orders
    (``domains``), and where each day's start among them (``bounds``)."""

    first: int
    values: np.ndarray
    domains: np.ndarray
    bounds: np.ndarray


class OneWindow:
    """Takes service requests and moves them through desks (and the window)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.demand = world.stream("requests")
        self.one_thing = world.stream("one_thing_requests")
        self.rng = world.stream("one_window")
        self.n = 0
        self.fields = np.repeat(_DEFAULTS[:, None], 64, axis=1)
        """The requests' fields (:data:`_FIELDS`), a row each, a column a request."""
        self.cols = {k: self.fields[j] for k, j in _ROW.items()}
        p = world.params
        self.width = max(len(p.domains), p.service_requests.one_thing.steps)
        self.domains = np.full((64, self.width), -1, dtype=np.int64)
        self.active = np.empty(0, dtype=np.int64)
        self._blocks: dict[str, Block] = {}
        sr = p.service_requests
        self.rules = Rules(
            bool(p.one_window.precheck), float(sr.incomplete_probability), float(sr.step_hours),
            float(p.one_window.window_hours), float(sr.trip_interval_days),
        )  # fmt: skip
        self._run_rounds = Pinned(run_rounds)

    def step(self, day: int) -> None:
        """Take today's requests (ordinary, then "one thing") and move every request due today."""
        self._enter("ordinary", day)
        self._enter("one_thing", day)
        self._rounds(day)

    def _enter(self, kind: str, day: int) -> None:
        """Today's requests of ``kind`` join the table (none on the offices' days off), as
        drawn with their block (:meth:`_block`): one copy of their columns."""
        block = self._block(kind, day)
        k = day - block.first
        lo, hi = int(block.bounds[k]), int(block.bounds[k + 1])
        if hi == lo or day % 7 >= self.world.params.calendar.office.days_per_week:
            return
        rows = self._add(hi - lo)
        self.fields[:, rows] = block.values[:, lo:hi]
        self.domains[rows] = block.domains[lo:hi]

    def _block(self, kind: str, day: int) -> Block:
        """The block of requests of ``kind`` that holds ``day``, drawn when the day leaves
        the last one."""
        block = self._blocks.get(kind)
        if block is None or not 0 <= day - block.first < BLOCK_DAYS:
            a, bounds = self._draw(kind, day)
            block = self._blocks[kind] = Block(day, self._values(kind, a), self._cycle(a.perm), bounds)
        return block

    def _values(self, kind: str, a: Arrivals) -> np.ndarray:
        """The table's columns of requests ``a`` of ``kind`` as they enter: submitted (and
        next due) at their time, one trip made. An ordinary request goes to the window or
        the first desk; a "one thing" goes department by department, through the window,
        or (with a lead department, 004) in fewer steps coordinated by the lead in
        parallel."""
        p = self.world.params
        sr, ot, lead = p.service_requests, p.service_requests.one_thing, p.departments.lead_department
        first = AT_WINDOW if p.one_window.enabled else AT_DESK
        out = np.repeat(_DEFAULTS[:, None], a.t.size, axis=1)
        r = _ROW
        out[r["submitted"]], out[r["next_t"]], out[r["town"]] = a.t, a.t, a.town
        out[r["resident"]], out[r["trips"]] = a.resident, 1
        if kind == "ordinary":
            out[r["steps"]], out[r["stage"]] = a.steps, first
            out[r["proc"]], out[r["par"]] = sr.processing_days, float(p.one_window.parallel)
        else:
            out[r["kind"]], out[r["proc"]] = 1, ot.processing_days
            out[r["steps"]] = ot.steps_with_lead if lead else ot.steps
            out[r["par"]] = 1.0 if lead else float(p.one_window.parallel)
            out[r["stage"]] = BACK if lead else first
        return out

    def _draw(self, kind: str, first: int) -> tuple[Arrivals, np.ndarray]:
        """The requests of ``kind`` of the block of days from ``first`` (every day, worked
        or not), on its own stream, and where each day's start among them."""
        p, m = self.world.params, self.world
        sr, cal = p.service_requests, p.calendar.office
        ordinary = kind == "ordinary"
        rng = self.demand if ordinary else self.one_thing
        rate = sr.rate_per_1000_per_day if ordinary else sr.one_thing.rate_per_1000_per_day
        counts = rng.poisson(rate * p.population.residents / 1000.0, BLOCK_DAYS)
        n = int(counts.sum())
        day = np.repeat(np.arange(first, first + BLOCK_DAYS, dtype=float), counts)
        t = day + (cal.start_hour + rng.random(n) * cal.hours_per_day) / 24.0
        steps = np.zeros(n, dtype=np.int64)
        if ordinary:
            cum = np.cumsum(sr.steps_probabilities)
            steps = 1 + np.searchsorted(cum, rng.random(n) * sum(sr.steps_probabilities), side="right")
            steps = steps.clip(1, len(sr.steps_probabilities))
        perm = np.argsort(rng.random((n, len(p.domains))), axis=1)
        resident = rng.integers(0, p.population.residents, n)
        town = m.places.town_of_grid[m.places.grid_of(resident)]
        return Arrivals(t, steps, perm, resident, town), np.concatenate(([0], np.cumsum(counts)))

    def _cycle(self, perm: np.ndarray) -> np.ndarray:
        """Desk order per request, repeating the domains when a request has more steps."""
        return perm[:, np.arange(self.width) % perm.shape[1]]

    def _add(self, n: int) -> slice:
        """Room for ``n`` new requests: their rows (ids), which join the active ones."""
        if self.n + n > self.fields.shape[1]:
            cap = 2 * (self.n + n)
            table = np.repeat(_DEFAULTS[:, None], cap, axis=1)
            table[:, : self.n] = self.fields[:, : self.n]
            self.fields, self.cols = table, {k: table[j] for k, j in _ROW.items()}
            dom = np.full((cap, self.domains.shape[1]), -1, dtype=np.int64)
            dom[: self.n] = self.domains[: self.n]
            self.domains = dom
        rows = slice(self.n, self.n + n)
        self.active = np.concatenate([self.active, np.arange(self.n, self.n + n)])
        self.n += n
        return rows

    def _rounds(self, day: int) -> None:
        """Move every request due today (:func:`run_rounds`); the residents served learn,
        round by round (hook ``served``)."""
        c, w = self.cols, self.world
        U, work = w.units, w.work
        R = Requests(
            c["stage"], c["next_t"], c["pos"], c["steps"], c["trips"], c["proc"], c["par"],
            c["prechecked"], c["completed"], c["town"], self.domains,
        )  # fmt: skip
        D = Desks(
            U.desk, U.window, U.free_at, U.heap, U.first, U.staff, U.calendar, U.calendars,
            work.unit_kind, work.busy, work.by_unit(),
        )  # fmt: skip
        args = (R, D, self.rules, self.rng, self.active, float(day), MAX_ROUNDS)
        served, ends, taken, self.active = self._run_rounds(*args)
        if taken > MAX_ROUNDS:
            raise GovsimError(f"day {day}: service requests still moving after {MAX_ROUNDS} rounds")
        start = 0
        for end in ends.tolist():  # round by round
            ids = served[start:end]
            w.hooks.emit(
                "served", c["resident"][ids].astype(np.int64), c["completed"][ids] - c["submitted"][ids]
            )
            start = end

    def table(self) -> dict[str, np.ndarray]:
        """The requests as columns (one row per request)."""
        return {
            k: v[: self.n].copy()
            for k, v in self.cols.items()
            if k not in ("stage", "next_t", "pos", "prechecked", "proc", "par", "resident")
        }
