"""Staff and paid hours of a scenario, counted from its parameters (no model is built).

Grid staff count every patroller, leader and supervisor of every basic grid (the
supervisors check resolutions, :mod:`sim.core.mechanisms.supervision`; the grid police
officers are units of their own kind) and the patrollers of the professional grids
(:mod:`sim.core.mechanisms.professional_grids`, when ``professional_grids`` are
enabled); every other kind counts the
staff of its units (at least one per unit, as the unit table holds them). Paid hours
are staff × the kind's shift hours × its working days, plus the hours village staff are
paid for grid tasks given to them; overtime is a run's outcome and is added by
:func:`sim.core.output.staff_hours`.
"""

from __future__ import annotations

import numpy as np

from sim.core.agents import KIND_CALENDAR, KINDS, GridTeam
from sim.core.kinds import Kind
from sim.core.mechanisms import professional_grids
from sim.core.params import Params
from sim.core.places import build_places
from sim.core.queues import working_days
from sim.core.units import plan_units


def count_staff(p: Params, kind: np.ndarray, staff: np.ndarray, n_grids: int) -> dict[str, int]:
    """Staff by kind name, from the units' kinds and staff."""
    out = {k: int(staff[kind == i].sum()) for i, k in enumerate(KINDS)}
    g = p.grid
    basic = n_grids * (g.patrollers_per_grid + g.leaders_per_grid + g.supervisors_per_grid)
    out[KINDS[Kind.GRID]] = basic + professional_grids.patrollers(p, n_grids)
    return out


def staff_by_kind(p: Params) -> dict[str, int]:
    """Staff of each kind in the scenario ``p``."""
    places = build_places(p.population)
    specs = plan_units(p, places).specs
    kind = np.array([s.cls.kind for s in specs], dtype=np.int64)
    staff = np.array([max(s.staff, 1) for s in specs], dtype=np.int64)
    return count_staff(p, kind, staff, places.n_grids)


def paid_hours(p: Params, staff: dict[str, int], days: int) -> float:
    """Paid hours of ``staff`` (by kind) over ``days`` days, on each kind's calendar."""
    total = 0.0
    for k, cal in zip(KINDS, KIND_CALENDAR, strict=True):
        shift = getattr(p.calendar, cal)
        total += staff[k] * shift.hours_per_day * working_days(shift, days)
    return total


def village_task_hours(p: Params, n_grids: int, days: int) -> float:
    """Hours village staff are paid for the grids' assigned tasks (with separation and
    ``grid.tasks_to: village``; else 0), over ``days`` days."""
    return GridTeam.village_task_hours(p) * n_grids * working_days(p.calendar.grid, days)


def scenario_paid_hours(p: Params, days: int) -> float:
    """Paid staff-hours of the scenario ``p`` over ``days`` days, without overtime."""
    n_grids = build_places(p.population).n_grids
    return paid_hours(p, staff_by_kind(p), days) + village_task_hours(p, n_grids, days)
