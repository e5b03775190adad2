"""The mechanisms: one module per part of the system, each a class built on the world.

Every mechanism follows one protocol (:class:`Mechanism`): it is built from a
:class:`~sim.core.world.World` — never the model — keeps its own random stream(s),
subscribes to the hooks it cares about, and exposes the acts that the model's day
order (:data:`sim.core.model.DAY_ORDER`) and case-flow order
(:data:`sim.core.model.CASE_FLOW_ORDER`) name. :data:`REGISTRY` lists them in the
order they are built (which is the order in which their hooks are called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.core.mechanisms.assessment import Assessment
from sim.core.mechanisms.closure import Closure
from sim.core.mechanisms.discovery import Discovery
from sim.core.mechanisms.dispatch import Dispatch
from sim.core.mechanisms.enforcement import Enforcement
from sim.core.mechanisms.handling import Handling
from sim.core.mechanisms.meetings import ClusterMeetings
from sim.core.mechanisms.one_window import OneWindow
from sim.core.mechanisms.population import Population
from sim.core.mechanisms.powers import Powers
from sim.core.mechanisms.supervision import Supervision

if TYPE_CHECKING:
    from sim.core.world import World


class Mechanism(Protocol):
    """A part of the system that acts on the world."""

    def __init__(self, world: World) -> None: ...


REGISTRY: dict[str, type[Mechanism]] = {
    "population": Population,
    "discovery": Discovery,
    "dispatch": Dispatch,
    "handling": Handling,
    "enforcement": Enforcement,
    "meetings": ClusterMeetings,
    "powers": Powers,
    "closure": Closure,
    "supervision": Supervision,
    "one_window": OneWindow,
    "assessment": Assessment,
}
"""Mechanism name → class, in build order."""

__all__ = ["REGISTRY", "Mechanism"]
