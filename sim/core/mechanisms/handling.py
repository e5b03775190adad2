"""Handling: cases queue at units, are worked on, and leave resolved, escalated or bounced.

A case arriving at a unit joins its first-come-first-served queue (:mod:`sim.core.queues`).
What the unit does is fixed on arrival: if the case's level is above the unit's (it grew
on the way, or was sent too low), the unit only assesses it (``escalation_assessment_hours``) and
passes it up to the unit with authority (an escalation; the model's tiers are the grid,
departments and enforcement — villages are a layer reports pass through, not a handling
tier); if the unit was the wrong one, it assesses and bounces
it; otherwise it works the catalogue's service hours for the unit's tier (lognormal or
exponential), plus the travel to the grid and back for departments and squads, and the
case stops growing. With the command centre's deadline watch, work that would finish
past the case's deadline is done in overtime when that is sooner (supervision). On
completion a case moves to its next unit, to a follow-up visit, or is resolved at the
tier of the unit and goes to closure (verification).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.agents import DEPT_KIND, ENF_KIND, GRID_KIND
from sim.core.ledger import (
    BOUNCE,
    BOUNCE_LIMIT,
    CLOSING,
    DISPATCH,
    DROPPED,
    ESCALATE,
    FOLLOW_UP,
    QUEUED,
    TRANSIT,
    TRIAGE,
    WORK,
)
from sim.core.mechanisms.population import level_at
from sim.core.places import COUNTY
from sim.core.queues import serve, serve_watched
from sim.core.rng import stream

if TYPE_CHECKING:
    from sim.core.model import GovModel

UNIT_LEVEL = np.array([0, 1, 2, -1, -1, -1], dtype=np.int8)
"""The level a unit of each kind handles (grid, department, enforcement; others none)."""


class Handling:
    """Queues cases at units and acts on finished jobs."""

    def __init__(self, model: GovModel) -> None:
        self.model = model
        self.rng = stream(model.seed, "handling")
        p = model.params
        cv2 = p.service_cv**2
        self._sigma = float(np.sqrt(np.log1p(cv2)))
        self._exponential = p.service_distribution == "exponential"
        U = model.units
        pooled = (U.kind == GRID_KIND) & (np.bincount(U.grid_unit, minlength=len(U.kind)) > 1)
        self._pool_travel = np.where(pooled, 2.0 * p.clusters.travel_hours, 0.0)  # a cluster's team

    # ---------------------------------------------------------------- arrivals
    def arrive(self, day: int, among: np.ndarray | None = None) -> int:
        """Queue every case arriving today (optionally only ``among`` these); returns how many."""
        m, L, U = self.model, self.model.ledger, self.model.units
        ids = L.due(TRANSIT, day + 1.0, among)
        if ids.size == 0:
            return 0
        unit, arrival = L.unit[ids], L.next_t[ids]
        outcome = L.outcome[ids].copy()
        work = outcome == WORK
        lvl = level_at(m, ids, arrival)
        esc = work & (lvl > UNIT_LEVEL[U.kind[unit]])
        outcome[esc] = ESCALATE
        keep = work & ~esc
        L.level[ids[keep]] = lvl[keep]
        L.outcome[ids] = outcome
        jobs_case, jobs_unit = ids, unit
        parallel = (
            keep & (L.route_len[ids] > 1) & (L.route_pos[ids] == 0) & m.params.departments.lead_department
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
            hours[np.flatnonzero(parallel)] += m.params.departments.lead_coordination_hours
        seq = np.lexsort((jobs_case, arrival[order]))
        booked = self._book(jobs_case[seq], jobs_unit[seq], arrival[order][seq], hours[seq])
        back = np.empty_like(seq)
        back[seq] = np.arange(seq.size)  # booking order -> job order
        start, finish, overtime = (b[back] for b in booked)
        if overtime.any():
            paid = overtime & (start < m.days)  # as record_busy: work past the horizon is left out
            L.supervised[jobs_case[paid]] = True
            np.add.at(m.overtime_hours, U.kind[jobs_unit[paid]], hours[paid])
            regular = ~overtime
            m.record_busy(U.kind[jobs_unit[regular]], start[regular], hours[regular])
        else:
            m.record_busy(U.kind[jobs_unit], start, hours)
        case_start = np.full(ids.size, np.inf)
        case_finish = np.full(ids.size, -np.inf)
        np.minimum.at(case_start, order, start)
        np.maximum.at(case_finish, order, finish)
        L.stage[ids], L.next_t[ids] = QUEUED, case_finish
        first = keep & np.isnan(L.started[ids])
        L.started[ids[first]] = case_start[first]
        visit = keep & (U.kind[unit] == ENF_KIND) & ~L.followed[ids] & (L.on_site[ids] < 0)
        m.enforcement.first_visit(ids[visit], case_start[visit])
        return int(ids.size)

    def _book(
        self, case: np.ndarray, unit: np.ndarray, arrival: np.ndarray, hours: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Book jobs (in arrival order) on their units' servers: start, finish, worked in overtime.

        With the centre's deadline watch, a job of work whose regular finish would pass the
        case's deadline (discovery plus the category's ``deadline_days``) is supervised:
        worked in overtime when that is sooner (:func:`sim.core.queues.serve_watched`).
        """
        m, L, U = self.model, self.model.ledger, self.model.units
        args = (U.first, U.staff, U.calendar, U.calendars)
        if not m.params.dispatch.deadline_watch:
            start, finish = serve(U.free_at, *args, unit.astype(np.int64), arrival, hours)
            return start, finish, np.zeros(unit.size, dtype=bool)
        handles = UNIT_LEVEL[U.kind[unit]] >= 0
        work = handles & np.isin(L.outcome[case], (WORK, FOLLOW_UP))
        deadline = np.where(work, L.discovered[case] + m.catalogue.deadline[L.category[case]], np.inf)
        return serve_watched(
            U.free_at,
            U.overtime_free_at,
            *args,
            U.overtime_calendars,
            unit.astype(np.int64),
            arrival,
            hours,
            deadline,
        )

    def _hours(self, case: np.ndarray, unit: np.ndarray, outcome: np.ndarray) -> np.ndarray:
        """Hours of work of each job."""
        m, L, U, p = self.model, self.model.ledger, self.model.units, self.model.params
        kind = U.kind[unit]
        tier = UNIT_LEVEL[kind].clip(0)
        mean = m.catalogue.service_hours[L.category[case], tier]
        if self._exponential:
            noise = self.rng.exponential(1.0, case.size)
        else:
            noise = self.rng.lognormal(-(self._sigma**2) / 2, self._sigma, case.size)
        same_town = U.town[unit] == m.places.town_of_grid[L.grid[case]]
        travel = np.where(
            (U.layer[unit] == COUNTY) | ~same_town,
            p.population.county_travel_hours,
            p.population.town_travel_hours,
        )
        travel = np.where((kind == DEPT_KIND) | (kind == ENF_KIND), 2.0 * travel, self._pool_travel[unit])
        hours = mean * noise + travel
        hours = np.where(outcome == ESCALATE, p.dispatch.escalation_assessment_hours, hours)
        hours = np.where(outcome == BOUNCE, p.dispatch.bounce_assessment_hours, hours)
        hours = np.where(outcome == TRIAGE, p.dispatch.triage_hours, hours)
        return np.where(outcome == FOLLOW_UP, p.enforcement.follow_up_hours + travel, hours)

    # ------------------------------------------------------------- completions
    def complete(self, day: int, among: np.ndarray | None = None) -> int:
        """Act on every job finished today (optionally only ``among`` these); returns how many."""
        m, L, U, p = self.model, self.model.ledger, self.model.units, self.model.params.dispatch
        ids = L.due(QUEUED, day + 1.0, among)
        if ids.size == 0:
            return 0
        t, out, unit = L.next_t[ids], L.outcome[ids], L.unit[ids]
        hand = np.zeros(ids.size) if p.command_centre else self.rng.exponential(p.handoff_days, ids.size)

        tri = out == TRIAGE
        self._redispatch(ids[tri], t[tri], triaged=True)

        bounce = out == BOUNCE
        L.bounces[ids[bounce]] += 1
        over = bounce & (L.bounces[ids] > p.max_bounces)
        gone = ids[over]
        L.stage[gone], L.drop_reason[gone], L.closed[gone] = DROPPED, BOUNCE_LIMIT, t[over]
        m.population.feedback(gone, dropped=True)
        back = bounce & ~over
        L.at_layer[ids[back]] = U.layer[unit[back]]  # the sender, at the wrong unit's layer
        self._redispatch(ids[back], (t + hand)[back], triaged=False)

        esc = out == ESCALATE
        L.at_layer[ids[esc]] = U.layer[unit[esc]]
        if p.command_centre:
            L.escalations[ids[esc]] += 1
        self._redispatch(ids[esc], t[esc], triaged=False)

        work = out == WORK
        more = work & (L.route_pos[ids] + 1 < L.route_len[ids])
        nxt = ids[more]
        L.route_pos[nxt] += 1
        self._transit(nxt, L.route[nxt, L.route_pos[nxt]], (t + hand)[more], WORK)

        follow = work & ~more & (U.kind[unit] == ENF_KIND) & (L.on_site[ids] == 0) & ~L.followed[ids]
        fol = ids[follow]
        L.followed[fol] = True
        self._transit(fol, unit[follow], t[follow] + m.enforcement.follow_up_delay(fol.size), FOLLOW_UP)

        done = (work & ~more & ~follow) | (out == FOLLOW_UP)
        res = ids[done]
        L.resolved[res], L.resolver[res] = t[done], unit[done]
        L.tier[res] = UNIT_LEVEL[U.kind[unit[done]]]
        L.stage[res] = CLOSING
        L.next_t[res] = t[done] + self.rng.exponential(p.verification_days, res.size)
        return int(ids.size)

    def _redispatch(self, ids: np.ndarray, t: np.ndarray, triaged: bool) -> None:
        L = self.model.ledger
        L.stage[ids], L.next_t[ids], L.triaged[ids] = DISPATCH, t, triaged

    def _transit(self, ids: np.ndarray, unit: np.ndarray, t: np.ndarray, outcome: int) -> None:
        L = self.model.ledger
        L.stage[ids], L.unit[ids], L.next_t[ids], L.outcome[ids] = TRANSIT, unit, t, outcome
