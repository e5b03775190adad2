"""Handling: cases queue at units, are worked on, and leave resolved, escalated or bounced.

A case arriving at a unit joins its first-come-first-served queue (:mod:`sim.core.queues`),
unless the unit could not start on it before its patience runs out (the report plus the
category's ``patience_days``): then the unit does not take it up, and the case is closed
without a resolution on arrival (``timed_out``; the FIFO queue knows each job's start
when it arrives, so this is balking, MODEL.md §3 "the before state stays bounded").
What the unit does is fixed on arrival: if the tier that settles the case is above the
unit's (it grew on the way, or was sent too low), the unit only assesses it
(``escalation_assessment_hours``) and passes it up to the unit with authority (an
escalation; the tiers are the grid, the village, departments and enforcement); if the
unit was the wrong one, it assesses and bounces it; otherwise it works the catalogue's
service hours for the unit's tier (lognormal or exponential), plus the travel to the
grid and back for village staff, departments and squads, and the case stops growing
(a case the cluster's joint meeting settles, :mod:`sim.core.mechanisms.meetings`, takes
the hours of its level, a department's, worked by the cluster centre's staff).
With the command centre's deadline watch, work that would finish past the case's
deadline is done in overtime when that is sooner (supervision). On
completion each outcome has its own rule (:func:`complete`): a triaged,
bounced or escalated case goes back to dispatch, a worked case moves to its next unit
or — unless its unit schedules more (an enforcement follow-up, hook ``work_done``) — is
resolved at the tier of the unit and goes to closure (hook ``resolved``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.draws import RNG_ASSESSMENT, RNG_HANDLING, exponential, exponential_at, lognormal, take, uniform
from sim.core.jit import njit
from sim.core.kinds import Kind, Layer
from sim.core.ledger import DropReason, Outcome, Stage
from sim.core.ledger_flow import (
    EV_BOOKED,
    EV_BOUNCED,
    EV_DROPPED,
    EV_RESOLVED,
    EV_STARTED,
    announce,
    count_escalations,
    drop,
    level_at,
    queue,
    redispatch,
    resolve,
    send,
)
from sim.core.mechanisms.closure import verify
from sim.core.mechanisms.enforcement import first_visit, follow_up
from sim.core.mechanisms.supervision import check
from sim.core.queues import book

if TYPE_CHECKING:
    from sim.core.world import World

WORK, ESCALATE, BOUNCE = int(Outcome.WORK), int(Outcome.ESCALATE), int(Outcome.BOUNCE)
TRIAGE, FOLLOW_UP = int(Outcome.TRIAGE), int(Outcome.FOLLOW_UP)
TIMED_OUT, BOUNCE_LIMIT = int(DropReason.TIMED_OUT), int(DropReason.BOUNCE_LIMIT)
QUEUED, COUNTY = int(Stage.QUEUED), int(Layer.COUNTY)
DEPARTMENT, ENFORCEMENT = int(Kind.DEPARTMENT), int(Kind.ENFORCEMENT)


def travel_hours(world: World) -> np.ndarray:
    """Hours of travel to the grid and back, by unit, for the units that are not
    departments or squads (theirs depend on the case's town): a cluster's pooled grid
    team, village staff, a cluster centre's staff; 0 for the others."""
    p, U = world.params, world.units
    pooled = (U.kind == Kind.GRID) & (np.bincount(U.grid_unit, minlength=len(U.kind)) > 1)
    travel = np.where(pooled, 2.0 * p.clusters.travel_hours, 0.0)
    travel[U.kind == Kind.VILLAGE] = 2.0 * p.village.travel_hours
    centres = [u.index for u in U.units if len(getattr(u, "villages", ())) > 1]  # a cluster's (002)
    travel[centres] = 2.0 * max(p.village.travel_hours, p.clusters.travel_hours)
    return travel


# ---------------------------------------------------------------- arrivals
@njit(cache=True, inline="always")
def arrive(F, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Case ``i`` arrives at its unit at ``t``: decide what the unit does with it, book its
    job(s) on the unit's first-come-first-served servers, or drop it if no server could
    start before it is given up. Arrivals come in time order, so the queues are exact.
    Under a lead department (``departments.lead_department``) a case needing several
    units has all their jobs booked at once, the lead's with ``lead_coordination_hours``."""
    C, U, K, S = F.cases, F.units, F.cat, F.s
    unit, outcome, cat = C.unit[i], C.outcome[i], C.category[i]
    work = outcome == WORK
    lvl = level_at(C, K.max_level, i, t)
    if work and K.settle[cat, lvl] > U.level[U.kind[unit]]:
        outcome = ESCALATE  # it needs a tier above the unit's
    keep = work and outcome == WORK
    if keep:
        C.level[i] = lvl
    C.outcome[i] = outcome
    n_jobs = 1
    if keep and S.lead_department and C.route_len[i] > 1 and C.route_pos[i] == 0:  # all at once
        n_jobs = C.route_len[i]
        C.route_pos[i] = n_jobs - 1
    give_up = np.inf
    if outcome == WORK and C.reopened[i] == 0:  # a reopened case is worked again, however late
        give_up = C.discovered[i] + K.patience[cat]
    first, last, refused = np.inf, -np.inf, False
    for j in range(n_jobs):
        u = unit if j == 0 else C.route[i, j]
        h = hours(F, i, u, outcome) + (S.lead_coordination_hours if n_jobs > 1 and j == 0 else 0.0)
        start, finish, taken = _book(F, i, u, t, h, outcome, give_up)
        if taken:
            first, last = min(first, start), max(last, finish)
        refused |= not taken
    if refused:  # shelved on arrival
        drop(C, i, t, TIMED_OUT)
        announce(F, EV_DROPPED, i, unit, t, 0.0)
        return
    queue(C, i, last)
    if keep:
        if np.isnan(C.started[i]):
            C.started[i] = first
        first_visit(F, i, unit, first)
        announce(F, EV_STARTED, i, unit, first, 0.0)


@njit(cache=True, inline="always")
def _book(F, i, unit, t, h, outcome, give_up):  # type: ignore[no-untyped-def,unused-ignore]
    """Book one job of case ``i`` at ``unit`` (:func:`sim.core.queues.book`): start,
    finish, taken; and account its hours.

    With the centre's deadline watch, a job of work whose regular finish would pass the
    case's deadline (discovery plus the category's ``deadline_days``) is supervised: worked
    in overtime when that is sooner. With two-way assessment, a rated unit watches each
    job of work with its response chance (``unit_response``).
    """
    C, U, S, W = F.cases, F.units, F.s, F.work
    deadline = np.inf
    if U.level[U.kind[unit]] >= 0 and (outcome == WORK or outcome == FOLLOW_UP):  # noqa: SIM109 (numba)
        watched = S.deadline_watch
        if S.assessment:  # a rated unit answers its assessment on some jobs
            watched |= uniform(F.keys, C.draws, RNG_ASSESSMENT, i) < U.unit_response[unit]
        if watched:
            deadline = C.discovered[i] + F.cat.deadline[C.category[i]]
    start, finish, overtime, taken = book(U, unit, t, h, deadline, give_up)
    if not taken:
        return start, finish, False
    if not overtime:  # for the queue-order diagnostic (logged only when it collects them)
        announce(F, EV_BOOKED, i, unit, t, start)
    d, k = int(np.floor(start)), U.kind[unit]
    if overtime:
        if start < S.days:  # as the regular hours: work past the horizon is left out
            C.supervised[i] = True
            W.overtime_hours[k] += h
            if W.unit_overtime.shape[0]:
                W.unit_overtime[unit, d] += h
    elif 0 <= d < S.days:
        W.busy[k, d] += h
        if W.unit_busy.shape[0]:
            W.unit_busy[unit, d] += h
    return start, finish, True


@njit(cache=True, inline="always")
def hours(F, i, unit, outcome):  # type: ignore[no-untyped-def,unused-ignore]
    """Hours of work of a job of case ``i`` at ``unit`` with ``outcome``."""
    C, U, K, S = F.cases, F.units, F.cat, F.s
    kind = U.kind[unit]
    far = kind == DEPARTMENT or kind == ENFORCEMENT  # noqa: SIM109 (numba)
    travel = U.travel[unit]
    if far:
        county = U.layer[unit] == COUNTY or U.town[unit] != F.town_of_grid[C.grid[i]]
        travel = 2.0 * (S.county_travel_hours if county else S.town_travel_hours)
    if outcome == ESCALATE:
        return S.escalation_assessment_hours
    if outcome == BOUNCE:
        return S.bounce_assessment_hours
    if outcome == TRIAGE:
        return S.triage_hours
    if outcome == FOLLOW_UP:
        return S.follow_up_hours + travel
    tier = max(U.level[kind], 0)
    if S.joint_settles:  # a joint meeting's case is the department's work, done by the cluster's staff
        tier = max(tier, C.level[i])
    if S.exponential:
        noise = exponential(F.keys, C.draws, RNG_HANDLING, i, 1.0)
    else:
        noise = lognormal(F.keys, C.draws, RNG_HANDLING, i, -(S.sigma**2) / 2.0, S.sigma)
    return K.service_hours[C.category[i], tier] * noise + travel


# ------------------------------------------------------------- completions
@njit(cache=True, inline="always")
def complete(F, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Case ``i``'s (last) job at its unit finished at ``t``: act on its outcome. A triaged,
    bounced or escalated case goes back to dispatch; a worked case moves to its route's
    next unit or — unless its unit schedules more (an enforcement follow-up, hook
    ``work_done``) — is resolved at the tier of the unit. A hand-off between units without
    a command centre takes an exponential ``handoff_days``."""
    C, U, S = F.cases, F.units, F.s
    out, unit = C.outcome[i], C.unit[i]
    hand = -1 if S.command_centre else take(C.draws, RNG_HANDLING, i)  # drawn now, computed if used
    if out == TRIAGE:  # the centre has triaged the report: dispatch sends it on now
        redispatch(C, i, t, True)
    elif out == BOUNCE:
        _bounced(F, i, t, hand)
    elif out == ESCALATE:  # a unit without the authority passes the case up
        C.at_layer[i] = U.layer[unit]
        if S.command_centre:
            count_escalations(C, i, 1)
        redispatch(C, i, t, False)
    elif out == WORK:
        if C.route_pos[i] + 1 < C.route_len[i]:  # on to the route's next unit
            C.route_pos[i] += 1
            send(C, i, C.route[i, C.route_pos[i]], t + _handoff(F, i, hand), WORK)
            return
        follow_up(F, i, unit, t)
        if C.stage[i] == QUEUED:
            _resolve(F, i, t)
    else:  # the follow-up visit settles the case
        _resolve(F, i, t)


@njit(cache=True, inline="always")
def _handoff(F, i, hand):  # type: ignore[no-untyped-def,unused-ignore]
    """Days of the hand-off between two units of case ``i``: the exponential
    ``handoff_days`` of its handling draw number ``hand`` (:func:`sim.core.draws.take`),
    or none (-1: the command centre passes it on)."""
    if hand < 0:
        return 0.0
    return exponential_at(F.keys, RNG_HANDLING, i, hand, F.s.handoff_days)


@njit(cache=True, inline="always")
def _bounced(F, i, t, hand):  # type: ignore[no-untyped-def,unused-ignore]
    """A wrong unit sends the case back to the layer that sent it, or — past
    ``max_bounces`` — it is dropped, after a hand-off of draw number ``hand``
    (:func:`_handoff`). With two-way assessment, a rated unit instead forwards it to the
    unit with authority with its response chance (no bounce)."""
    C, U, S = F.cases, F.units, F.s
    unit = C.unit[i]
    if S.assessment and uniform(F.keys, C.draws, RNG_ASSESSMENT, i) < U.unit_response[unit]:
        send(C, i, C.route[i, C.route_pos[i]], t + _handoff(F, i, hand), WORK)
        return
    announce(F, EV_BOUNCED, i, unit, t, 0.0)
    C.bounces[i] += 1
    if C.bounces[i] > S.max_bounces:
        drop(C, i, t, BOUNCE_LIMIT)
        announce(F, EV_DROPPED, i, unit, t, 0.0)
        return
    C.at_layer[i] = U.layer[unit]  # the sender, at the wrong unit's layer
    redispatch(C, i, t + _handoff(F, i, hand), False)


@njit(cache=True, inline="always")
def _resolve(F, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Resolved by its unit at ``t``; then the ``resolved`` hook's compiled subscribers:
    the verification (:func:`sim.core.mechanisms.closure.verify`) and the supervisors'
    check (:func:`sim.core.mechanisms.supervision.check`)."""
    C, U = F.cases, F.units
    unit = C.unit[i]
    resolve(C, i, t, unit, U.level[U.kind[unit]])
    announce(F, EV_RESOLVED, i, unit, t, 0.0)
    verify(F, i, t)
    check(F, i, t)
