"""Enforcement: on-site disposal at a squad's first visit, and the follow-up visit.

A squad's first visit settles a case on the spot (现场处置, 000: 84.33% in Suzhou's
pilot towns) only when one squad holds every power the case needs — a comprehensive
squad with devolved powers, or a line team for a single-domain case — and then with
probability ``on_site_probability × exp(-(visit - discovery) / freshness_days)``: the
staler the case, the likelier the violator has gone or the building has gone up.
A case needing several line teams ("many big caps cannot manage one straw hat", 004)
is never settled at the first visit. A case not settled on site needs a follow-up
visit after an exponential ``follow_up_days`` (the formal procedure), worked by the
same squad (``follow_up_hours``), which then resolves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.kinds import Kind
from sim.core.ledger import Outcome

if TYPE_CHECKING:
    from sim.core.world import World


class Enforcement:
    """Decides on-site disposal at a squad's first visit and schedules follow-ups.

    Hooks: ``work_started`` (a first visit), ``work_done`` (a visit that did not settle
    the case on site).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("enforcement")
        world.hooks.subscribe("work_started", self.first_visit)
        world.hooks.subscribe("work_done", self.follow_up)

    def first_visit(self, ids: np.ndarray, unit: np.ndarray, start: np.ndarray) -> None:
        """Record whether each case a squad visits for the first time at ``start`` was
        settled on the spot."""
        w, L, cat = self.world, self.world.ledger, self.world.catalogue
        visit = (w.units.kind[unit] == Kind.ENFORCEMENT) & ~L.followed[ids] & (L.on_site[ids] < 0)
        ids, start, unit = ids[visit], start[visit], unit[visit]
        if ids.size == 0:
            return
        c = L.category[ids]
        p = cat.on_site[c] * np.exp(-(start - L.discovered[ids]) / cat.freshness[c])
        if w.powers is not None:  # powers as items: only as far as the squad can use the item
            p = p * w.powers.proficiency(unit, L.item[ids])
        single = L.route_len[ids] == 1
        settled = single & (self.rng.random(ids.size) < p)
        L.on_site[ids] = settled.astype(np.int8)
        if w.powers is not None:
            w.powers.record(unit, L.item[ids], single, settled)

    def follow_up(self, ids: np.ndarray, unit: np.ndarray, t: np.ndarray) -> None:
        """A squad's work that did not settle a case on site: the follow-up visit is due
        after an exponential ``follow_up_days``, at the same squad."""
        w, L = self.world, self.world.ledger
        need = (w.units.kind[unit] == Kind.ENFORCEMENT) & (L.on_site[ids] == 0) & ~L.followed[ids]
        fol = ids[need]
        L.followed[fol] = True
        delay = self.rng.exponential(w.params.enforcement.follow_up_days, fol.size)
        L.send(fol, unit[need], t[need] + delay, Outcome.FOLLOW_UP)
