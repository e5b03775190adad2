"""The workforce and its units as Mesa agents: who holds which authority, staff and place.

Agents are where rules are read: each unit says what it may handle (``can_handle``),
where it sits and how many staff it has. The day-to-day movement of cases is done on
arrays by the mechanisms (:mod:`sim.core.mechanisms`), which read these agents once, at
set-up, through :class:`sim.core.units.UnitTable`. A grid team stands for the grid's
patrollers and grid leader(s) ("4+N", 001); residents are arrays (:mod:`sim.core.mechanisms.population`).
"""

from __future__ import annotations

from typing import ClassVar

import mesa

KINDS = ("grid", "department", "enforcement", "centre", "desk", "window")
GRID_KIND, DEPT_KIND, ENF_KIND, CENTRE_KIND, DESK_KIND, WINDOW_KIND = range(6)


class Unit(mesa.Agent):
    """A handling unit: a team of ``staff`` servers with authority over ``domains``.

    Args:
        model: the model.
        layer: place in the hierarchy (0 grid, 2 town, 3 county).
        town: the town it sits in, or -1 at the county seat.
        domains: the domains it holds authority over (empty for the grid: all small issues).
        staff: number of staff who handle cases (servers of its queue).
    """

    kind: ClassVar[int] = -1
    max_level: ClassVar[int] = -1
    calendar: ClassVar[str] = "office"

    def __init__(
        self, model: mesa.Model, layer: int, town: int, domains: tuple[str, ...], staff: int
    ) -> None:
        super().__init__(model)
        self.layer, self.town, self.domains, self.staff = layer, town, domains, staff
        self.index = -1  # position in the unit table, set by UnitTable

    def can_handle(self, level: int, domains: tuple[str, ...]) -> bool:
        """Whether this unit holds the authority for an issue at ``level`` in ``domains``."""
        if level != self.max_level:
            return False
        return self.max_level == 0 or set(domains) <= set(self.domains)


class GridTeam(Unit):
    """The team of patrollers and grid leader(s) of one basic grid — or, with clusters
    (片区组团, 002), the pooled teams of all grids of a cluster, who handle as one.

    With patrol–handling separation the patrollers only patrol and the leaders only
    handle. Without it the team works as one pool of grid workers: every member both
    handles and patrols, handling first, so handling time comes out of patrol time (the
    same headcount either way; only the division of labour changes)."""

    kind, max_level, calendar = GRID_KIND, 0, "grid"

    def __init__(
        self,
        model: mesa.Model,
        grids: tuple[int, ...],
        town: int,
        patrollers: int,
        leaders: int,
        separation: bool,
    ) -> None:
        per_grid = leaders if separation else patrollers + leaders
        super().__init__(model, 0, town, (), per_grid * len(grids))
        self.grids, self.patrollers, self.leaders, self.separation = grids, patrollers, leaders, separation


class Department(Unit):
    """A county line department, or a merged town bureau holding several domains."""

    kind, max_level, calendar = DEPT_KIND, 1, "office"


class EnforcementSquad(Unit):
    """A county line enforcement team (one domain) or a comprehensive town squad holding
    devolved penalty powers over several domains; ``towns`` lists the towns it serves."""

    kind, max_level, calendar = ENF_KIND, 2, "enforcement"

    def __init__(
        self,
        model: mesa.Model,
        layer: int,
        town: int,
        domains: tuple[str, ...],
        staff: int,
        towns: tuple[int, ...],
    ) -> None:
        super().__init__(model, layer, town, domains, staff)
        self.towns = towns


class CommandCentre(Unit):
    """Receives reports from every channel, triages and dispatches to the unit with authority."""

    kind, max_level, calendar = CENTRE_KIND, -1, "centre"


class ApprovalDesk(Unit):
    """A department's desk that takes and approves service requests."""

    kind, max_level, calendar = DESK_KIND, -1, "office"


class WindowCounter(Unit):
    """The one window: takes every request at one counter and routes it behind."""

    kind, max_level, calendar = WINDOW_KIND, -1, "office"
