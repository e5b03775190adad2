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

import numpy as np

from sim.core.draws import RNG_DISPATCH, erlang, uniform
from sim.core.jit import njit
from sim.core.kinds import Kind, Tier
from sim.core.ledger import DropReason, Outcome
from sim.core.ledger_flow import EV_DROPPED, announce, count_escalations, drop, level_at, send
from sim.core.mechanisms.meetings import next_meeting
from sim.core.mechanisms.powers import reroute

TRIAGE, BOUNCE, WORK = int(Outcome.TRIAGE), int(Outcome.BOUNCE), int(Outcome.WORK)
LOST = int(DropReason.LOST_IN_HANDOFF)
GRID, ENFORCEMENT = int(Tier.GRID), int(Tier.ENFORCEMENT)
DEPARTMENT_KIND, ENFORCEMENT_KIND = int(Kind.DEPARTMENT), int(Kind.ENFORCEMENT)


@njit(cache=True, inline="always")
def dispatch(F, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Dispatch case ``i`` at ``t``: to the centre for triage, or to the unit with authority
    (or a wrong one), or drop it (lost in a hand-off; logged in ``log``)."""
    C, U, K, S = F.cases, F.units, F.cat, F.s
    g = C.grid[i]
    if S.command_centre and not C.triaged[i]:
        send(C, i, U.centre[F.town_of_grid[g]], t, TRIAGE)
        return
    cat = C.category[i]
    lvl = level_at(C, K.max_level, i, t)
    tier = K.settle[cat, lvl]
    raw = F.buf.route  # scratch: the unit of each step by domain (-1 padded)
    for j in range(raw.size):
        d = K.domains[cat, j]
        raw[j] = U.route[tier, d, g] if d >= 0 else -1
    if K.police[cat] and tier == GRID:  # the grid's officer
        raw[:] = -1
        raw[0] = U.police[g]
    if S.powers_on and tier == ENFORCEMENT:  # powers as items: the squad holding the item
        reroute(F, i, K.domains[cat], raw)
    n = 0
    for j in range(raw.size):  # the distinct units, in first-seen order
        u = raw[j]
        if u < 0:
            continue
        seen = False
        for k in range(n):
            seen |= C.route[i, k] == u
        if not seen:
            C.route[i, n] = u
            n += 1
    for k in range(n, raw.size):
        C.route[i, k] = -1
    C.route_len[i], C.route_pos[i] = n, 0
    target = C.route[i, 0]
    delay = 0.0
    if not S.command_centre:
        layer = np.int64(U.layer[target])
        hops = abs(layer - C.at_layer[i])
        count_escalations(C, i, max(layer - C.at_layer[i], 0))
        if hops > 0:
            delay = erlang(F.keys, C.draws, RNG_DISPATCH, i, hops, S.handoff_days)
            if uniform(F.keys, C.draws, RNG_DISPATCH, i) < 1.0 - (1.0 - S.handoff_loss_probability) ** hops:
                drop(C, i, t, LOST)
                announce(F, EV_DROPPED, i, -1, t, 0.0)
                return
    unit, outcome = misroute(F, i, target)
    arrive = t + delay
    if K.joint[cat, lvl]:  # for the cluster's next joint meeting
        arrive = next_meeting(arrive, S.meeting_days, S.opening_hour)
    send(C, i, unit, arrive, outcome)
    if np.isnan(C.dispatched[i]):
        C.dispatched[i] = t + delay


@njit(cache=True, inline="always")
def misroute(F, i, target):  # type: ignore[no-untyped-def,unused-ignore]
    """The unit case ``i`` is sent to, and its outcome there: ``target``, or with
    ``misroute_probability`` (less a duty list's coverage, and less the town's answer to
    its two-way assessment) a uniformly chosen other unit of the same kind, which will
    bounce it (only departments and squads, where the kind has another unit)."""
    U, S = F.units, F.s
    care = U.town_response[F.town_of_grid[F.cases.grid[i]]] if S.assessment else 0.0
    wrong = S.misroute_probability * (1.0 - S.duty_list_coverage) * (1.0 - care)
    if uniform(F.keys, F.cases.draws, RNG_DISPATCH, i) >= wrong:
        return target, WORK
    kind = U.kind[target]
    pool = U.departments if kind == DEPARTMENT_KIND else U.squads
    if (kind != DEPARTMENT_KIND and kind != ENFORCEMENT_KIND) or pool.size < 2:
        return target, WORK
    pick = int(uniform(F.keys, F.cases.draws, RNG_DISPATCH, i) * (pool.size - 1))
    pos = np.searchsorted(pool, target)
    return pool[pick + (pick >= pos)], BOUNCE
