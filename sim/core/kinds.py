"""The integer codes of the model, declared once: layers, tiers (issue levels), unit kinds.

Arrays hold these as small integers; every table that maps a code to a name, a
calendar or a level is derived from the declarations here and on the agent classes
(:mod:`sim.core.agents`). Glossary (also in ``docs/ODD.md``):

- a **layer** is a place in the administrative hierarchy a report passes through
  (grid, village, town, county);
- a **tier** is who resolves an issue, and an issue's **level** is the tier it needs
  (grid, department, enforcement: the reforms' 70/20/10 counts tiers);
- a **kind** is a kind of handling unit (grid team, department, enforcement squad,
  command centre, approval desk, window counter).
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
    DEPARTMENT = 1
    ENFORCEMENT = 2


class Kind(IntEnum):
    """Kinds of handling unit; each is one agent class of :mod:`sim.core.agents`."""

    GRID = 0
    DEPARTMENT = 1
    ENFORCEMENT = 2
    CENTRE = 3
    DESK = 4
    WINDOW = 5


LEVELS: tuple[str, ...] = tuple(t.name.lower() for t in Tier)
"""Tier (and level) names in code order: ``("grid", "department", "enforcement")``."""
