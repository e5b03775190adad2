"""The parameter sections of the mechanisms the reform programmes add: two-way assessment
(004), clusters and their centre (002), the village tier, professional grids (001) and
powers counted as items (001, 003, 004, 000). :class:`sim.core.params.Params` holds them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.core.sections import MAX_STAFF_PER_10K, Days, Hours, Probability, Section


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
    review_rounds: int = Field(
        1,
        ge=1,
        le=100,
        description="reviews in the trial period (过渡期) after which a town's holdings stay as they are "
        "(Suqian: a 1-3-month trial, adjusted at once; 003)",
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
