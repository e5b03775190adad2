"""Professional grids: public-security, fire and safety grids beside the basic grids, each
with its own patrol for its categories.

Source (001): 以基層網格為組成單元,設立治安網格178個、消防網格169個、安全網格158個,形成“基層+
專業”無縫對接、多網融合的格局 — built from basic grids as units, Wujiang set up 178
public-security, 169 fire and 158 safety grids, joining "basic + professional" grids into
one network. The counts are taken per 10,000 residents (over Wujiang's 1.5 million, 001)
and scaled to the context (``professional_grids.<kind>.grids_per_10k``).

**Layout.** Each town has ``max(1, round(grids_per_10k × residents / 10⁴ / towns))``
professional grids of a kind (at most one per basic grid), each a block of consecutive
basic grids of the town (:func:`layout`).

**Patrol.** A professional grid's patrollers patrol full time on the grid calendar,
spread evenly over its basic grids, and only patrol and report (no handling, so no
pass-over, unlike unseparated basic workers). For an issue of a category the kind
patrols, in a professional grid of ``n`` basic grids with ``k`` patrollers, the daily
hazard is ``detectability × detectability_factor × k / n`` — a full-time basic patroller's
hazard on his own grid, spread over the block (``detectability_factor`` 1: no better eyes,
an assumption). A kind may patrol only a share of a category's issues (fire risks among
safety hazards): each issue falls in the kind's remit with that share, drawn once, when
the mechanism first sees it, from its own stream. The kinds patrol independently, so
their hazards add. Discovery (:mod:`sim.core.mechanisms.discovery`) draws the time of
their first find as one more competing channel, ``Channel.PROFESSIONAL``.

**Staff.** Their patrollers are paid as grid staff (:func:`patrollers`, counted by
:mod:`sim.core.staffing`). With ``professional_grids.enabled`` off nothing of this exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.jit import njit
from sim.core.params import Params

if TYPE_CHECKING:
    from sim.core.places import Places
    from sim.core.world import World


def grids_per_town(p: Params, grids_in_town: int) -> dict[str, int]:
    """Professional grids of each kind in one town: the kind's density over the town's
    share of the residents, at least one and at most one per basic grid."""
    pop = p.population
    per_town = pop.residents / 1e4 / pop.towns
    return {
        k: min(max(1, round(g.grids_per_10k * per_town)), grids_in_town)
        for k, g in p.professional_grids.kinds().items()
    }


def patrollers(p: Params, n_grids: int) -> int:
    """Paid patrollers of all professional grids (0 when they are off)."""
    if not p.professional_grids.enabled:
        return 0
    kinds = p.professional_grids.kinds()
    per_town = grids_per_town(p, n_grids // p.population.towns)
    return p.population.towns * sum(per_town[k] * g.patrollers_per_grid for k, g in kinds.items())


def layout(p: Params, places: Places) -> np.ndarray:
    """``block_size[kind, grid]``: how many basic grids the professional grid of each kind
    covering a basic grid holds (blocks of consecutive basic grids within each town)."""
    gpt = places.grids_per_town  # every town has as many basic grids
    local = np.arange(places.n_grids) % gpt
    out = np.zeros((len(p.professional_grids.kinds()), places.n_grids))
    for i, n in enumerate(grids_per_town(p, gpt).values()):
        block = np.arange(gpt) * n // gpt  # the block of each basic grid within its town
        out[i] = np.bincount(block, minlength=n)[block][local]
    return out


class ProfessionalPatrol:
    """The professional grids' patrol: a daily detection hazard for each latent issue.

    ``detectability[category] × strength[kind, grid]`` is the hazard on a full working day
    of an issue of the category in that basic grid, if it is in the kind's remit;
    ``share[kind, category]`` the chance that it is.
    """

    def __init__(self, world: World) -> None:
        p = world.params
        self.world = world
        self.rng = world.stream("professional_grids")
        kinds = list(p.professional_grids.kinds().values())
        names = p.category_names
        self.share = np.array([[g.patrols.get(c, 0.0) for c in names] for g in kinds])
        staff = np.array([g.patrollers_per_grid for g in kinds], dtype=float)
        self.strength = p.professional_grids.detectability_factor * staff[:, None] / layout(p, world.places)
        self.detectability = world.catalogue.detectability
        self._hazard = np.zeros(1024)
        self._seen = 0

    def hazard(self, ids: np.ndarray, day: int) -> np.ndarray:
        """Daily hazard (a full working window) of each issue ``ids`` on ``day``: 0 on the
        grid calendar's days off."""
        self._see_new()
        if day % 7 >= self.world.params.calendar.grid.days_per_week:
            return np.zeros(ids.size)
        return self._hazard[ids]

    def _see_new(self) -> None:
        """Fix the remit and hazard of the issues that occurred since the last call."""
        L, lo = self.world.ledger, self._seen
        if L.n == lo:
            return
        if L.n > self._hazard.size:
            grown = np.zeros(max(L.n, 2 * self._hazard.size))
            grown[:lo] = self._hazard[:lo]
            self._hazard = grown
        c, g = L.category[lo : L.n], L.grid[lo : L.n]
        u = self.rng.random((self.share.shape[0], c.size))
        _remit_hazard(u, self.share, self.detectability, self.strength, c, g, self._hazard[lo : L.n])
        self._seen = L.n


@njit(cache=True)
def _remit_hazard(u, share, det, strength, c, g, out):  # type: ignore[no-untyped-def,unused-ignore]
    """Into ``out``, the hazard of each new issue (category ``c``, basic grid ``g``): the
    sum, over the kinds in order, of the kind's ``det × strength`` if the issue is in its
    remit (``u < share``), else 0 (summed over the kinds in order, as numpy's sum)."""
    for k in range(c.size):
        h = 0.0
        for kind in range(share.shape[0]):
            if u[kind, k] < share[kind, c[k]]:
                h += det[c[k]] * strength[kind, g[k]]
        out[k] = h
