"""Closure: a resolved case is verified and closed; its resident learns from the outcome.

After resolution a case waits an exponential ``verification_days`` (the patroller or
the centre checks on site and closes the loop) before it is closed; then the resident's
satisfaction is updated (:meth:`sim.core.mechanisms.population.Population.closed`,
through the hook ``closed``). The verification delays are drawn from the ``handling``
stream, in the order cases are resolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.ledger import Stage

if TYPE_CHECKING:
    from sim.core.world import World


class Closure:
    """Verifies resolved cases and closes those whose verification ends today.

    Hooks: ``resolved`` (draws the verification delay).
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("handling")
        world.hooks.subscribe("resolved", self.verify)

    def verify(self, ids: np.ndarray, t: np.ndarray) -> None:
        """Verification of cases resolved at ``t`` ends an exponential ``verification_days`` later."""
        days = self.rng.exponential(self.world.params.dispatch.verification_days, ids.size)
        self.world.ledger.verify_until(ids, t + days)

    def step(self, day: int) -> None:
        """Close today's verified cases and drop finished ones from the active set."""
        L = self.world.ledger
        L.close(L.due(Stage.CLOSING, day + 1.0))
        L.compact()
