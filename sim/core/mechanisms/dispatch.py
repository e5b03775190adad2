"""Dispatch: sending a reported case to the unit with authority over it.

Without a command centre, a report travels through the hierarchy (grid 0, village 1,
town 2, county 3) from the layer it entered to the layer of the unit that settles the
case: the unit of the tier that settles its current level in its category (the grid's
and the village's service lists, :func:`sim.core.catalogue.settling_tiers`) holding
authority over its domains: each hand-off takes an exponential
``handoff_days`` and may lose the case (``handoff_loss_probability``; nobody follows
it up), each upward hand-off counts as an escalation. With a command centre every
report first queues for triage at the centre (``triage_hours``), then goes straight to
the unit, and nothing is lost (the centre closes the loop). Either way the case may be
sent to a wrong unit of the right kind (``misroute_probability``); that unit assesses
it and sends it back to the layer that sent it (a bounce, "passing the buck", 004),
which sends it again; a case that would bounce more than ``max_bounces`` times is
dropped (two-way assessment, :mod:`sim.core.mechanisms.assessment`, lowers a town's
misrouting as its rating answers). A case needing several domains visits their units
one after another, or all at once under a lead department (Quzhou "one thing", 004). A
case the cluster's joint meeting settles (Ningbo, 002) goes to the cluster centre and
arrives there when the next joint meeting opens (:mod:`sim.core.mechanisms.meetings`).
A grid-tier case of a police category (``grid.police_categories``, with
``grid.police_per_grid`` officers) goes to its grid's police officer instead of the grid
team (001's 网格警务员).

Escalations count upward hand-offs: without a centre, each layer a case climbs on its
way to the unit with authority; with a centre (which is not a layer), each time a unit
passes a case back up because it lacks the authority.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.kinds import Kind, Tier
from sim.core.ledger import DropReason, Outcome, Stage
from sim.core.mechanisms.meetings import next_meeting

if TYPE_CHECKING:
    from sim.core.world import World


def unique_rows(route: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the distinct non-negative entries in first-seen order, -1 padded; and counts."""
    out = np.full_like(route, -1)
    n = np.zeros(route.shape[0], dtype=np.int8)
    for j in range(route.shape[1]):
        col = route[:, j]
        new = (col >= 0) & ~(out == col[:, None]).any(axis=1)
        out[np.flatnonzero(new), n[new]] = col[new]
        n += new
    return out, n


class Dispatch:
    """Routes cases at stage DISPATCH to a unit (stage TRANSIT) or drops them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("dispatch")
        kinds = world.units.kind
        self.pool = {k: np.flatnonzero(kinds == k) for k in (Kind.DEPARTMENT, Kind.ENFORCEMENT)}

    def step(self, day: int, among: np.ndarray | None = None) -> int:
        """Dispatch every case due today (optionally only ``among`` these); returns how many."""
        w, L, p = self.world, self.world.ledger, self.world.params.dispatch
        ids = L.due(Stage.DISPATCH, day + 1.0, among)
        if ids.size == 0:
            return 0
        t = L.next_t[ids]
        if p.command_centre:
            todo = L.triaged[ids]
            new = ids[~todo]
            centre = w.units.centre[w.places.town_of_grid[L.grid[new]]]
            L.send(new, centre, t[~todo], Outcome.TRIAGE)
            ids, t = ids[todo], t[todo]
        lvl = L.level_at(ids, t)
        tier = w.catalogue.settle[L.category[ids], lvl]
        joint = w.catalogue.joint[L.category[ids], lvl]  # for the cluster's next joint meeting
        dom = w.catalogue.domains[L.category[ids]]
        raw = np.where(dom >= 0, w.units.route[tier[:, None], dom.clip(0), L.grid[ids][:, None]], -1)
        police = w.catalogue.police[L.category[ids]] & (tier == Tier.GRID)  # the grid's officer
        raw[police] = -1
        raw[police, 0] = w.units.police[L.grid[ids[police]]]
        if w.powers is not None:  # powers as items: the squad holding the case's item
            raw = w.powers.reroute(ids, tier, dom, raw)
        route, n = unique_rows(raw)
        L.route[ids], L.route_len[ids], L.route_pos[ids] = route, n, 0
        target = route[:, 0]
        if p.command_centre:
            delay = np.zeros(ids.size)
        else:
            hops = np.abs(w.units.layer[target].astype(int) - L.at_layer[ids])
            up = np.maximum(w.units.layer[target].astype(int) - L.at_layer[ids], 0)
            L.count_escalations(ids, up)
            delay = self.rng.gamma(np.maximum(hops, 1), p.handoff_days) * (hops > 0)
            lost = self.rng.random(ids.size) < 1.0 - (1.0 - p.handoff_loss_probability) ** hops
            if lost.any():
                L.drop(ids[lost], t[lost], DropReason.LOST_IN_HANDOFF)
                ids, t, target, delay, joint = ids[~lost], t[~lost], target[~lost], delay[~lost], joint[~lost]
        unit, outcome = self._misroute(target, w.places.town_of_grid[L.grid[ids]])
        arrive = t + delay
        if joint.any():
            c = w.params.clusters
            arrive[joint] = next_meeting(arrive[joint], c.meeting_days, w.params.calendar.office.start_hour)
        L.send(ids, unit, arrive, outcome)
        first = np.isnan(L.dispatched[ids])
        L.dispatched[ids[first]] = (t + delay)[first]
        return int(ids.size)

    def _misroute(self, target: np.ndarray, town: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Send some cases (from ``town``) to a wrong unit of the same kind (only where there
        is one). With two-way assessment, a town answering its rating misroutes less."""
        w = self.world
        p, kinds = w.params.dispatch, w.units.kind
        unit, outcome = target.copy(), np.full(target.size, Outcome.WORK, dtype=np.int8)
        owned = w.params.departments.duty_list_coverage  # a duty list removes that misrouting
        care = w.town_response[town] if w.params.assessment.enabled else 0.0
        wrong = self.rng.random(target.size) < p.misroute_probability * (1.0 - owned) * (1.0 - care)
        draw = self.rng.random(target.size)
        for k, pool in self.pool.items():
            sel = np.flatnonzero(wrong & (kinds[target] == k))
            if pool.size < 2 or sel.size == 0:
                continue
            # a uniformly chosen unit of the kind other than the right one
            pick = (draw[sel] * (pool.size - 1)).astype(int)
            pos = np.searchsorted(pool, target[sel])
            unit[sel] = pool[pick + (pick >= pos)]
            outcome[sel] = Outcome.BOUNCE
        return unit, outcome
