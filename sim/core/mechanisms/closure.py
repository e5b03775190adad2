"""Closure: a resolved case is verified and closed; its resident learns from the outcome.

After resolution a case waits an exponential ``verification_days`` (the patroller or
the centre checks on site and closes the loop) before it is closed; then the resident's
satisfaction is updated (:meth:`sim.core.mechanisms.population.Population.closed`,
through the hook ``closed``). The verification delay is drawn in the compiled case flow
when the case is resolved (:func:`verify`, on the ``handling`` stream's key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.core.draws import RNG_VERIFICATION, exponential
from sim.core.jit import njit
from sim.core.ledger_flow import verify_until

if TYPE_CHECKING:
    from sim.core.world import World


@njit(cache=True, inline="always")
def verify(F, i, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Case ``i`` was resolved at ``t``: its verification ends an exponential
    ``verification_days`` later (hook ``resolved``)."""
    C = F.cases
    verify_until(C, i, t + exponential(F.keys, C.draws, RNG_VERIFICATION, i, F.s.verification_days))


class Closure:
    """Closes the cases whose verification ends today."""

    def __init__(self, world: World) -> None:
        self.world = world

    def step(self, day: int) -> None:
        """Close today's verified cases and drop finished ones from the active set."""
        self.world.ledger.close_due(day + 1.0)
