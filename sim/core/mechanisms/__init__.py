"""The mechanisms: one module per part of the system, each a class built on the world
or a set of compiled rules that the case flow runs.

Every mechanism class follows one protocol (:class:`Mechanism`): it is built from a
:class:`~sim.core.world.World` — never the model — keeps its own random stream(s),
subscribes to the hooks it cares about, and exposes the acts that the model's day
order (:data:`sim.core.model.DAY_ORDER`) names. The case flow
(:mod:`sim.core.mechanisms.flow`) is the mechanism that runs the compiled rules of
dispatch, handling, enforcement, powers, closure's verification and supervision
(functions in their modules) in exact time order. :data:`REGISTRY` lists the classes in
the order they are built (which is the order in which their hooks are called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.core.jit import cached
from sim.core.mechanisms.assessment import Assessment
from sim.core.mechanisms.closure import Closure
from sim.core.mechanisms.discovery import Discovery, _find
from sim.core.mechanisms.flow import CaseFlow, run_day
from sim.core.mechanisms.meetings import ClusterMeetings
from sim.core.mechanisms.one_window import OneWindow
from sim.core.mechanisms.one_window_rounds import run_rounds
from sim.core.mechanisms.population import Population
from sim.core.mechanisms.powers import Powers

if TYPE_CHECKING:
    from sim.core.world import World


class Mechanism(Protocol):
    """A part of the system that acts on the world."""

    def __init__(self, world: World) -> None: ...


REGISTRY: dict[str, type[Mechanism]] = {
    "population": Population,
    "discovery": Discovery,
    "meetings": ClusterMeetings,
    "powers": Powers,
    "closure": Closure,
    "flow": CaseFlow,
    "one_window": OneWindow,
    "assessment": Assessment,
}
"""Mechanism name → class, in build order."""


def compiled() -> bool:
    """Whether a run will find the largest compiled kernels (the case flow, the service
    requests' rounds, discovery's pass) in numba's cache; if not, the first run on this
    machine, or after an update of the core, compiles them for about a minute
    (``benchmarks/cold_start.py``)."""
    return all(cached(fn) for fn in (run_day, run_rounds, _find))


__all__ = ["REGISTRY", "Mechanism", "compiled"]
