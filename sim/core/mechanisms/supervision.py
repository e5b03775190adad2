"""Supervision: the grid supervisor (网格督导员, the fourth post of "4+N", 001) checks the
quality of resolutions and sends poor ones back.

Each resolution of a case is *poor* — it does not really settle the issue — with its
category's ``poor_resolution_probability`` (an *assumption*: 0.05 in the shipped
contexts, 0 by default, where every resolution is sound), drawn from the ``quality`` stream when the case is
resolved. Without a supervisor a poor resolution is verified and closed as any other
(:mod:`sim.core.mechanisms.closure`), and its resident learns that nothing came of the
issue (:meth:`sim.core.mechanisms.population.Population.closed`). With
``grid.supervisors_per_grid`` supervisors, the cases of each grid resolved on a grid
working day are checked on site in the order they are resolved, as many as the
supervisors' shift allows (``hours_per_day / check_hours`` checks each); a check finds a
poor resolution, and at the end of its verification the case is *reopened*: it goes back
to the unit that resolved it to be worked again (the ledger's ``reopen``), and its next
resolution may again be poor. Cases resolved beyond the day's checks, or on a day off,
close unchecked. The supervisors' hours are paid as grid staff
(:mod:`sim.core.staffing`); the rework is paid in the handlers' hours.
"""

from __future__ import annotations

import numpy as np

from sim.core.draws import RNG_QUALITY, uniform
from sim.core.jit import njit
from sim.core.ledger_flow import reopen
from sim.core.params import Params


def capacity(p: Params) -> float:
    """Checks per grid per working day: ``supervisors_per_grid × hours_per_day / check_hours``."""
    return p.grid.supervisors_per_grid * p.calendar.grid.hours_per_day / p.grid.check_hours


@njit(cache=True, inline="always")
def check(F, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Case ``i`` was resolved at ``t`` (after its verification was drawn): is the
    resolution poor, and do the grid's supervisors check it and reopen it at the end of its
    verification? (hook ``resolved``). ``F.sup.left`` holds each grid's checks left today,
    ``F.sup.day`` the day they were counted for."""
    C, S, sup = F.cases, F.s, F.sup
    if not S.poor_on:
        return
    C.poor[i] = uniform(F.keys, C.draws, RNG_QUALITY, i) < F.cat.poor[C.category[i]]
    if S.checks_per_day == 0:
        return
    day = int(np.floor(t))
    if day != sup.day[0]:  # a new day: the supervisors' checks, on the grid's working days
        sup.day[0] = day
        sup.left[:] = S.checks_per_day if day % 7 < S.grid_days_per_week else 0.0
    g = C.grid[i]
    if sup.left[g] > 0:  # checked, in the order resolutions come
        sup.left[g] -= 1.0
        if C.poor[i]:
            reopen(C, i, C.next_t[i])
