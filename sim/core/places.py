"""Places: towns, villages (communities) and basic grids, sized from the context.

Grids are numbered town by town and village by village; resident ``i`` lives in grid
``i * n_grids // residents`` (contiguous blocks of nearly equal size). Routing counts
hand-offs between the layers of :class:`sim.core.kinds.Layer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.core.params import Population


@dataclass(frozen=True)
class Places:
    """The hierarchy of places as arrays indexed by grid."""

    residents: int
    towns: int
    grids_per_town: int
    town_of_grid: np.ndarray
    village_of_grid: np.ndarray

    @property
    def n_grids(self) -> int:
        """Number of basic grids."""
        return self.towns * self.grids_per_town

    @property
    def n_villages(self) -> int:
        """Number of villages (communities)."""
        return int(self.village_of_grid.max()) + 1

    def grid_of(self, resident: np.ndarray) -> np.ndarray:
        """Grid of each resident index."""
        return (resident.astype(np.int64) * self.n_grids // self.residents).astype(np.int32)

    def residents_in_town(self) -> np.ndarray:
        """Residents per town."""
        g = self.grid_of(np.arange(self.residents))
        return np.bincount(self.town_of_grid[g], minlength=self.towns)


def build_places(pop: Population) -> Places:
    """Lay out towns, villages and grids for a population."""
    per_grid = pop.households_per_grid * pop.persons_per_household
    gpt = max(1, round(pop.residents / per_grid / pop.towns))
    town = np.repeat(np.arange(pop.towns, dtype=np.int32), gpt)
    local = np.tile(np.arange(gpt), pop.towns)
    vpt = -(-gpt // pop.grids_per_village)
    village = (town * vpt + local // pop.grids_per_village).astype(np.int32)
    return Places(pop.residents, pop.towns, gpt, town, village)
