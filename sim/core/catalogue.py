"""The category catalogue as arrays indexed by category code (catalogue order)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.kinds import LEVELS, Tier
from sim.core.ledger import MAX_ROUTE
from sim.core.params import Params


@dataclass(frozen=True)
class Catalogue:
    """Per-category parameters as arrays (see :class:`sim.core.params.Category`)."""

    names: tuple[str, ...]
    rate: np.ndarray
    domains: np.ndarray  # (C, MAX_ROUTE) domain indices, -1 padded
    initial_cum: np.ndarray  # (C, 4) cumulative initial-level probabilities
    max_level: np.ndarray
    growth_days: np.ndarray
    detectability: np.ndarray
    self_report: np.ndarray
    self_delay: np.ndarray
    service_hours: np.ndarray  # (C, 4)
    on_site: np.ndarray
    freshness: np.ndarray
    deadline: np.ndarray
    patience: np.ndarray
    settle: np.ndarray  # (C, 4) the tier that settles an issue of each level (service lists)
    joint: np.ndarray  # (C, 4) bool: settled at the cluster's joint meeting (joint_levels)
    police: np.ndarray  # (C,) bool: settled and reported by the grid's police officer
    poor: np.ndarray  # (C,) chance that a resolution is poor


def settling_tiers(p: Params) -> np.ndarray:
    """``settle[category, level]``: the lowest tier at or above ``level`` allowed to settle
    the category's issues of that level. The grid and the village settle only what their
    service lists hold (``grid.settles``, ``village.settles``); what they may not settle
    goes up to the village, or a department. Departments and enforcement settle their
    levels whatever the category, except what the cluster's joint meeting settles
    (:func:`joint_levels`): that goes to the cluster centre, which is the village tier."""
    out = _listed_tiers(p)
    out[joint_levels(p)] = Tier.VILLAGE
    return out


def _listed_tiers(p: Params) -> np.ndarray:
    """The settling tiers by the grid's and the village's service lists alone; with grid
    police officers, the grid (its officer) settles the grid- and village-level issues of
    the police categories (:func:`police_categories`)."""
    out = np.tile(np.arange(len(Tier), dtype=np.int8), (len(p.categories), 1))
    for i, name in enumerate(p.category_names):
        village = Tier.VILLAGE if p.settles("village", name) else Tier.DEPARTMENT
        out[i, Tier.VILLAGE] = village
        out[i, Tier.GRID] = Tier.GRID if p.settles("grid", name) else village
    out[police_categories(p), : Tier.VILLAGE + 1] = Tier.GRID
    return out


def joint_levels(p: Params) -> np.ndarray:
    """``joint[category, level]``: the issues the cluster's joint meeting settles (八联, 002).

    With the cluster centre (``clusters.centre``), an issue of a category on
    ``clusters.joint_settles`` that the service lists would send up to a department is a
    cross-community matter that the cluster's communities settle together at their next
    joint meeting instead (:mod:`sim.core.mechanisms.meetings`); enforcement-level issues
    still go to enforcement.
    """
    listed = np.array([c in p.clusters.joint_settles for c in p.category_names], dtype=bool)
    return (listed & p.clusters.centre)[:, None] & (_listed_tiers(p) == Tier.DEPARTMENT)


def police_categories(p: Params) -> np.ndarray:
    """Whether the grid's police officer settles and reports each category: those of
    ``grid.police_categories`` when the grids have officers (``grid.police_per_grid``)."""
    on = p.grid.police_per_grid > 0
    return np.array([on and name in p.grid.police_categories for name in p.category_names], dtype=bool)


def build_catalogue(p: Params) -> Catalogue:
    """Arrays of the catalogue of ``p``."""
    cats = list(p.categories.values())
    dom = np.full((len(cats), MAX_ROUTE), -1, dtype=np.int32)
    for i, c in enumerate(cats):
        dom[i, : len(c.domains)] = [p.domains.index(d) for d in c.domains]

    def col(attr: str) -> np.ndarray:
        return np.array([getattr(c, attr) for c in cats], dtype=float)

    return Catalogue(
        names=p.category_names,
        rate=col("rate_per_1000_per_day"),
        domains=dom,
        initial_cum=np.cumsum(np.array([c.initial_level for c in cats]), axis=1),
        max_level=np.array([LEVELS.index(c.max_level) for c in cats], dtype=np.int8),
        growth_days=col("growth_days"),
        detectability=col("detectability"),
        self_report=col("self_report_probability"),
        self_delay=col("self_report_delay_days"),
        service_hours=np.array([c.service_hours for c in cats], dtype=float),
        on_site=col("on_site_probability"),
        freshness=col("freshness_days"),
        deadline=col("deadline_days"),
        patience=col("patience_days"),
        settle=settling_tiers(p),
        joint=joint_levels(p),
        police=police_categories(p),
        poor=col("poor_resolution_probability"),
    )
