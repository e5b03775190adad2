"""The parameter tree: one frozen, validated pydantic model per section.

A resolved scenario is a :class:`Params`: the *context* sections (``population``,
``domains``, ``categories``, ``residents``, ``service_requests``) describe the place and
its demand; the *mechanism* sections (``calendar``, ``grid``, ``dispatch``,
``departments``, ``enforcement``, ``one_window``) describe the governance set-up.
Loading from YAML, ``extends:`` and overrides live in :mod:`sim.core.scenarios`; this module
only says what is allowed.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.core.kinds import LEVELS
from sim.core.programme_params import (
    Assessment,
    Clusters,
    Powers,
    ProfessionalGrids,
    Village,
)
from sim.core.sections import (
    MAX_DAYS_FIELD,
    MAX_RATE,
    MAX_STAFF_PER_10K,
    Days,
    FieldError,
    Hours,
    JobHours,
    Probability,
    Section,
    StaffPer10k,
)
from sim.errors import did_you_mean


# --------------------------------------------------------------------------- context
class Population(Section):
    """Places and people (Wujiang: 1.5 million+ residents, 8 towns; 001)."""

    residents: int = Field(190_000, ge=100, le=20_000_000)
    towns: int = Field(1, ge=1, le=200)
    households_per_grid: int = Field(300, ge=10, le=5_000)
    persons_per_household: float = Field(2.6, gt=0.5, le=10)
    grids_per_village: int = Field(10, ge=1, le=200)
    county_travel_hours: float = Field(1.0, ge=0, le=24, description="one way, county seat to a grid")
    town_travel_hours: float = Field(0.25, ge=0, le=24, description="one way, town seat to a grid")


class Category(Section):
    """One issue category of the catalogue (rates, reporting, detection, authority, work)."""

    rate_per_1000_per_day: float = Field(ge=0, le=MAX_RATE)
    domains: tuple[str, ...] = Field(min_length=1, max_length=4)
    initial_level: tuple[Probability, Probability, Probability, Probability] = Field(
        description="probabilities that a new issue needs the grid / the village / a department / "
        "enforcement (the level it needs at occurrence)"
    )
    max_level: Literal["grid", "village", "department", "enforcement"] = "department"
    growth_days: float = Field(
        gt=0, le=1e9, description="mean days for an unhandled issue to grow a level (1e9: never)"
    )
    detectability: float = Field(
        ge=0, le=1000, description="daily detection hazard for one full-time patroller"
    )
    self_report_probability: Probability = Field(ge=0, le=1)
    self_report_delay_days: Days = 1.0
    service_hours: tuple[JobHours, JobHours, JobHours, JobHours] = Field(
        description="mean hours of work at the grid, the village, a department, an enforcement squad"
    )
    on_site_probability: Probability = Field(0.0, ge=0, le=1)
    freshness_days: float = Field(3.0, gt=0, le=MAX_DAYS_FIELD)
    deadline_days: float = Field(7.0, gt=0, le=MAX_DAYS_FIELD)
    poor_resolution_probability: Probability = Field(
        0.0,
        ge=0,
        le=1,
        description="chance that a resolution does not really settle the issue (assumption; 0: "
        "every resolution is sound): its resident learns nothing came of it unless a grid "
        "supervisor catches it and the case is reopened",
    )
    patience_days: float = Field(
        30.0,
        gt=0,
        le=MAX_DAYS_FIELD,
        description="days from the report after which a unit no longer takes the case up: "
        "it is closed without a resolution",
    )

    @field_validator("initial_level")
    @classmethod
    def _sums_to_one(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(p < 0 for p in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError(
                "must be four probabilities >= 0 (grid, village, department, enforcement) that sum to 1"
            )
        return v

    @model_validator(mode="after")
    def _levels_within_max(self) -> Category:
        top = LEVELS.index(self.max_level)
        if any(p > 0 for p in self.initial_level[top + 1 :]):
            raise ValueError(f"initial_level puts weight above max_level {self.max_level!r}")
        return self


class Residents(Section):
    """Residents' reporting behaviour and satisfaction."""

    willingness_mean: Probability = Field(0.8, gt=0, le=1)
    willingness_concentration: float = Field(8.0, gt=0, le=10_000, description="Beta distribution a+b")
    satisfaction_initial: Probability = Field(0.6, ge=0, le=1)
    learning_rate: Probability = Field(0.3, ge=0, le=1)
    reference_delay_days: float = Field(
        5.0, gt=0, le=MAX_DAYS_FIELD, description="delay at which satisfaction halves"
    )
    channel_shares: dict[Literal["hotline", "app", "walk_in"], float] = Field(
        default_factory=lambda: {"hotline": 0.5, "app": 0.3, "walk_in": 0.2}  # type: ignore[arg-type]
    )

    @field_validator("channel_shares")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if any(x < 0 for x in v.values()) or abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError("must be shares >= 0 that sum to 1")
        return v


class AssignedTasks(Section):
    """Tasks that line departments push down to the grid (forms, surveys, checks,
    meetings: 上面千条线，下面一根针; MODEL.md §3). They come first in a grid worker's day."""

    hours_per_worker_per_day: float = Field(
        2.0,
        ge=0,
        le=8,
        description="hours of assigned tasks per grid worker per working day (assumption; range 0-4)",
    )


class OneThing(Section):
    """A cross-department "one thing" request, e.g. a farmer's house-building (004)."""

    rate_per_1000_per_day: float = Field(0.005, ge=0, le=100, description="per office working day")
    steps: int = Field(7, ge=1, le=30, description="approval steps, department by department")
    steps_with_lead: int = Field(3, ge=1, le=30, description="steps when a lead department runs it (004)")
    processing_days: Days = Field(10.0, description="mean lag between taking and signing, per step")


class ServiceRequests(Section):
    """Licensing and other approvals asked for by residents (one window; 000)."""

    rate_per_1000_per_day: float = Field(
        0.1, ge=0, le=100, description="requests per 1,000 residents per office working day"
    )
    steps_probabilities: tuple[float, ...] = Field(
        (0.3, 0.3, 0.25, 0.15), description="probability that a request needs 1, 2, ... approvals"
    )
    step_hours: JobHours = 1.0
    processing_days: Days = Field(1.0, description="mean lag between taking and signing")
    trip_interval_days: Days = Field(1.5, description="mean days before a resident's next trip")
    incomplete_probability: Probability = Field(0.25, ge=0, le=1)
    deadline_days: float = Field(10.0, gt=0, le=MAX_DAYS_FIELD)
    one_thing: OneThing = OneThing()

    @field_validator("steps_probabilities")
    @classmethod
    def _steps(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(p < 0 for p in v) or abs(sum(v) - 1.0) > 1e-6:
            raise ValueError("must be probabilities >= 0 that sum to 1")
        return v


# ------------------------------------------------------------------------ mechanisms
class Shift(Section):
    """A working calendar: a daily window of hours on the first days of each week."""

    start_hour: float = Field(8.5, ge=0, lt=24)
    hours_per_day: float = Field(8.0, gt=0, le=24)
    days_per_week: int = Field(5, ge=1, le=7)

    @model_validator(mode="after")
    def _fits_day(self) -> Shift:
        if self.start_hour + self.hours_per_day > 24 + 1e-9:
            raise ValueError("start_hour + hours_per_day must be at most 24")
        return self


class Calendar(Section):
    """Working calendars per kind of staff (use hours_per_day 24, days_per_week 7 for 24/7)."""

    grid: Shift = Shift(days_per_week=6)
    office: Shift = Shift()
    enforcement: Shift = Shift(days_per_week=6)
    centre: Shift = Shift(start_hour=0, hours_per_day=24, days_per_week=7)


class Grid(Section):
    """The basic grid's team and patrol–handling separation (巡办分离; 001)."""

    separation: bool = False
    patrollers_per_grid: int = Field(1, ge=0, le=50)
    leaders_per_grid: int = Field(1, ge=0, le=50)
    volunteers_per_grid: int = Field(0, ge=0, le=200)
    volunteer_detectability_factor: float = Field(0.05, ge=0, le=1)
    tasks_to: Literal["leaders", "village"] = Field(
        "leaders",
        description="with separation, who does the grid's assigned tasks: its leaders, or village "
        "staff (paid for them, outside the grid team); without separation the grid's workers do",
    )
    settles: tuple[str, ...] | Literal["all"] = Field(
        "all",
        description="the service list of the basic grid: categories whose grid-level issues its team "
        "may settle (the others go to the village, or a department); 'all' for every category",
    )
    report_reluctance: float = Field(
        1.0,
        ge=0,
        le=20,
        description="how fast an unseparated worker's chance of reporting what he must fix himself "
        "falls with his pending work: exp(-reluctance × pending hours / shift hours)",
    )

    police_per_grid: int = Field(
        0,
        ge=0,
        le=50,
        description="grid police officers (网格警务员, 001) per grid; 0 = none: they settle and report "
        "the public-security categories (police_categories)",
    )
    police_categories: tuple[str, ...] = Field(
        (),
        description="with grid police officers, the public-security categories whose grid- and "
        "village-level issues the grid's officer settles in the grid and reports himself",
    )
    supervisors_per_grid: int = Field(
        0,
        ge=0,
        le=50,
        description="grid supervisors (网格督导员, 001) per grid; 0 = none: they check resolved cases "
        "of the grid and reopen poor resolutions",
    )
    check_hours: JobHours = Field(
        1.0,
        description="a supervisor's hours to check one resolved case on site (assumption); "
        "checks per working day are capped by the supervisors' shift hours",
    )

    @model_validator(mode="after")
    def _someone_handles(self) -> Grid:
        handlers = self.leaders_per_grid + (0 if self.separation else self.patrollers_per_grid)
        if handlers < 1:
            raise ValueError(
                "no one handles grid cases: with separation leaders_per_grid must be >= 1, "
                "without it patrollers_per_grid + leaders_per_grid must be >= 1"
            )
        return self


class Dispatch(Section):
    """How a report reaches the unit that handles it: the hierarchy, or a command centre."""

    command_centre: bool = False
    sub_centres: bool = Field(
        False, description="one command sub-centre per town instead of one county centre"
    )
    centre_staff_per_10k: float = Field(
        0.5, ge=0, le=MAX_STAFF_PER_10K, description="round-the-clock positions"
    )
    triage_hours: Hours = 0.1
    handoff_days: Days = Field(1.0, description="mean delay of one hand-off between layers")
    misroute_probability: Probability = Field(0.2, ge=0, le=1)
    handoff_loss_probability: Probability = Field(0.01, ge=0, le=1)
    max_bounces: int = Field(4, ge=0, le=100)
    bounce_assessment_hours: Hours = Field(0.5, description="a wrong unit's work before sending back")
    escalation_assessment_hours: Hours = Field(
        0.3, description="a unit's work on a case above its level before passing it up"
    )
    verification_days: Days = Field(1.0, description="mean days from resolution to closure")
    deadline_watch: bool = Field(
        False, description="the command centre supervises cases that would miss their deadline (overtime)"
    )
    overtime_hours_per_day: float = Field(
        2.0, ge=0, le=12, description="hours a day each handler may work after the shift on supervised cases"
    )

    @model_validator(mode="after")
    def _watch_needs_centre(self) -> Dispatch:
        if self.deadline_watch and not self.command_centre:
            raise ValueError("deadline_watch needs command_centre: true (the centre watches deadlines)")
        return self


class Departments(Section):
    """Line departments (county) or merged bureaus (town) holding authority over domains."""

    location: Literal["county", "town"] = "county"
    groups: tuple[tuple[str, ...], ...] = Field(
        (("land",), ("housing",), ("work_safety",), ("urban_management",), ("water",), ("justice",)),
        description="which domains each department holds; one group per department",
    )
    staff_per_10k: StaffPer10k = Field(22.0, description="all departments together, per 10,000 residents")
    lead_department: bool = False
    lead_coordination_hours: Hours = 1.0
    duty_list_coverage: Probability = Field(
        0.0, ge=0, le=1, description="share of items whose owner a duty list fixes (removes that misrouting)"
    )
    town_domains: tuple[str, ...] = Field(
        (), description="with location county: domains whose department work the duty list gives to towns"
    )
    moved_down_per_town: int = Field(
        0, ge=0, le=1000, description="department staff moved from county departments to each town's bureaus"
    )
    inspection_rate: float = Field(
        0.01, ge=0, le=1000, description="inspections' detection hazard relative to a full-time patroller's"
    )


class Enforcement(Section):
    """Line enforcement teams (county) or comprehensive town squads with devolved powers."""

    mode: Literal["line", "comprehensive"] = "line"
    devolved_domains: tuple[str, ...] = ()
    staff_per_10k: StaffPer10k = Field(6.0, description="all enforcement staff, per 10,000 residents")
    squads_per_town: int = Field(
        1, ge=1, le=20, description="comprehensive squads per town (per group of towns_per_squad towns)"
    )
    towns_per_squad: int = Field(1, ge=1, le=50)
    follow_up_days: Days = 5.0
    follow_up_hours: Hours = 3.0


class OneWindow(Section):
    """Service requests: taken at one window and routed behind it, or department by department."""

    enabled: bool = False
    parallel: bool = True
    window_hours: Hours = 0.3
    desk_staff_per_10k: StaffPer10k = Field(1.0, description="approval desks of all departments")
    window_staff_per_10k: StaffPer10k = Field(0.1, description="staff of the window counter itself")
    precheck: bool = True


# ------------------------------------------------------------------------------ root
CONTEXT_SECTIONS = (
    "population",
    "domains",
    "categories",
    "residents",
    "service_requests",
    "assigned_tasks",
)


MECHANISM_SECTIONS = (
    "calendar",
    "grid",
    "village",
    "dispatch",
    "departments",
    "enforcement",
    "one_window",
    "clusters",
    "professional_grids",
    "assessment",
    "powers",
)


class Params(Section):
    """A resolved scenario: its context and its mechanisms, validated together."""

    name: str = "unnamed"
    description: str = ""
    context: str = "town"
    service_distribution: Literal["lognormal", "exponential"] = "lognormal"
    service_cv: float = Field(0.6, gt=0, le=5)
    growth: bool = True

    population: Population = Population()
    domains: tuple[str, ...] = Field(
        ("land", "housing", "work_safety", "urban_management", "water", "justice"),
        min_length=1,
        max_length=100,
    )
    categories: dict[str, Category] = Field(min_length=1, max_length=1000)
    residents: Residents = Residents()
    service_requests: ServiceRequests = ServiceRequests()
    assigned_tasks: AssignedTasks = AssignedTasks()

    calendar: Calendar = Calendar()
    grid: Grid = Grid()
    village: Village = Village()
    dispatch: Dispatch = Dispatch()
    departments: Departments = Departments()
    enforcement: Enforcement = Enforcement()
    one_window: OneWindow = OneWindow()
    clusters: Clusters = Clusters()
    professional_grids: ProfessionalGrids = ProfessionalGrids()
    assessment: Assessment = Assessment()
    powers: Powers = Powers()

    @model_validator(mode="after")
    def _domains_consistent(self) -> Params:
        known = set(self.domains)
        for name, cat in self.categories.items():
            bad = sorted(set(cat.domains) - known)
            if bad:
                raise _not_among(f"categories.{name}.domains", bad, self.domains, "domains")
        grouped = [d for g in self.departments.groups for d in g]
        missing = sorted(known - set(grouped))
        dup = sorted({d for d in grouped if grouped.count(d) > 1})
        unknown = sorted(set(grouped) - known)
        if missing or dup or unknown:
            raise FieldError(
                "departments.groups",
                "must hold each domain exactly once "
                f"(missing {missing}, repeated {dup}, unknown {unknown}; domains {list(self.domains)})",
            )
        self._town_domains_whole_groups(known)
        bad = sorted(set(self.enforcement.devolved_domains) - known)
        if bad:
            raise _not_among("enforcement.devolved_domains", bad, self.domains)
        if len(self.service_requests.steps_probabilities) > len(self.domains):
            raise FieldError("service_requests.steps_probabilities", "more steps than domains")
        self._tasks_leave_time()
        if self.powers.review_days and not self.powers.items:
            raise FieldError(
                "powers.review_days", "needs powers.items: true (a town reviews the items it holds)"
            )
        self._categories_known()
        return self

    def _categories_known(self) -> None:
        """Every category a list names (service lists, police, joint meetings, professional
        patrols when they are on) is one of the catalogue's."""
        named: list[tuple[str, Collection[str]]] = [
            ("grid.settles", self.grid.settles),
            ("village.settles", self.village.settles),
            ("grid.police_categories", self.grid.police_categories),
            ("clusters.joint_settles", self.clusters.joint_settles),
        ]
        if self.professional_grids.enabled:
            kinds = self.professional_grids.kinds().items()
            named += [(f"professional_grids.{k}.patrols", g.patrols) for k, g in kinds]
        for field, names in named:
            bad = [] if names == "all" else sorted(set(names) - set(self.categories))
            if bad:
                raise _not_among(field, bad, self.categories, "categories")

    def _tasks_leave_time(self) -> None:
        g, shift = self.grid, self.calendar.grid.hours_per_day
        workers, handlers = g.patrollers_per_grid + g.leaders_per_grid, g.leaders_per_grid
        per_handler = self.assigned_tasks.hours_per_worker_per_day * workers / (
            handlers if g.separation else workers
        )
        if g.separation and g.tasks_to == "village":
            return
        if per_handler >= shift:
            raise FieldError(
                "assigned_tasks.hours_per_worker_per_day",
                f"grid handlers would spend {per_handler:g} h "
                f"of their {shift:g}-hour shift on assigned tasks (with separation the leaders take "
                "the whole grid's tasks) and have no time to handle; lower it or add grid leaders",
            )

    def _town_domains_whole_groups(self, known: set[str]) -> None:
        town = set(self.departments.town_domains)
        if town - known:
            raise _not_among("departments.town_domains", sorted(town - known), sorted(known))
        split = [g for g in self.departments.groups if 0 < len(town & set(g)) < len(g)]
        if split:
            raise FieldError("departments.town_domains", f"must hold whole department groups; split: {split}")
        if self.departments.moved_down_per_town and (self.departments.location == "town" or town >= known):
            raise FieldError("departments.moved_down_per_town", "needs county departments to move staff from")

    def settles(self, section: Literal["grid", "village"], category: str) -> bool:
        """Whether the grid's or the village's service list holds ``category``."""
        lst = self.grid.settles if section == "grid" else self.village.settles
        return lst == "all" or category in lst

    @property
    def category_names(self) -> tuple[str, ...]:
        """Category names in catalogue order (the order codes are assigned in)."""
        return tuple(self.categories)


def _not_among(field: str, bad: list[str], known: Collection[str], what: str = "") -> FieldError:
    """The error for the names ``bad`` that ``field`` holds and ``known`` (``what`` they are,
    for the message) lacks, with the names meant when they are close."""
    among = f"{what} {list(known)}" if what else str(list(known))
    return FieldError(field, f"{bad} not among {among}{did_you_mean(bad, known)}")
