"""The workforce and its units as Mesa agents: who holds which authority, staff and place,
and the rules by which each kind of unit decides.

Each kind of unit is one agent class, and the facts of a kind are declared once, as
class attributes: its :class:`~sim.core.kinds.Kind`, the ``level`` of issues it may
settle (a :class:`~sim.core.kinds.Tier`, or -1), its working ``calendar``, its ``label``
in tables and whether the daily table tracks its ``backlog``. Every table that maps
kinds (:data:`KINDS`, :data:`UNIT_LEVEL`, :data:`KIND_CALENDAR`, :data:`BACKLOG_KINDS`)
is derived from these classes.

The agents decide: what a unit may handle (:meth:`Unit.can_handle`, read when routes
are built) and, each day, how a kind's units plan their time (:meth:`Unit.plan_day`,
called by the model through Mesa's ``agents_by_type``). A kind decides on its arrays
at once (a county has thousands of grid teams), but the rule lives on its class.
Cases and residents are arrays (:mod:`sim.core.ledger`, :mod:`sim.core.mechanisms`).
A grid team stands for the grid's patrollers and grid leader(s) ("4+N", 001); the grid
police officer is a unit of his own (:class:`GridPolice`), and the grid supervisor checks
resolutions (:mod:`sim.core.mechanisms.supervision`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from sim.core.kinds import Kind, Layer, Tier
from sim.core.params import Params, Shift

if TYPE_CHECKING:
    from sim.core.world import World


class Unit(mesa.Agent):
    """A handling unit: a team of ``staff`` servers with authority over ``domains``.

    Args:
        model: the model.
        layer: place in the hierarchy (grid, village, town or county).
        town: the town it sits in, or -1 at the county seat.
        domains: the domains it holds authority over (empty for the grid: all small issues).
        staff: number of staff who handle cases (servers of its queue).
    """

    kind: ClassVar[Kind]
    level: ClassVar[int] = -1
    """The level of issues it settles (a :class:`Tier`), or -1: it settles none."""
    calendar: ClassVar[str] = "office"
    """Its working calendar: a field of :class:`sim.core.params.Calendar`."""
    backlog: ClassVar[bool] = False
    """Whether the daily table counts the cases queued at units of this kind."""

    def __init__(
        self, model: mesa.Model, layer: int, town: int, domains: tuple[str, ...], staff: int
    ) -> None:
        super().__init__(model)
        self.layer, self.town, self.domains, self.staff = layer, town, domains, staff
        self.index = -1  # position in the unit table, set by UnitTable

    @classmethod
    def label(cls) -> str:
        """The kind's name in tables and KPI columns."""
        return cls.kind.name.lower()

    def can_handle(self, level: int, domains: tuple[str, ...]) -> bool:
        """Whether this unit holds the authority for an issue at ``level`` in ``domains``."""
        if level != self.level:
            return False
        return self.level in (Tier.GRID, Tier.VILLAGE) or set(domains) <= set(self.domains)

    @classmethod
    def prepare(cls, agents: mesa.agent.AgentSet, world: World) -> Any:
        """What the kind's daily rule needs from its agents, read once at set-up (or None)."""
        return None

    @classmethod
    def plan_day(cls, prepared: Any, world: World, day: int) -> None:
        """The kind's decisions at the start of ``day`` (none unless a kind says otherwise)."""


@dataclass(frozen=True)
class TeamTime:
    """Grid teams as arrays, read once from the agents for their daily time budget.

    ``units[i]`` is team ``i``'s unit index; ``servers[i, j]`` the ``j``-th handling
    server of team ``i`` (``ok`` masks the padding; ``staff[i]`` counts them);
    ``patrollers[i]`` the team's patrollers per grid; ``grids[i]`` its grids;
    ``separation`` whether patrol and handling are separate jobs; ``task_hours`` the
    assigned-task hours each handling server does first every working day.
    """

    units: np.ndarray
    servers: np.ndarray
    ok: np.ndarray
    staff: np.ndarray
    patrollers: np.ndarray
    grids: np.ndarray
    separation: bool
    task_hours: float


class GridTeam(Unit):
    """The team of patrollers and grid leader(s) of one basic grid — or, with clusters
    (片区组团, 002), the pooled teams of all grids of a cluster, who handle as one.

    A grid worker's day is a time budget (MODEL.md §3): the tasks line departments push
    down (``assigned_tasks``, 上面千条线，下面一根针) come first, then handling, then
    patrol. Without patrol–handling separation the team is one pool: every member does
    his tasks, handles, and patrols with what is left, and is the less inclined to report
    an issue he would have to fix himself the more work he has pending
    (``grid.report_reluctance``). With separation the patrollers' time is protected: they
    patrol the whole shift and report everything, and the grid's tasks go with the
    handling to the leaders (the same headcount either way; only the division of labour
    changes)."""

    kind, level, calendar, backlog = Kind.GRID, Tier.GRID, "grid", True

    def __init__(
        self,
        model: mesa.Model,
        grids: tuple[int, ...],
        town: int,
        patrollers: int,
        leaders: int,
        separation: bool,
    ) -> None:
        staff = GridTeam.handlers(patrollers, leaders, separation) * len(grids)
        super().__init__(model, Layer.GRID, town, (), staff)
        self.grids, self.patrollers, self.separation = grids, patrollers, separation

    @staticmethod
    def handlers(patrollers: int, leaders: int, separation: bool) -> int:
        """Staff per grid who handle cases: the leaders with separation, everyone without."""
        return leaders if separation else patrollers + leaders

    @staticmethod
    def task_hours(p: Params) -> float:
        """Assigned-task hours each handler does first every working day: his own without
        separation; with it, the leaders share the tasks of the whole grid, unless the
        scenario gives them to the village (``grid.tasks_to``)."""
        g = p.grid
        if g.separation and g.tasks_to == "village":
            return 0.0
        handlers = GridTeam.handlers(g.patrollers_per_grid, g.leaders_per_grid, g.separation)
        workers = g.patrollers_per_grid + g.leaders_per_grid
        return p.assigned_tasks.hours_per_worker_per_day * workers / handlers

    @staticmethod
    def village_task_hours(p: Params) -> float:
        """Assigned-task hours per grid and working day that village staff do for the grid."""
        g = p.grid
        if not (g.separation and g.tasks_to == "village"):
            return 0.0
        return p.assigned_tasks.hours_per_worker_per_day * (g.patrollers_per_grid + g.leaders_per_grid)

    @classmethod
    def prepare(cls, agents: mesa.agent.AgentSet, world: World) -> TeamTime:
        teams = sorted(agents, key=lambda a: a.index)
        U = world.units
        idx = np.array([t.index for t in teams], dtype=np.int64)
        staff = U.staff[idx]
        width = int(staff.max()) if staff.size else 0
        return TeamTime(
            units=idx,
            servers=U.first[idx][:, None] + np.arange(width)[None, :],
            ok=np.arange(width)[None, :] < staff[:, None],
            staff=staff.astype(np.int64),
            patrollers=np.array([t.patrollers for t in teams], dtype=float),
            grids=np.array([len(t.grids) for t in teams], dtype=float),
            separation=all(t.separation for t in teams),
            task_hours=GridTeam.task_hours(world.params),
        )

    @classmethod
    def plan_day(cls, prepared: TeamTime, world: World, day: int) -> None:
        """The day's time budget: sets ``world.patrol_hours`` and ``world.report_probability``
        per grid, and books the day's assigned tasks as work.

        Each handler's first ``task_hours`` of a working day go to assigned tasks (his
        handling queue runs on the rest of the shift, :func:`handling_shift`). Separated
        patrollers patrol their whole shift and report everything they find. Unseparated
        workers patrol with the hours their tasks and handling queue leave them today (a
        cluster's pooled workers share them equally among its grids), and report an issue
        they would fix themselves with probability ``exp(-reluctance × pending / shift)``,
        ``pending`` being the hours of tasks and booked handling per worker at the day's
        start. No patrol on days off.
        """
        p = world.params
        cal, team = p.calendar.grid, world.units.grid_unit
        if day % 7 >= cal.days_per_week:
            world.patrol_hours = np.zeros(team.size)
            return
        staff = prepared.staff
        if prepared.task_hours > 0:
            world.work.record(prepared.units, np.full(staff.size, float(day)), staff * prepared.task_hours)
        if prepared.separation:
            world.patrol_hours = (prepared.patrollers * cal.hours_per_day)[team]
            world.report_probability = np.ones(team.size)
            return
        handling = cal.hours_per_day - prepared.task_hours
        open_ = day + (cal.start_hour + prepared.task_hours) / 24.0
        ahead = np.maximum(world.units.free_at[prepared.servers] - open_, 0.0)  # days of booked work
        busy = np.minimum(ahead * 24.0, handling)  # today's handling hours
        team_free = ((handling - busy) * prepared.ok).sum(axis=1)
        world.patrol_hours = (team_free / prepared.grids)[team]
        booked = busy + np.maximum(ahead - 1.0, 0.0) * handling  # working hours, weekends aside
        pending = prepared.task_hours + (booked * prepared.ok).sum(axis=1) / staff
        reluctance = p.grid.report_reluctance
        world.report_probability = np.exp(-reluctance * pending / cal.hours_per_day)[team]


def handling_shift(p: Params) -> Shift:
    """The part of the grid shift in which grid handlers handle: after their assigned tasks."""
    cal, tasks = p.calendar.grid, GridTeam.task_hours(p)
    return cal.model_copy(
        update={"start_hour": cal.start_hour + tasks, "hours_per_day": cal.hours_per_day - tasks}
    )


class VillageStaff(Unit):
    """The staff of one village (community) who settle its "big" issues that need no
    department (大事不出村, 001), and the grid-level issues of categories its grids may not
    settle; ``village`` is the village's index. With the cluster's own centre (片区组团,
    002) one unit holds the staff of all the cluster's ``villages``, who serve one queue at
    the cluster centre and settle there what the cluster's joint meetings take on."""

    kind, level, calendar, backlog = Kind.VILLAGE, Tier.VILLAGE, "office", True

    def __init__(
        self, model: mesa.Model, town: int, village: int, staff: int, villages: tuple[int, ...] = ()
    ) -> None:
        super().__init__(model, Layer.VILLAGE, town, (), staff)
        self.village = village
        self.villages = villages or (village,)


class GridPolice(Unit):
    """The grid police officer(s) of one basic grid (网格警务员, the third post of "4+N", 001):
    they settle the grid's public-security issues (``grid.police_categories``) of the grid
    and village levels in the grid, beside the team, and report such issues themselves
    (:mod:`sim.core.mechanisms.discovery`); issues beyond the village level go on to the
    unit with authority. An officer does no assigned grid tasks: he works the
    law-enforcement calendar (``calendar.enforcement``); ``grid`` is the grid's index."""

    kind, level, calendar, backlog = Kind.POLICE, Tier.GRID, "enforcement", True

    def __init__(self, model: mesa.Model, grid: int, town: int, staff: int) -> None:
        super().__init__(model, Layer.GRID, town, (), staff)
        self.grid = grid


class Department(Unit):
    """A county line department, or a merged town bureau holding several domains."""

    kind, level, calendar, backlog = Kind.DEPARTMENT, Tier.DEPARTMENT, "office", True


class EnforcementSquad(Unit):
    """A county line enforcement team (one domain) or a comprehensive town squad holding
    devolved penalty powers over several domains; ``towns`` lists the towns it serves.

    With powers as items and a review (``powers.review_days``), the towns decide which
    items they keep (:meth:`plan_day`)."""

    kind, level, calendar, backlog = Kind.ENFORCEMENT, Tier.ENFORCEMENT, "enforcement", True

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

    @classmethod
    def plan_day(cls, prepared: Any, world: World, day: int) -> None:
        """Every ``powers.review_days`` days, for ``review_rounds`` reviews (the trial
        period), a town squad hands back to the county the items it cannot exercise
        (Zhangpu, 000: 将无法有效承接的…191项行政执法权限还给市里): those used fewer than
        ``min_uses`` times since the last review, and those whose on-site attempts failed
        more often than ``max_failure_share``
        (:meth:`sim.core.mechanisms.powers.Powers.hand_back`)."""
        pw, powers = world.params.powers, world.powers
        if powers is None or not pw.review_days or day == 0 or day % pw.review_days:
            return
        if day > pw.review_days * pw.review_rounds:
            return
        failing = powers.fails > pw.max_failure_share * powers.attempts
        powers.hand_back((powers.uses < pw.min_uses) | failing)


class CommandCentre(Unit):
    """Receives reports from every channel, triages and dispatches to the unit with authority."""

    kind, calendar, backlog = Kind.CENTRE, "centre", True


class ApprovalDesk(Unit):
    """A department's desk that takes and approves service requests."""

    kind = Kind.DESK


class WindowCounter(Unit):
    """The one window: takes every request at one counter and routes it behind."""

    kind = Kind.WINDOW


UNIT_CLASSES: tuple[type[Unit], ...] = (
    GridTeam,
    Department,
    EnforcementSquad,
    CommandCentre,
    ApprovalDesk,
    WindowCounter,
    VillageStaff,
    GridPolice,
)
"""One agent class per :class:`Kind`, in code order."""

KINDS: tuple[str, ...] = tuple(c.label() for c in UNIT_CLASSES)
"""Kind names in code order."""
UNIT_LEVEL = np.array([c.level for c in UNIT_CLASSES], dtype=np.int8)
"""The level each kind settles (-1: none), by kind code."""
KIND_CALENDAR: tuple[str, ...] = tuple(c.calendar for c in UNIT_CLASSES)
"""Each kind's working calendar, by kind code."""
BACKLOG_KINDS: tuple[str, ...] = tuple(c.label() for c in UNIT_CLASSES if c.backlog)
"""Kinds whose queued cases the daily table counts (``backlog_<kind>`` columns)."""
