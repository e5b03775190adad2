"""Closure: a resolved case is verified and closed; its resident learns from the outcome.

After resolution a case waits an exponential ``verification_days`` (the patroller or
the centre checks on site and closes the loop) before it is closed; then the resident's
satisfaction is updated (:meth:`sim.core.mechanisms.population.Population.feedback`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.core.ledger import CLOSED, CLOSING

if TYPE_CHECKING:
    from sim.core.model import GovModel


class Closure:
    """Closes the cases whose verification ends today."""

    def __init__(self, model: GovModel) -> None:
        self.model = model

    def step(self, day: int) -> None:
        """Close today's verified cases and drop finished ones from the active set."""
        L = self.model.ledger
        ids = L.due(CLOSING, day + 1.0)
        L.stage[ids], L.closed[ids] = CLOSED, L.next_t[ids]
        self.model.population.feedback(ids, dropped=False)
        L.compact()
