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
completion each outcome has its own rule (:meth:`Handling.complete`): a triaged,
bounced or escalated case goes back to dispatch, a worked case moves to its next unit
or — unless its unit schedules more (an enforcement follow-up, hook ``work_done``) — is
resolved at the tier of the unit and goes to closure (hook ``resolved``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.core.agents import UNIT_LEVEL
from sim.core.kinds import Kind, Layer
from sim.core.ledger import DropReason, Outcome, Stage
from sim.core.queues import serve_watched

if TYPE_CHECKING:
    from sim.core.world import World

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""An outcome's rule: (ids, finish times, hand-off delays) -> which of them are resolved."""
NONE = np.zeros(0, dtype=np.int64)
"""A rule's answer when it resolves none of its cases (indexes nothing)."""


class Handling:
    """Queues cases at units and acts on finished jobs.

    Hooks: emits ``work_started`` (first work on a case at a unit) and ``work_done``
    (work at the end of a case's route, before it is resolved).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("handling")
        self.answer = world.stream("assessment")  # drawn only with assessment.enabled
        p = world.params
        cv2 = p.service_cv**2
        self._sigma = float(np.sqrt(np.log1p(cv2)))
        self._exponential = p.service_distribution == "exponential"
        U = world.units
        pooled = (U.kind == Kind.GRID) & (np.bincount(U.grid_unit, minlength=len(U.kind)) > 1)
        self._travel = np.where(pooled, 2.0 * p.clusters.travel_hours, 0.0)  # a cluster's team
        self._travel[U.kind == Kind.VILLAGE] = 2.0 * p.village.travel_hours
        centres = [u.index for u in U.units if len(getattr(u, "villages", ())) > 1]  # a cluster's (002)
        self._travel[centres] = 2.0 * max(p.village.travel_hours, p.clusters.travel_hours)
        self._joint = p.clusters.centre and bool(p.clusters.joint_settles)

    # ---------------------------------------------------------------- arrivals
    def arrive(self, day: int, among: np.ndarray | None = None) -> int:
        """Queue every case arriving today (optionally only ``among`` these); returns how many."""
        w, L, U = self.world, self.world.ledger, self.world.units
        ids = L.due(Stage.TRANSIT, day + 1.0, among)
        if ids.size == 0:
            return 0
        unit, arrival = L.unit[ids], L.next_t[ids]
        outcome = L.outcome[ids].copy()
        work = outcome == Outcome.WORK
        lvl = L.level_at(ids, arrival)
        esc = work & (w.catalogue.settle[L.category[ids], lvl] > UNIT_LEVEL[U.kind[unit]])
        outcome[esc] = Outcome.ESCALATE
        keep = work & ~esc
        L.level[ids[keep]] = lvl[keep]
        L.outcome[ids] = outcome
        jobs_case, jobs_unit = ids, unit
        parallel = (
            keep & (L.route_len[ids] > 1) & (L.route_pos[ids] == 0) & w.params.departments.lead_department
        )
        if parallel.any():
            lead = ids[parallel]
            extra_case = np.repeat(lead, L.route_len[lead] - 1)
            k = np.concatenate([np.arange(1, n) for n in L.route_len[lead]])
            jobs_case = np.concatenate([ids, extra_case])
            jobs_unit = np.concatenate([unit, L.route[extra_case, k]])
            L.route_pos[lead] = L.route_len[lead] - 1
        pos = np.searchsorted(ids, jobs_case, sorter=np.argsort(ids))
        order = np.argsort(ids)[pos]  # row in `ids` of each job's case
        hours = self._hours(jobs_case, jobs_unit, outcome[order])
        if parallel.any():
            hours[np.flatnonzero(parallel)] += w.params.departments.lead_coordination_hours
        seq = np.lexsort((jobs_case, arrival[order]))
        give_up = np.where(  # a case a supervisor reopened is worked again, however late
            (outcome == Outcome.WORK) & (L.reopened[ids] == 0),
            L.discovered[ids] + w.catalogue.patience[L.category[ids]],
            np.inf,
        )
        booked = self._book(
            jobs_case[seq], jobs_unit[seq], arrival[order][seq], hours[seq], give_up[order][seq]
        )
        back = np.empty_like(seq)
        back[seq] = np.arange(seq.size)  # booking order -> job order
        start, finish, overtime, taken = (b[back] for b in booked)
        paid = overtime & (start < w.days)  # as Work.record: work past the horizon is left out
        L.supervised[jobs_case[paid]] = True
        w.work.overtime(jobs_unit[paid], start[paid], hours[paid])
        regular = ~overtime & taken
        w.work.record(jobs_unit[regular], start[regular], hours[regular])
        refused = np.zeros(ids.size, dtype=bool)
        np.logical_or.at(refused, order, ~taken)
        L.drop(ids[refused], arrival[refused], DropReason.TIMED_OUT)  # shelved on arrival
        case_start = np.full(ids.size, np.inf)
        case_finish = np.full(ids.size, -np.inf)
        np.minimum.at(case_start, order[taken], start[taken])
        np.maximum.at(case_finish, order[taken], finish[taken])
        on, keep = ~refused, keep & ~refused
        L.queue(ids[on], case_finish[on])
        first = keep & np.isnan(L.started[ids])
        L.started[ids[first]] = case_start[first]
        w.hooks.emit("work_started", ids[keep], unit[keep], case_start[keep])
        return int(ids.size)

    def _book(
        self, case: np.ndarray, unit: np.ndarray, arrival: np.ndarray, hours: np.ndarray, give_up: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Book jobs (in arrival order) on their units' servers: start, finish, worked in
        overtime, taken (:func:`sim.core.queues.serve_watched`).

        A job that could not start before its case is given up (``give_up``: the report
        plus the category's ``patience_days``, for work) is not taken. With the centre's
        deadline watch, a job of work whose regular finish would pass the case's deadline
        (discovery plus the category's ``deadline_days``) is supervised: worked in overtime
        when that is sooner. With two-way assessment, a rated unit watches each job of work
        with its response chance (``world.unit_response``, :mod:`sim.core.mechanisms.assessment`).
        """
        w, L, U = self.world, self.world.ledger, self.world.units
        deadline = np.full(unit.size, np.inf)
        handles = UNIT_LEVEL[U.kind[unit]] >= 0
        work = handles & np.isin(L.outcome[case], (Outcome.WORK, Outcome.FOLLOW_UP))
        watched = work & w.params.dispatch.deadline_watch
        if w.params.assessment.enabled:  # a rated unit answers its assessment on some jobs
            watched |= work & (self.answer.random(unit.size) < w.unit_response[unit])
        if watched.any():
            due = L.discovered[case] + w.catalogue.deadline[L.category[case]]
            deadline = np.where(watched, due, np.inf)
        return serve_watched(
            U.free_at,
            U.overtime_free_at,
            U.first,
            U.staff,
            U.calendar,
            U.calendars,
            U.overtime_calendars,
            unit.astype(np.int64),
            arrival,
            hours,
            deadline,
            give_up,
        )

    def _hours(self, case: np.ndarray, unit: np.ndarray, outcome: np.ndarray) -> np.ndarray:
        """Hours of work of each job."""
        w, L, U, p = self.world, self.world.ledger, self.world.units, self.world.params
        kind = U.kind[unit]
        tier = UNIT_LEVEL[kind].clip(0)
        if self._joint:  # a joint meeting's case is the department's work, done by the cluster's staff
            tier = np.maximum(tier, L.level[case])
        mean = w.catalogue.service_hours[L.category[case], tier]
        if self._exponential:
            noise = self.rng.exponential(1.0, case.size)
        else:
            noise = self.rng.lognormal(-(self._sigma**2) / 2, self._sigma, case.size)
        same_town = U.town[unit] == w.places.town_of_grid[L.grid[case]]
        travel = np.where(
            (U.layer[unit] == Layer.COUNTY) | ~same_town,
            p.population.county_travel_hours,
            p.population.town_travel_hours,
        )
        far = (kind == Kind.DEPARTMENT) | (kind == Kind.ENFORCEMENT)
        travel = np.where(far, 2.0 * travel, self._travel[unit])
        hours = mean * noise + travel
        hours = np.where(outcome == Outcome.ESCALATE, p.dispatch.escalation_assessment_hours, hours)
        hours = np.where(outcome == Outcome.BOUNCE, p.dispatch.bounce_assessment_hours, hours)
        hours = np.where(outcome == Outcome.TRIAGE, p.dispatch.triage_hours, hours)
        return np.where(outcome == Outcome.FOLLOW_UP, p.enforcement.follow_up_hours + travel, hours)

    # ------------------------------------------------------------- completions
    def complete(self, day: int, among: np.ndarray | None = None) -> int:
        """Act on every job finished today (optionally only ``among`` these); returns how many.

        Each outcome has its rule, applied in this order: triaged, bounced, escalated,
        worked, followed up; a rule returns which of its cases are resolved, and those are
        resolved together, in time order. A hand-off between units without a command
        centre takes an exponential ``handoff_days`` (drawn for every finished job, in order).
        """
        L, p = self.world.ledger, self.world.params.dispatch
        ids = L.due(Stage.QUEUED, day + 1.0, among)
        if ids.size == 0:
            return 0
        t, out = L.next_t[ids], L.outcome[ids]
        hand = np.zeros(ids.size) if p.command_centre else self.rng.exponential(p.handoff_days, ids.size)
        resolve = np.zeros(ids.size, dtype=bool)
        rules: tuple[tuple[int, Rule], ...] = (
            (Outcome.TRIAGE, self._triaged),
            (Outcome.BOUNCE, self._bounced),
            (Outcome.ESCALATE, self._escalated),
            (Outcome.WORK, self._worked),
            (Outcome.FOLLOW_UP, self._followed_up),
        )
        for outcome, rule in rules:
            sel = np.flatnonzero(out == outcome)
            if sel.size:
                done = rule(ids[sel], t[sel], hand[sel])
                resolve[sel[done]] = True
        self._resolve(ids[resolve], t[resolve])
        return int(ids.size)

    def _triaged(self, ids: np.ndarray, t: np.ndarray, hand: np.ndarray) -> np.ndarray:
        """The centre has triaged the report: dispatch sends it on now."""
        self.world.ledger.redispatch(ids, t, triaged=True)
        return NONE

    def _bounced(self, ids: np.ndarray, t: np.ndarray, hand: np.ndarray) -> np.ndarray:
        """A wrong unit sends the case back to the layer that sent it (hook ``bounced``), or —
        past ``max_bounces`` — it is dropped. With two-way assessment, a rated unit instead
        forwards it to the unit with authority with its response chance (no bounce)."""
        w, L, U = self.world, self.world.ledger, self.world.units
        if w.params.assessment.enabled:  # a rated unit answers: forwards it to the right unit
            on = self.answer.random(ids.size) < w.unit_response[L.unit[ids]]
            fwd = ids[on]
            L.send(fwd, L.route[fwd, L.route_pos[fwd]], (t + hand)[on], Outcome.WORK)
            ids, t, hand = ids[~on], t[~on], hand[~on]
        w.hooks.emit("bounced", ids, L.unit[ids])
        L.bounces[ids] += 1
        over = L.bounces[ids] > w.params.dispatch.max_bounces
        L.drop(ids[over], t[over], DropReason.BOUNCE_LIMIT)
        back = ids[~over]
        L.at_layer[back] = U.layer[L.unit[back]]  # the sender, at the wrong unit's layer
        L.redispatch(back, (t + hand)[~over], triaged=False)
        return NONE

    def _escalated(self, ids: np.ndarray, t: np.ndarray, hand: np.ndarray) -> np.ndarray:
        """A unit without the authority passes the case up (with a centre: an escalation)."""
        w, L = self.world, self.world.ledger
        L.at_layer[ids] = w.units.layer[L.unit[ids]]
        if w.params.dispatch.command_centre:
            L.count_escalations(ids, 1)
        L.redispatch(ids, t, triaged=False)
        return NONE

    def _worked(self, ids: np.ndarray, t: np.ndarray, hand: np.ndarray) -> np.ndarray:
        """Work done: on to the route's next unit, or resolved unless more is scheduled."""
        L = self.world.ledger
        more = L.route_pos[ids] + 1 < L.route_len[ids]
        nxt = ids[more]
        L.route_pos[nxt] += 1
        L.send(nxt, L.route[nxt, L.route_pos[nxt]], (t + hand)[more], Outcome.WORK)
        end = ~more
        self.world.hooks.emit("work_done", ids[end], L.unit[ids[end]], t[end])
        return end & (L.stage[ids] == Stage.QUEUED)

    def _followed_up(self, ids: np.ndarray, t: np.ndarray, hand: np.ndarray) -> np.ndarray:
        """The follow-up visit settles the case."""
        return np.ones(ids.size, dtype=bool)

    def _resolve(self, ids: np.ndarray, t: np.ndarray) -> None:
        L, U = self.world.ledger, self.world.units
        unit = L.unit[ids]
        L.resolve(ids, t, unit, UNIT_LEVEL[U.kind[unit]])
