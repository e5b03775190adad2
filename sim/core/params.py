"""The parameter tree: one frozen, validated pydantic model per section.

A resolved scenario is a :class:`Params`: the *context* sections (``population``,
``domains``, ``categories``, ``residents``, ``service_requests``) describe the place and
its demand; the *mechanism* sections (``calendar``, ``grid``, ``dispatch``,
``departments``, ``enforcement``, ``one_window``) describe the governance set-up.
Loading from YAML, ``extends:`` and overrides live in :mod:`sim.core.scenarios`; this module
only says what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.core.kinds import LEVELS

Probability = float

# Physical bounds, so that whatever validates also runs to its end in bounded memory:
MAX_DAYS_FIELD = 3650.0
"""Longest duration a field may give (ten years)."""
MAX_JOB_HOURS = 2000.0
"""Most hours of work one job may take at one unit (a person-year)."""
MAX_STAFF_PER_10K = 1000.0
"""Most staff of one kind per 10,000 residents (a tenth of the population)."""
MAX_RATE = 1000.0
"""Most events per 1,000 residents per day (one per resident per day)."""

Days = Annotated[float, Field(ge=0, le=MAX_DAYS_FIELD)]
Hours = Annotated[float, Field(ge=0, le=MAX_JOB_HOURS)]
JobHours = Annotated[float, Field(gt=0, le=MAX_JOB_HOURS)]
StaffPer10k = Annotated[float, Field(gt=0, le=MAX_STAFF_PER_10K)]


class Section(BaseModel):
    """Base of every section: frozen, unknown keys rejected, every float finite."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)




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


class Assessment(Section):
    """Two-way assessment between towns and the county departments that serve them
    (部門鄉鎮之間“雙向考核”, 004): at the end of each period towns rate the county units
    (departments, line enforcement teams) on the cases those sent back or answered late,
    and departments rate towns on the cases those sent to the wrong unit; a poor score
    makes the rated side answer (see :mod:`sim.core.mechanisms.assessment`)."""

    enabled: bool = Field(False, description="towns and county departments rate each other each period")
    period_days: int = Field(30, ge=1, le=3650, description="days between two ratings (monthly; assumption)")
    response_per_failure: float = Field(
        2.0,
        ge=0,
        le=100,
        description="response of a rated side per unit of its failure share in the last period "
        "(the chance it answers a case it would fail; assumption)",
    )
    max_response: Probability = Field(
        0.8, ge=0, le=1, description="the largest response chance (bounded effort; assumption)"
    )


# ------------------------------------------------------------------------------ root
CONTEXT_SECTIONS = (
    "population",
    "domains",
    "categories",
    "residents",
    "service_requests",
    "assigned_tasks",
)


class Clusters(Section):
    """Neighbouring villages (communities) grouped into clusters that pool grid staff (片区组团, 002)."""

    villages_per_cluster: int = Field(1, ge=1, le=100, description="1 means no clusters")
    travel_hours: float = Field(0.25, ge=0, le=24, description="one way, within a cluster, pooled handling")
    centre: bool = Field(
        False,
        description="the cluster's own centre (002: 片区组团): the staff of its villages serve one queue "
        "at the cluster centre, which takes the cluster's village-level cases",
    )
    joint_settles: tuple[str, ...] = Field(
        (),
        description="with the centre: categories whose issues that would go up to a department the "
        "cluster's joint meeting settles instead (八联: 事务联商、会议联席)",
    )
    meeting_days: int = Field(
        7, ge=1, le=365, description="days between the cluster's joint meetings (assumption: weekly)"
    )
    meeting_hours: Hours = Field(
        2.0, description="hours each community's delegate spends at a joint meeting (assumption)"
    )

    @model_validator(mode="after")
    def _joint_needs_centre(self) -> Clusters:
        if self.joint_settles and not self.centre:
            raise ValueError("joint_settles needs centre: true (the cluster centre holds the joint meetings)")
        return self


class Village(Section):
    """Village (community) staff, the tier between the grid and the town (001's four levels:
    大事不出村, "big issues do not leave the village")."""

    staff_per_village: int = Field(
        5,
        ge=1,
        le=200,
        description="village staff who handle cases (full-time equivalents; assumption, within the "
        "size of a village's two committees)",
    )
    travel_hours: float = Field(0.2, ge=0, le=24, description="one way, village office to a grid")
    settles: tuple[str, ...] | Literal["all"] = Field(
        "all",
        description="the village's service list: categories whose grid- and village-level issues "
        "village staff may settle (the others go to a department); 'all' for every category",
    )


class ProfessionalGrid(Section):
    """One kind of professional grid (001: 以基層網格為組成單元,設立治安網格178個、消防網格169個、
    安全網格158個): a block of basic grids whose own patrollers look for the issues of a few
    categories."""

    grids_per_10k: float = Field(
        gt=0,
        le=MAX_STAFF_PER_10K,
        description="professional grids of this kind per 10,000 residents (Wujiang's count over "
        "its 1.5 million residents, 001); each town gets at least one (patrollers_per_grid 0 "
        "turns a kind off)",
    )
    patrollers_per_grid: int = Field(
        1, ge=0, le=50, description="full-time patrollers of one professional grid (assumption)"
    )
    patrols: dict[str, Probability] = Field(
        description="the categories it patrols, each with the share of its issues that fall in this "
        "kind's remit (1: all of them)"
    )

    @field_validator("patrols")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= x <= 1 for x in v.values()):
            raise ValueError("must be shares between 0 and 1, by category")
        return v


PROFESSIONAL_DEFAULTS: dict[str, dict[str, object]] = {
    "public_security": {"grids_per_10k": 1.19, "patrols": {"neighbour_dispute": 1.0}},
    "fire": {"grids_per_10k": 1.13, "patrols": {"safety_hazard": 0.5}},
    "safety": {"grids_per_10k": 1.05, "patrols": {"safety_hazard": 1.0}},
}
"""Each kind's defaults: Wujiang's 178 public-security, 169 fire and 158 safety grids over
1.5 million residents (001), per 10,000; public security patrols neighbour disputes (治安's
dispute screening), fire the fire risks among safety hazards (half of them) and safety all
safety hazards (assumptions). A scenario that sets some fields of a kind keeps the others."""
_PRO = PROFESSIONAL_DEFAULTS


class ProfessionalGrids(Section):
    """Professional grids beside the basic grids (001: 治安、消防、安全網格, "基層+專業"): public
    security, fire and safety grids, each with its own patrol for its categories. Their
    counts are Wujiang's per 10,000 residents (178, 169, 158 over 1.5 million); which
    categories each patrols, the fire-risk share and the patrol strength are assumptions."""

    enabled: bool = Field(False, description="whether the professional grids patrol (off: none exist)")
    detectability_factor: float = Field(
        1.0,
        ge=0,
        le=100,
        description="a professional patroller's detection hazard for an issue of his categories, "
        "relative to a basic patroller's on the same ground for the same hours (assumption: 1, "
        "no better eyes, only more of them on those categories)",
    )
    public_security: ProfessionalGrid = ProfessionalGrid.model_validate(_PRO["public_security"])
    fire: ProfessionalGrid = ProfessionalGrid.model_validate(_PRO["fire"])
    safety: ProfessionalGrid = ProfessionalGrid.model_validate(_PRO["safety"])

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: object) -> object:
        """A kind given in part keeps its defaults for the fields not given."""
        if not isinstance(data, dict):
            return data
        return {
            k: {**PROFESSIONAL_DEFAULTS[k], **v} if k in PROFESSIONAL_DEFAULTS and isinstance(v, dict) else v
            for k, v in data.items()
        }

    def kinds(self) -> dict[str, ProfessionalGrid]:
        """The kinds of professional grid by name, in declaration order."""
        return {k: getattr(self, k) for k in PROFESSIONAL_KINDS}


PROFESSIONAL_KINDS = tuple(PROFESSIONAL_DEFAULTS)
"""The kinds of professional grid 001 names (治安, 消防, 安全), in declaration order."""


class Powers(Section):
    """Enforcement powers as items (行政处罚事项), with the capacity to use them (001, 003,
    004, 000). Off (``items: false``): a unit holds whole domains and can settle any case
    of them on site. On: each domain has ``items_per_domain`` items, a case needs one, a
    town squad holds the most used ``devolved_share`` of its devolved domains' items (the
    county line team the rest), and settles a case on site only as far as it is proficient
    in the item; with a review, a town hands back items it does not use or fails at."""

    items: bool = Field(False, description="powers counted as items, each needing proficiency to use")
    items_per_domain: int = Field(
        100,
        ge=1,
        le=5000,
        description="enforcement items (penalty powers) per domain (Wujiang: 485 from 5 departments, "
        "97 each; 001)",
    )
    concentration: float = Field(
        1.0,
        ge=0,
        le=5,
        description="how unevenly cases spread over a domain's items: item of rank k is needed with weight "
        "k^-concentration (assumption; Changshan: 9 of 24 departments handled no case in 3 years, 004)",
    )
    devolved_share: Probability = Field(
        1.0,
        ge=0,
        le=1,
        description="share of each devolved domain's items the town squads hold, the most used first "
        "(Jiangsu: 102 of 323 penalty items on average; 003)",
    )
    cases_to_learn: float = Field(
        5.0,
        gt=0,
        le=10_000,
        description="cases of an item after which a squad's proficiency in it is 1 - 1/e: proficiency = "
        "1 - exp(-experience / cases_to_learn) (assumption)",
    )
    training_cases: float = Field(
        0.0,
        ge=0,
        le=10_000,
        description="experience, in cases, a town squad starts with in each item it receives (training; 003)",
    )
    tenure_days: Days = Field(
        1095.0,
        description="the county line teams held their items this long before: they start with the cases "
        "of each item expected over it (assumption: 3 years)",
    )
    review_days: int = Field(
        0,
        ge=0,
        le=3650,
        description="days between a town's reviews of the items it holds (0: no hand-back)",
    )
    min_uses: int = Field(
        1,
        ge=0,
        le=10_000,
        description="an item used fewer times since the last review goes back to the county",
    )
    max_failure_share: Probability = Field(
        1.0,
        ge=0,
        le=1,
        description="an item whose first visits since the last review failed to settle on site more often "
        "than this goes back to the county",
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
                raise ValueError(f"categories.{name}.domains: {bad} not among domains {list(self.domains)}")
        grouped = [d for g in self.departments.groups for d in g]
        missing = sorted(known - set(grouped))
        dup = sorted({d for d in grouped if grouped.count(d) > 1})
        unknown = sorted(set(grouped) - known)
        if missing or dup or unknown:
            raise ValueError(
                "departments.groups must hold each domain exactly once "
                f"(missing {missing}, repeated {dup}, unknown {unknown}; domains {list(self.domains)})"
            )
        self._town_domains_whole_groups(known)
        bad = sorted(set(self.enforcement.devolved_domains) - known)
        if bad:
            raise ValueError(f"enforcement.devolved_domains: {bad} not among {list(self.domains)}")
        if len(self.service_requests.steps_probabilities) > len(self.domains):
            raise ValueError("service_requests.steps_probabilities: more steps than domains")
        self._tasks_leave_time()
        if self.powers.review_days and not self.powers.items:
            raise ValueError(
                "powers.review_days needs powers.items: true (a town reviews the items it holds)"
            )
        for section, lst in (("grid", self.grid.settles), ("village", self.village.settles)):
            bad = [] if lst == "all" else sorted(set(lst) - set(self.categories))
            if bad:
                raise ValueError(f"{section}.settles: {bad} not among categories {list(self.categories)}")
        self._professional_categories_known()
        bad = sorted(set(self.grid.police_categories) - set(self.categories))
        if bad:
            raise ValueError(f"grid.police_categories: {bad} not among categories {list(self.categories)}")
        return self

    @model_validator(mode="after")
    def _joint_settles_known(self) -> Params:
        bad = sorted(set(self.clusters.joint_settles) - set(self.categories))
        if bad:
            raise ValueError(f"clusters.joint_settles: {bad} not among categories {list(self.categories)}")
        return self

    def _professional_categories_known(self) -> None:
        if not self.professional_grids.enabled:
            return
        for kind, g in self.professional_grids.kinds().items():
            bad = sorted(set(g.patrols) - set(self.categories))
            if bad:
                raise ValueError(
                    f"professional_grids.{kind}.patrols: {bad} not among categories {list(self.categories)}"
                )

    def _tasks_leave_time(self) -> None:
        g, shift = self.grid, self.calendar.grid.hours_per_day
        workers, handlers = g.patrollers_per_grid + g.leaders_per_grid, g.leaders_per_grid
        per_handler = self.assigned_tasks.hours_per_worker_per_day * workers / (
            handlers if g.separation else workers
        )
        if g.separation and g.tasks_to == "village":
            return
        if per_handler >= shift:
            raise ValueError(
                f"assigned_tasks.hours_per_worker_per_day: grid handlers would spend {per_handler:g} h "
                f"of their {shift:g}-hour shift on assigned tasks (with separation the leaders take "
                "the whole grid's tasks) and have no time to handle; lower it or add grid leaders"
            )

    def _town_domains_whole_groups(self, known: set[str]) -> None:
        town = set(self.departments.town_domains)
        if town - known:
            raise ValueError(f"departments.town_domains: {sorted(town - known)} not among {sorted(known)}")
        split = [g for g in self.departments.groups if 0 < len(town & set(g)) < len(g)]
        if split:
            raise ValueError(f"departments.town_domains must hold whole department groups; split: {split}")
        if self.departments.moved_down_per_town and (self.departments.location == "town" or town >= known):
            raise ValueError("departments.moved_down_per_town needs county departments to move staff from")

    def settles(self, section: Literal["grid", "village"], category: str) -> bool:
        """Whether the grid's or the village's service list holds ``category``."""
        lst = self.grid.settles if section == "grid" else self.village.settles
        return lst == "all" or category in lst

    @property
    def category_names(self) -> tuple[str, ...]:
        """Category names in catalogue order (the order codes are assigned in)."""
        return tuple(self.categories)
