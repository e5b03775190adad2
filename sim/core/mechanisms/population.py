"""Residents: their state as arrays, the issues they meet, and how handling changes them.

Each resident has a base willingness to report (Beta distributed) and a satisfaction
with past handling. Issues occur as Poisson counts per category and day (rates from the
catalogue), at a uniformly drawn resident and time. Each issue's future is pre-sampled
from the ``occurrence`` stream only — its initial level, the times at which it would
grow a level if nobody handled it ("discover early, handle while small", 004), the
random draw that decides whether the resident reports it, the delay and the channel —
so scenarios sharing a context meet identical issues (common random numbers). The
issues of :data:`~sim.core.rng.BLOCK_DAYS` days are drawn at once, at the block's first day, and
enter the ledger day by day. The decision, taken at occurrence, compares that draw with
the resident's *current* willingness, base × (0.5 + satisfaction), capped at 1, so it
can differ between scenarios as satisfaction does.
When one resident has several cases closed on the same day, the last update counts.
When a case is closed (or dropped) the resident's satisfaction moves toward
0.5 ** (delay / reference_delay_days) (0 if dropped, or closed on a poor resolution) at
the learning rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.core.jit import njit
from sim.core.ledger import Channel, time_order
from sim.core.rng import BLOCK_DAYS

if TYPE_CHECKING:
    from sim.core.world import World

RESIDENT_CHANNELS = {"hotline": Channel.HOTLINE, "app": Channel.APP, "walk_in": Channel.WALK_IN}
_RECORDED = ("category", "resident", "occurred", "grid", "level0", "self_channel", "grow1", "grow2", "grow3")
"""The columns of an issue the ledger records on occurrence (the growth times last)."""


class Issues(NamedTuple):
    """Issues drawn ahead, in order of occurrence: what the ledger records of each, and
    the chance (``report``, before willingness), draw (``u_report``) and time
    (``report_at``) of the resident's own report."""

    category: np.ndarray
    occurred: np.ndarray
    resident: np.ndarray
    grid: np.ndarray
    level0: np.ndarray
    grow1: np.ndarray
    grow2: np.ndarray
    grow3: np.ndarray
    self_channel: np.ndarray
    report: np.ndarray
    u_report: np.ndarray
    report_at: np.ndarray


class Population:
    """The residents of the context and the issues they meet.

    Hooks: learns from ``closed``, ``dropped`` and ``served``.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        p = world.params.residents
        n = world.params.population.residents
        init = world.stream("population")
        a, b = (
            p.willingness_mean * p.willingness_concentration,
            (1 - p.willingness_mean) * p.willingness_concentration,
        )
        self.willingness = (init.beta(a, b, n) if b > 0 else np.ones(n)).astype(np.float32)
        self.satisfaction = np.full(n, p.satisfaction_initial, dtype=np.float32)
        self.rng = world.stream("occurrence")
        shares = p.channel_shares
        self.channel_codes = np.array([RESIDENT_CHANNELS[k] for k in shares], dtype=np.int8)
        self.channel_cum = np.cumsum(list(shares.values()))
        self._first = -BLOCK_DAYS  # the first day of the block drawn (none yet)
        self._issues: Issues | None = None
        self._bounds = np.zeros(BLOCK_DAYS + 1, dtype=np.int64)
        world.hooks.subscribe("closed", self.closed)
        world.hooks.subscribe("dropped", self.dropped)
        world.hooks.subscribe("served", self.served)

    def step(self, day: int) -> None:
        """Create today's issues in the ledger."""
        if self._issues is None or not self._first <= day < self._first + BLOCK_DAYS:
            self._first = day
            self._issues, self._bounds = self._draw(day)
        k = day - self._first
        today, x = slice(self._bounds[k], self._bounds[k + 1]), self._issues
        L = self.world.ledger
        n0 = L.n
        L.occur(
            _self_reports(
                x.resident[today], self.willingness, self.satisfaction,
                x.u_report[today], x.report[today], x.report_at[today],
            )
        )  # fmt: skip
        rows = slice(n0, L.n)  # the new ids, in order
        for name in _RECORDED if self.world.params.growth else _RECORDED[:-3]:
            L.cols[name][rows] = getattr(x, name)[today]

    def _draw(self, first: int) -> tuple[Issues, np.ndarray]:
        """The issues of the block of days from ``first``, and where each day's start
        among them (``BLOCK_DAYS + 1`` bounds)."""
        w, cat = self.world, self.world.catalogue
        counts, order, c, t = self._occurrences(first)
        resident, *rest = _issues(
            self.rng, w.params.population.residents, order, c, t, cat.growth_days,
            cat.initial_cum, self.channel_cum, self.channel_codes, cat.self_report, cat.self_delay,
        )  # fmt: skip
        issues = Issues(c, t, resident, w.places.grid_of(resident), *rest)
        return issues, np.concatenate(([0], np.cumsum(counts.sum(axis=1))))

    def _occurrences(self, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The block's first draws: the counts by day and category, then each issue's time.
        Returns the counts, the ``order`` that sorts the issues by time, and their
        categories and times in that order."""
        cat, rng = self.world.catalogue, self.rng
        counts = rng.poisson(
            cat.rate * self.world.params.population.residents / 1000.0, (BLOCK_DAYS, cat.rate.size)
        )
        n = int(counts.sum())
        c = np.repeat(np.tile(np.arange(cat.rate.size, dtype=np.int16), BLOCK_DAYS), counts.ravel())
        day = np.repeat(np.arange(first, first + BLOCK_DAYS, dtype=float), counts.sum(axis=1))
        t = np.minimum(day + rng.random(n), np.nextafter(day + 1.0, day))  # stay inside the day
        order = time_order(t)  # in order of occurrence, hence of days
        return counts, order, c[order], t[order]

    def closed(self, ids: np.ndarray) -> None:
        """Residents of closed cases learn from how long the case took, or — if it was
        closed on a poor resolution (:mod:`sim.core.mechanisms.supervision`) — that
        nothing came of it."""
        if ids.size:
            L = self.world.ledger
            days = L.closed[ids] - L.occurred[ids]
            good = 0.5 ** (days / self.world.params.residents.reference_delay_days)
            self._learn(L.resident[ids], np.where(L.poor[ids], 0.0, good))

    def dropped(self, ids: np.ndarray) -> None:
        """Residents of dropped cases learn that nothing came of their issue."""
        if ids.size:
            self._learn(self.world.ledger.resident[ids], np.zeros(ids.size))

    def served(self, residents: np.ndarray, days: np.ndarray) -> None:
        """Move the satisfaction of residents served after ``days`` (halved per reference delay)."""
        self._learn(residents, 0.5 ** (days / self.world.params.residents.reference_delay_days))

    def _learn(self, residents: np.ndarray, outcome: np.ndarray) -> None:
        _toward(self.satisfaction, residents, outcome, float(self.world.params.residents.learning_rate))


@njit(cache=True)
def _self_reports(residents, willingness, satisfaction, u_report, report, report_at):  # type: ignore[no-untyped-def,unused-ignore]
    """When each issue's resident reports it himself: at ``report_at`` if its draw
    ``u_report`` is below ``report`` times his current willingness, ``willingness × (0.5 +
    satisfaction)`` capped at 1 (in float32, as the residents' columns are), else never
    (inf). One pass, with the values of the numpy expressions."""
    out = np.empty(residents.size)
    half, one = np.float32(0.5), np.float32(1.0)
    for k in range(residents.size):
        r = residents[k]
        will = min(willingness[r] * (half + satisfaction[r]), one)
        out[k] = report_at[k] if u_report[k] < report[k] * np.float64(will) else np.inf
    return out


@njit(cache=True)
def _toward(satisfaction, residents, outcome, rate):  # type: ignore[no-untyped-def,unused-ignore]
    """Move each of ``residents``' satisfaction toward its ``outcome`` by ``rate``: every
    new value from the old ones, then stored in order (a resident listed twice keeps the
    last), as numpy's ``s[r] = s[r] + rate * (outcome - s[r])`` does."""
    new = np.empty(residents.size)
    for k in range(residents.size):
        s = np.float64(satisfaction[residents[k]])
        new[k] = s + rate * (outcome[k] - s)
    for k in range(residents.size):
        satisfaction[residents[k]] = new[k]


@njit(cache=True)
def _issues(  # type: ignore[no-untyped-def,unused-ignore]
    rng,
    n_res,
    order,
    c,
    t,
    growth_days,
    initial_cum,
    channel_cum,
    channel_codes,
    self_report,
    self_delay,
):  # type: ignore[no-untyped-def,unused-ignore]
    """The rest of a block's issues (:class:`Issues` from ``resident`` on, but the grid,
    which :meth:`sim.core.places.Places.grid_of` gives), in order of occurrence (``order``
    sorted the block's issues by time; ``c`` and ``t`` are their categories and times in
    that order). The draws from ``rng`` are those of NumPy's
    whole-array calls (residents, then ``random((3, n))`` for the initial level, the report
    and the channel, then ``exponential(1.0, (3, n))`` for the growth steps and
    ``exponential(1.0, n)`` for the report's delay), put in that order in one pass.

    Each value is what the array expressions give: the initial level counts the
    category's cumulative level probabilities the draw reaches (at most 3), the channel
    the cumulative channel shares at most the draw times their total, the growth times
    step from occurrence by ``growth_days × exponential`` (a test compares every column
    with the whole-array expressions)."""
    n = order.size
    resident_drawn = rng.integers(0, n_res, n)
    u = rng.random(3 * n)
    e = rng.exponential(1.0, 3 * n)
    e_self = rng.exponential(1.0, n)
    resident = np.empty(n, np.int64)
    level0, self_channel = np.empty(n, np.int8), np.empty(n, channel_codes.dtype)
    grow1, grow2, grow3 = np.empty(n), np.empty(n), np.empty(n)
    report, u_report, report_at = np.empty(n), np.empty(n), np.empty(n)
    last = channel_codes.size - 1
    for j in range(n):
        k = order[j]
        r, cat = resident_drawn[k], c[j]
        resident[j] = r
        row, lvl = initial_cum[cat], 0
        for m in range(row.size):
            lvl += u[k] >= row[m]
        level0[j] = min(lvl, 3)
        u_report[j] = u[n + k]
        x, ch = u[2 * n + k] * channel_cum[-1], 0
        for m in range(channel_cum.size):
            ch += channel_cum[m] <= x
        self_channel[j] = channel_codes[min(ch, last)]
        step = growth_days[cat]
        grow1[j] = t[j] + step * e[k]
        grow2[j] = grow1[j] + step * e[n + k]
        grow3[j] = grow2[j] + step * e[2 * n + k]
        report[j] = self_report[cat]
        report_at[j] = t[j] + self_delay[cat] * e_self[k]
    return resident, level0, grow1, grow2, grow3, self_channel, report, u_report, report_at
