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

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.core.world import World


class Supervision:
    """Draws whether each resolution is poor and has the grid supervisors reopen those
    they check.

    Hooks: ``resolved`` (after closure has drawn the verification delay).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("quality")
        g, cal = world.params.grid, world.params.calendar.grid
        self.capacity = g.supervisors_per_grid * cal.hours_per_day / g.check_hours
        """Checks per grid per working day."""
        self.left = np.zeros(world.places.n_grids)
        self.day = -1
        if world.catalogue.poor.any():
            world.hooks.subscribe("resolved", self.check)

    def check(self, ids: np.ndarray, t: np.ndarray) -> None:
        """Cases resolved at ``t``: which resolutions are poor, and which of those the
        supervisors check and reopen at the end of their verification."""
        L = self.world.ledger
        L.poor[ids] = self.rng.random(ids.size) < self.world.catalogue.poor[L.category[ids]]
        if self.capacity == 0 or ids.size == 0:
            return
        checked = self._checks(int(t[0]), L.grid[ids])
        caught = ids[checked & L.poor[ids]]
        L.reopen(caught, L.next_t[caught])

    def _checks(self, day: int, grid: np.ndarray) -> np.ndarray:
        """Which of these resolutions (in order) the grids' supervisors still have time to
        check on ``day``; uses up their checks."""
        if day != self.day:
            self.day = day
            working = day % 7 < self.world.params.calendar.grid.days_per_week
            self.left[:] = self.capacity if working else 0.0
        order = np.argsort(grid, kind="stable")
        first = np.searchsorted(grid[order], grid[order], side="left")
        rank = np.empty(grid.size, dtype=np.int64)
        rank[order] = np.arange(grid.size) - first  # earlier resolutions of the same grid
        checked = rank < self.left[grid]
        self.left -= np.bincount(grid[checked], minlength=self.left.size)
        return checked
