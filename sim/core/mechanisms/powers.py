"""Powers as items: which squad holds the power a case needs, and how well it can use it.

With ``powers.items`` (off by default: domains are held whole) a case that reaches the
enforcement tier needs one specific power (an item): one of its category's domains,
each equally likely, and within it the item of rank ``k`` with weight
``k^-concentration`` (:mod:`sim.core.powers`; drawn once, on stream ``powers``). Who
holds it decides the route: the town squad if it holds the item, else the county line
team of the item's domain (Changshan: most of 4,754 items stayed with 24 departments,
004; Jiangsu's towns took 102 of 323 penalty items, 003). Holding an item is not the
capacity to use it: a squad settles a case on site only as far as it is proficient in
the item, ``1 - exp(-experience / cases_to_learn)``, where experience counts the squad's
first visits of the item plus what it started with — for a town squad its training
(``training_cases``, 003's 全员培训), for a county line team the cases of the item
expected over its ``tenure_days`` of holding it (:mod:`sim.core.mechanisms.enforcement`
multiplies the on-site probability by it). Towns review their items every
``review_days`` (:meth:`sim.core.agents.EnforcementSquad.plan_day`): an item used fewer
than ``min_uses`` times, or whose on-site attempts failed more often than
``max_failure_share``, goes back to the county (Zhangpu returned 191 powers it could
not exercise, 000).

State is arrays: per squad × item, ``held`` (bool), ``experience`` (float) and the
counters since the last review ``uses``, ``attempts``, ``fails`` (int); squads are rows
(``row[unit]``), items integer codes ``domain × items_per_domain + rank``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.kinds import Kind, Layer, Tier
from sim.core.powers import held_count, item_weights
from sim.core.units import enforcement_case_rates

if TYPE_CHECKING:
    from sim.core.world import World


class Powers:
    """The squads' items: holdings, experience and use; the world's ``powers`` when on.

    Read by dispatch (:meth:`reroute`) and enforcement (:meth:`proficiency`,
    :meth:`record`); the towns' review decides through :meth:`hand_back`.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        if not world.params.powers.items:
            return
        p, U = world.params, world.units
        self.rng = world.stream("powers")
        self.n = p.powers.items_per_domain
        self.cdf = np.cumsum(item_weights(p))
        squads = U.of_kind(Kind.ENFORCEMENT)
        self.row = np.full(U.kind.size, -1, dtype=np.int64)
        self.row[squads] = np.arange(squads.size)
        self.town = U.layer[squads] != Layer.COUNTY
        """Rows of town squads (those that may hand items back)."""
        shape = (squads.size, len(p.domains) * self.n)
        self.held = np.zeros(shape, dtype=bool)
        self.experience = np.zeros(shape)
        self.uses = np.zeros(shape, dtype=np.int64)
        self.attempts = np.zeros(shape, dtype=np.int64)
        self.fails = np.zeros(shape, dtype=np.int64)
        self.line_team = np.full(len(p.domains), -1, dtype=np.int64)
        self.returned = 0
        """Items handed back to the county so far (all towns)."""
        self._hold(squads)
        world.powers = self

    def _hold(self, squads: np.ndarray) -> None:
        """What each squad holds at the start, and the experience it starts with."""
        p, U = self.world.params, self.world.units
        rates = enforcement_case_rates(p)
        w, k = item_weights(p), held_count(p)
        for r, u in enumerate(squads):
            for d in U.units[u].domains:
                di = p.domains.index(d)
                items = slice(di * self.n, (di + 1) * self.n)
                if self.town[r]:
                    self.held[r, di * self.n : di * self.n + k] = True
                    self.experience[r, items] = p.powers.training_cases
                else:
                    self.held[r, items] = True
                    self.line_team[di] = u
                    per_day = rates[d] * p.population.residents / 1000.0
                    self.experience[r, items] = per_day * w * p.powers.tenure_days

    # ------------------------------------------------------------------ dispatch
    def reroute(self, ids: np.ndarray, tier: np.ndarray, dom: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Routes of cases at the enforcement tier by the item each needs: the step of the
        item's domain goes to the county line team where the routed squad lacks the item.

        Args:
            ids: the cases being dispatched.
            tier: the tier that settles each.
            dom: their categories' domains (-1 padded), one column per route step.
            raw: the unit of each step by domain (-1 padded); a changed copy is returned.
        """
        L = self.world.ledger
        enf = np.flatnonzero(tier == Tier.ENFORCEMENT)
        if enf.size == 0:
            return raw
        self._draw(ids[enf], dom[enf])
        item = L.item[ids[enf]]
        col = np.argmax(dom[enf] == (item // self.n)[:, None], axis=1)
        unit = raw[enf, col]
        routed = unit >= 0  # -1: no squad holds the domain
        lacks = routed & ~self.held[self.row[unit], item] & (self.line_team[item // self.n] >= 0)
        out = raw.copy()
        out[enf[lacks], col[lacks]] = self.line_team[item[lacks] // self.n]
        return out

    def _draw(self, ids: np.ndarray, dom: np.ndarray) -> None:
        """The item each case needs, drawn the first time it reaches the enforcement tier."""
        L = self.world.ledger
        new = L.item[ids] < 0
        ids, dom = ids[new], dom[new]
        if ids.size == 0:
            return
        n_dom = (dom >= 0).sum(axis=1)
        pick = (self.rng.random(ids.size) * n_dom).astype(np.int64)
        rank = np.searchsorted(self.cdf, self.rng.random(ids.size) * self.cdf[-1], side="right")
        L.item[ids] = dom[np.arange(ids.size), pick] * self.n + np.minimum(rank, self.n - 1)

    # --------------------------------------------------------------- enforcement
    def proficiency(self, unit: np.ndarray, item: np.ndarray) -> np.ndarray:
        """How well each squad can use each case's item: ``1 - exp(-experience / cases_to_learn)``."""
        exp = self.experience[self.row[unit], item]
        return -np.expm1(-exp / self.world.params.powers.cases_to_learn)

    def record(self, unit: np.ndarray, item: np.ndarray, attempted: np.ndarray, settled: np.ndarray) -> None:
        """Squads' first visits of cases needing ``item``: experience grows by one each; for
        items the squad holds, a use, and an on-site attempt (one squad holds every power
        the case needs) that ``settled`` it or failed."""
        r = self.row[unit]
        np.add.at(self.experience, (r, item), 1.0)
        held = self.held[r, item]
        np.add.at(self.uses, (r[held], item[held]), 1)
        tried = held & attempted
        np.add.at(self.attempts, (r[tried], item[tried]), 1)
        failed = tried & ~settled
        np.add.at(self.fails, (r[failed], item[failed]), 1)

    # -------------------------------------------------------------------- review
    def hand_back(self, back: np.ndarray) -> None:
        """Town squads give the items marked in ``back`` (squad rows × items) back to the
        county line teams; the counters since the last review start again."""
        back = back & self.held & self.town[:, None]
        self.held &= ~back
        self.returned += int(back.sum())
        self.uses[:] = 0
        self.attempts[:] = 0
        self.fails[:] = 0
