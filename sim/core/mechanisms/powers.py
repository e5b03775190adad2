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

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.core.draws import RNG_POWERS, uniform
from sim.core.jit import njit
from sim.core.kinds import Kind, Layer
from sim.core.powers import held_count, item_weights
from sim.core.units import enforcement_case_rates

if TYPE_CHECKING:
    from sim.core.world import World


class Powers:
    """The squads' items: holdings, experience and use; the world's ``powers`` when on.

    Read by the compiled case flow as ``F.powers`` (:meth:`arrays`): dispatch
    (:func:`reroute`) and enforcement (:func:`proficiency`, :func:`record`); the towns'
    review decides through :meth:`hand_back`.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        if not world.params.powers.items:
            return
        p, U = world.params, world.units
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

    def arrays(self) -> PowerArrays:
        """The state the compiled flow reads and updates (in place)."""
        return PowerArrays(
            self.held,
            self.experience,
            self.uses,
            self.attempts,
            self.fails,
            self.row,
            self.line_team,
            self.cdf,
        )

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


class PowerArrays(NamedTuple):
    """The squads' items as the compiled flow takes them (``F.powers``)."""

    held: np.ndarray
    experience: np.ndarray
    uses: np.ndarray
    attempts: np.ndarray
    fails: np.ndarray
    row: np.ndarray
    line_team: np.ndarray
    cdf: np.ndarray


OFF = PowerArrays(
    np.zeros((1, 1), dtype=bool),
    np.zeros((1, 1)),
    np.zeros((1, 1), dtype=np.int64),
    np.zeros((1, 1), dtype=np.int64),
    np.zeros((1, 1), dtype=np.int64),
    np.zeros(1, dtype=np.int64),
    np.zeros(1, dtype=np.int64),
    np.ones(1),
)
"""What the flow takes when powers are held whole (``powers.items`` off; never read)."""


@njit(cache=True, inline="always")
def reroute(F, i, dom, raw):  # type: ignore[no-untyped-def,unused-ignore]
    """The route of case ``i`` at the enforcement tier by the item it needs: the step of the
    item's domain goes to the county line team where the routed squad lacks the item.

    Args:
        F: the flow's state; i: the case.
        dom: its category's domains (-1 padded), one per route step.
        raw: the unit of each step by domain (-1 padded); changed in place.
    """
    P, C, n = F.powers, F.cases, F.s.items_per_domain
    if C.item[i] < 0:  # the item it needs, drawn the first time it reaches the tier
        n_dom = 0
        for d in dom:
            n_dom += d >= 0
        pick = int(uniform(F.keys, C.draws, RNG_POWERS, i) * n_dom)
        rank = np.searchsorted(P.cdf, uniform(F.keys, C.draws, RNG_POWERS, i) * P.cdf[-1], side="right")
        C.item[i] = dom[pick] * n + min(rank, n - 1)
    item = C.item[i]
    col = 0
    while dom[col] != item // n:
        col += 1
    unit = raw[col]
    if unit >= 0 and not P.held[P.row[unit], item] and P.line_team[item // n] >= 0:
        raw[col] = P.line_team[item // n]


@njit(cache=True, inline="always")
def proficiency(F, unit, item):  # type: ignore[no-untyped-def,unused-ignore]
    """How well ``unit`` can use ``item``: ``1 - exp(-experience / cases_to_learn)``."""
    return -np.expm1(-F.powers.experience[F.powers.row[unit], item] / F.s.cases_to_learn)


@njit(cache=True, inline="always")
def record(F, unit, item, attempted, settled):  # type: ignore[no-untyped-def,unused-ignore]
    """A squad's first visit of a case needing ``item``: experience grows by one; for an
    item the squad holds, a use, and an on-site attempt (one squad holds every power the
    case needs) that ``settled`` it or failed."""
    P = F.powers
    r = P.row[unit]
    P.experience[r, item] += 1.0
    if P.held[r, item]:
        P.uses[r, item] += 1
        if attempted:
            P.attempts[r, item] += 1
            P.fails[r, item] += not settled
