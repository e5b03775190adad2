"""Residents: their state as arrays, the issues they meet, and how handling changes them.

Each resident has a base willingness to report (Beta distributed) and a satisfaction
with past handling. Issues occur as Poisson counts per category and day (rates from the
catalogue), at a uniformly drawn resident and time. At occurrence each issue's future is
pre-sampled from the ``occurrence`` stream only — its initial level, the times at which
it would grow a level if nobody handled it ("discover early, handle while small", 004),
the random draw that decides whether the resident reports it, the delay and the channel
— so scenarios sharing a context meet identical issues (common random numbers). The
decision compares that draw with the resident's *current* willingness, base × (0.5 +
satisfaction), capped at 1, so it can differ between scenarios as satisfaction does.
When one resident has several cases closed on the same day, the last update counts.
When a case is closed (or dropped) the resident's satisfaction moves toward
0.5 ** (delay / reference_delay_days) (0 if dropped, or closed on a poor resolution) at
the learning rate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.ledger import Channel

if TYPE_CHECKING:
    from sim.core.world import World

RESIDENT_CHANNELS = {"hotline": Channel.HOTLINE, "app": Channel.APP, "walk_in": Channel.WALK_IN}


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
        world.hooks.subscribe("closed", self.closed)
        world.hooks.subscribe("dropped", self.dropped)
        world.hooks.subscribe("served", self.served)

    def step(self, day: int) -> None:
        """Create today's issues in the ledger."""
        w, cat, rng = self.world, self.world.catalogue, self.rng
        n_res = w.params.population.residents
        counts = rng.poisson(cat.rate * n_res / 1000.0)
        n = int(counts.sum())
        c = np.repeat(np.arange(len(counts), dtype=np.int16), counts)
        t = np.minimum(day + rng.random(n), np.nextafter(day + 1.0, day))  # stay inside the day
        resident = rng.integers(0, n_res, n)
        u_level, u_self, u_chan = rng.random(n), rng.random(n), rng.random(n)
        e_grow, e_self = rng.exponential(1.0, (n, 3)), rng.exponential(1.0, n)
        order = np.argsort(t, kind="stable")
        c, t, resident = c[order], t[order], resident[order]
        u_level, u_self, u_chan, e_grow, e_self = (
            x[order] for x in (u_level, u_self, u_chan, e_grow, e_self)
        )

        will = np.minimum(self.willingness[resident] * (0.5 + self.satisfaction[resident]), 1.0)
        reports = u_self < cat.self_report[c] * will
        L = w.ledger
        ids = L.occur(np.where(reports, t + cat.self_delay[c] * e_self, np.inf))
        L.category[ids], L.resident[ids], L.occurred[ids] = c, resident, t
        L.grid[ids] = w.places.grid_of(resident)
        L.level0[ids] = (u_level[:, None] >= cat.initial_cum[c]).sum(axis=1).clip(0, 3)
        if w.params.growth:
            g = cat.growth_days[c]
            L.grow1[ids] = t + g * e_grow[:, 0]
            L.grow2[ids] = L.grow1[ids] + g * e_grow[:, 1]
            L.grow3[ids] = L.grow2[ids] + g * e_grow[:, 2]
        L.self_channel[ids] = self.channel_codes[
            np.searchsorted(self.channel_cum, u_chan * self.channel_cum[-1], side="right").clip(
                0, len(self.channel_codes) - 1
            )
        ]

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
        s = self.satisfaction[residents]
        self.satisfaction[residents] = s + self.world.params.residents.learning_rate * (outcome - s)
