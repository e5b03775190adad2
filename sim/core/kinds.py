"""The integer codes of the model, declared once: layers, tiers (issue levels), unit kinds.

Arrays hold these as small integers; every table that maps a code to a name, a
calendar or a level is derived from the declarations here and on the agent classes
(:mod:`sim.core.agents`). Glossary (also in ``docs/ODD.md``):

- a **layer** is a place in the administrative hierarchy a report passes through
  (grid, village, town, county);
- a **tier** is who resolves an issue, and an issue's **level** is the tier it needs
  (grid, village, department, enforcement: 001's 小事不出格、大事不出村、难事不出镇; the
  reforms' 70/20/10 plan counts three, the village inside "the grid");
- a **kind** is a kind of handling unit (grid team, department, enforcement squad,
  command centre, approval desk, window counter, village staff, grid police officer).
"""

from __future__ import annotations

from enum import IntEnum


class Layer(IntEnum):
    """Places in the hierarchy, bottom up (routing counts hand-offs between them)."""

    GRID = 0
    VILLAGE = 1
    TOWN = 2
    COUNTY = 3


class Tier(IntEnum):
    """Who resolves an issue; also the level an issue needs, in order of authority."""

    GRID = 0
    VILLAGE = 1
    DEPARTMENT = 2
    ENFORCEMENT = 3


class Kind(IntEnum):
    """Kinds of handling unit; each is one agent class of :mod:`sim.core.agents`."""

    GRID = 0
    DEPARTMENT = 1
    ENFORCEMENT = 2
    CENTRE = 3
    DESK = 4
    WINDOW = 5
    VILLAGE = 6
    POLICE = 7


LEVELS: tuple[str, ...] = tuple(t.name.lower() for t in Tier)
"""Tier (and level) names in code order: ``("grid", "village", "department", "enforcement")``."""

PLAN_TIERS: dict[str, tuple[Tier, ...]] = {
    "grid": (Tier.GRID, Tier.VILLAGE),
    "department": (Tier.DEPARTMENT,),
    "enforcement": (Tier.ENFORCEMENT,),
}
"""The three tiers of the reforms' 70/20/10 plan (001) and the tiers each counts: 001
writes the plan of the village (community) grids and basic grids together, so "the grid"
holds the village."""
