"""Two-way assessment (部門鄉鎮之間“雙向考核”, Quzhou 004): towns rate the county units that
serve them, those units rate the towns, and a poor rating makes the rated side answer.

004 gives the institution, not its numbers: towns assess the departments' staff stationed
with them (考核管理權 … 反向否決權), the scores are tied to bonuses (與干部評優評先、獎金分配
直接掛鉤), and the two-way assessment between departments and towns "gives the town a
handle and secures the departments' cooperation" (為鄉鎮“塊統”提供抓手，為部門協同提供保障).
What each side rates, how often and how strongly it answers are assumptions
(``assessment.*``, docs/programmes.md).

The rating. Over each period of ``period_days`` the mechanism counts, from the events
the other mechanisms announce (hooks ``work_started``, ``bounced``, ``resolved``,
``dropped``), what each side did to the other:

- a **county unit** (a department or line enforcement team at the county layer) fails a
  case it received when it sends it back ("passing the buck", hook ``bounced``), resolves
  it past the category's deadline from discovery, or lets it wait past the resident's
  patience (closed without a resolution, ``timed_out``); its score is one minus the share
  of the cases it received that it failed;
- a **town** fails the county units when a case from its grids reaches a wrong unit and
  bounces (its dispatch misrouted it); its score is one minus the share of its cases
  received by county units that bounced.

The response. At the period's end each side's chance of answering on a case it would
fail is ``min(max_response, response_per_failure × failure share)`` (``world.unit_response``,
``world.town_response``); it holds for the next period:

- a county unit that would send a misrouted case back forwards it to the unit with
  authority instead (hand-off as any other; no bounce, no new dispatch) —
  :func:`sim.core.mechanisms.handling._bounced`;
- a county unit works a job that would finish past the case's deadline in overtime when
  that is sooner (paid hours, as the centre's deadline watch; the overtime calendar is
  ``dispatch.overtime_hours_per_day`` after the shift) — :func:`sim.core.mechanisms.handling._book`;
- a town's dispatch misroutes less: its misroute probability is scaled by
  ``1 - town_response`` — :func:`sim.core.mechanisms.dispatch.misroute`.

The loop balances itself: answering lowers the failures that drive the response. The
benefit costs overtime hours; the care a town takes over routing is not costed (an
assumption, ODD §7). Without ``assessment.enabled`` nothing is counted and every
response stays 0, and no draw is made from the ``assessment`` stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.kinds import Kind, Layer
from sim.core.ledger import DropReason

if TYPE_CHECKING:
    from sim.core.world import World


class Assessment:
    """Counts each side's failures over a period, rates, and sets the responses."""

    def __init__(self, world: World) -> None:
        self.world = world
        p = world.params.assessment
        self.enabled, self.period = p.enabled, p.period_days
        U = world.units
        self.rated = np.isin(U.kind, (Kind.DEPARTMENT, Kind.ENFORCEMENT)) & (U.layer == Layer.COUNTY)
        n, towns = U.kind.size, world.places.towns
        self.unit_received, self.unit_failed = np.zeros(n), np.zeros(n)
        self.town_received, self.town_failed = np.zeros(towns), np.zeros(towns)
        if self.enabled:
            world.hooks.subscribe("work_started", self._started)
            world.hooks.subscribe("bounced", self._bounced)
            world.hooks.subscribe("resolved", self._resolved)
            world.hooks.subscribe("dropped", self._dropped)

    # ------------------------------------------------------------------ counting
    def _count(self, ids: np.ndarray, unit: np.ndarray, failed: np.ndarray) -> None:
        """Cases ``ids`` reached ``unit``; ``failed`` says which the unit failed.
        Only rated units count, for themselves and for the case's town."""
        on = self.rated[unit]
        ids, unit, failed = ids[on], unit[on], failed[on]
        town = self.world.places.town_of_grid[self.world.ledger.grid[ids]]
        np.add.at(self.unit_received, unit, 1.0)
        np.add.at(self.unit_failed, unit, failed)
        np.add.at(self.town_received, town, 1.0)

    def _started(self, ids: np.ndarray, unit: np.ndarray, start: np.ndarray) -> None:
        self._count(ids, unit, np.zeros(ids.size))

    def _bounced(self, ids: np.ndarray, unit: np.ndarray) -> None:
        self._count(ids, unit, np.ones(ids.size))
        on = self.rated[unit]
        town = self.world.places.town_of_grid[self.world.ledger.grid[ids[on]]]
        np.add.at(self.town_failed, town, 1.0)  # the town's dispatch sent it to the wrong unit

    def _resolved(self, ids: np.ndarray, t: np.ndarray) -> None:
        """A case resolved late counts against its resolver (it was counted when started)."""
        L, cat = self.world.ledger, self.world.catalogue
        late = t - L.discovered[ids] > cat.deadline[L.category[ids]]
        unit = L.resolver[ids][late]
        np.add.at(self.unit_failed, unit[self.rated[unit]], 1.0)

    def _dropped(self, ids: np.ndarray) -> None:
        """A case left waiting past the resident's patience (never started) fails its unit."""
        L = self.world.ledger
        shelved = ids[(L.drop_reason[ids] == DropReason.TIMED_OUT) & (L.unit[ids] >= 0)]
        self._count(shelved, L.unit[shelved], np.ones(shelved.size))

    # ------------------------------------------------------------------- rating
    def step(self, day: int) -> None:
        """At the end of each period: rate both sides and set their responses."""
        if not self.enabled or (day + 1) % self.period:
            return
        w = self.world
        w.unit_response = self._response(self.unit_failed, self.unit_received)
        w.town_response = self._response(self.town_failed, self.town_received)
        for a in (self.unit_received, self.unit_failed, self.town_received, self.town_failed):
            a[:] = 0.0

    def _response(self, failed: np.ndarray, received: np.ndarray) -> np.ndarray:
        """``min(max_response, response_per_failure × failed / received)``; 0 with no cases."""
        p = self.world.params.assessment
        share = np.divide(failed, received, out=np.zeros_like(failed), where=received > 0)
        return np.minimum(p.max_response, p.response_per_failure * share)
