"""Discovery of latent issues: patrol, volunteers, inspections from above, residents.

Each day every latent issue may be found by (a) its grid's patrol, with daily hazard
``detectability × patrol hours / shift hours`` (a full-time patroller gives hazard
``detectability``); (b) the grid's volunteers (the "N" of "4+N", 001), each with
``volunteer_detectability_factor`` of a patroller's hazard; (c) inspections by the
departments (cases "assigned from above"; Luzhi: 99.8% raised from below, 000); or
(d) the resident's own report, pre-sampled at occurrence; (e) with
``professional_grids.enabled``, the patrol of the professional grids for their categories
(:mod:`sim.core.mechanisms.professional_grids`, on its own stream); or (f) for the
public-security categories, the grid's police officers (网格警务员, 001;
:meth:`Discovery._police`). The earliest wins.

Patrol–handling separation (巡办分离, 001). The grid teams decide each day how many
hours each grid is patrolled and how likely its patrol is to report an issue its own
workers would have to fix (:meth:`sim.core.agents.GridTeam.plan_day`: the workers' time
budget of assigned tasks, handling and patrol, and their reluctance under pending
work). Patrol hours set the patrol's hazard; an issue the grid team would settle itself
(of the grid's level, in a category on the grid's service list) that the patrol finds
first is passed over with the complementary probability, and is not reported by that
patrol again until it grows beyond the grid. These are the two
mechanisms the brief names; the resulting patrol-reported share is an outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.jit import njit
from sim.core.kinds import Layer, Tier
from sim.core.ledger import Channel
from sim.core.ledger_flow import level_at
from sim.core.mechanisms.professional_grids import ProfessionalPatrol

if TYPE_CHECKING:
    from sim.core.world import World

INTAKE_LAYER = np.array(
    [Layer.GRID, Layer.GRID, Layer.COUNTY, Layer.COUNTY, Layer.VILLAGE, Layer.COUNTY, Layer.GRID, Layer.GRID],
    dtype=np.int8,
)
"""Layer where a report enters the hierarchy, by channel (patrol, volunteer, hotline,
app, walk-in, inspection, professional patrol, police); inspections enter at the
departments' layer, professional patrollers report through the grid like basic ones."""


class Discovery:
    """Finds latent issues each day and hands them to dispatch."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.stream("discovery")
        self.intake = INTAKE_LAYER.copy()
        town_seat = Layer.COUNTY if world.params.departments.location == "county" else Layer.TOWN
        self.intake[Channel.INSPECTION] = town_seat
        pro = world.params.professional_grids.enabled
        self.professional = ProfessionalPatrol(world) if pro else None

    def step(self, day: int) -> None:
        """Find latent issues today; found ones go to dispatch at the time found."""
        w, L, cat, p = self.world, self.world.ledger, self.world.catalogue, self.world.params
        hours = w.patrol_hours
        lat = L.undiscovered()
        if lat.size == 0:
            return
        end, c, g, occ = day + 1.0, L.category[lat], L.grid[lat], L.occurred[lat]
        det = cat.detectability[c]
        gcal, ocal = p.calendar.grid, p.calendar.office
        t_patrol = self._window_draw(
            day, occ, gcal.start_hour, gcal.hours_per_day, det * hours[g] / gcal.hours_per_day
        )
        vol = p.grid.volunteers_per_grid * p.grid.volunteer_detectability_factor
        t_vol = self._window_draw(day, occ, 8.0, 12.0, det * vol)
        insp = det * p.departments.inspection_rate if day % 7 < ocal.days_per_week else 0.0 * det
        t_insp = self._window_draw(day, occ, ocal.start_hour, ocal.hours_per_day, insp)
        t_self = L.self_report_at[lat]
        cands = [t_patrol, t_vol, t_insp, t_self, self._police(day, lat)]
        chans = [Channel.PATROL, Channel.VOLUNTEER, Channel.INSPECTION, 0, Channel.POLICE]
        if self.professional is not None:
            pro = self.professional.hazard(lat, day)
            rng = self.professional.rng
            cands.append(self._window_draw(day, occ, gcal.start_hour, gcal.hours_per_day, pro, rng))
            chans.append(Channel.PROFESSIONAL)
        if not p.grid.separation:  # what the worker passed over stays unreported by him
            t_patrol[L.ignored[lat] & self._own(lat, t_patrol)] = np.inf
            self._pass_over(lat, t_patrol, np.min(cands[1:], axis=0))
        t, first = cands[0].copy(), np.zeros(lat.size, dtype=np.int8)
        for k in range(1, len(cands)):  # the earliest; the first listed among equals
            earlier = cands[k] < t
            t[earlier], first[earlier] = cands[k][earlier], k
        found = t < end
        ids, t, first = lat[found], t[found], first[found]
        chan = np.array(chans, dtype=np.int8)[first]
        chan = np.where(first == 3, L.self_channel[ids], chan)
        L.find(ids, t, chan, self.intake[chan])

    def _police(self, day: int, lat: np.ndarray) -> np.ndarray:
        """When the grid's police officers find each latent issue of a police category
        today (inf for the others, or with no officers): each officer finds them as a
        full-time patroller would (hazard ``detectability × police_per_grid``, *assumption*),
        on his calendar's working hours and days (stream ``police``)."""
        w, L = self.world, self.world.ledger
        t = np.full(lat.size, np.inf)
        cal = w.params.calendar.enforcement
        mine = w.catalogue.police[L.category[lat]]
        if not mine.any() or day % 7 >= cal.days_per_week:
            return t
        ids = lat[mine]
        hazard = w.catalogue.detectability[L.category[ids]] * w.params.grid.police_per_grid
        t[mine] = self._window_draw(
            day, L.occurred[ids], cal.start_hour, cal.hours_per_day, hazard, w.stream("police")
        )
        return t

    def _pass_over(self, lat: np.ndarray, t_patrol: np.ndarray, t_other: np.ndarray) -> None:
        """An unseparated worker who finds a grid-level issue first may pass over it: it
        is then not his report (``t_patrol`` set to inf in place) and he ignores it."""
        L = self.world.ledger
        first = np.isfinite(t_patrol) & (t_patrol < t_other)
        small = first & self._own(lat, np.where(first, t_patrol, 0.0))
        report = self.world.report_probability[L.grid[lat]]
        passed = small & (self.rng.random(lat.size) >= report)
        L.ignored[lat[passed]] = True
        t_patrol[passed] = np.inf

    def _own(self, lat: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Whether the grid team would settle each issue itself at time ``t``."""
        L, cat = self.world.ledger, self.world.catalogue
        level = levels_at(L.cases(), L.max_level, lat, t)
        return (cat.settle[L.category[lat], level] == Tier.GRID) & ~cat.police[L.category[lat]]

    def _window_draw(
        self,
        day: int,
        occ: np.ndarray,
        start_hour: float,
        hours: float,
        hazard: np.ndarray,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Time of a detection with daily ``hazard`` spread over a daily window, or inf
        (drawn from ``rng``, the discovery stream unless a channel has its own)."""
        rng = self.rng if rng is None else rng
        lo, hi = day + start_hour / 24.0, day + (start_hour + hours) / 24.0
        return _window_times(occ, lo, hi, hazard, rng.random((2, occ.size)))


@njit(cache=True)
def levels_at(C, max_level, ids, t):  # type: ignore[no-untyped-def,unused-ignore]
    """The level of each case ``ids`` at its time ``t`` (the ledger's rule,
    :func:`sim.core.ledger_flow.level_at`)."""
    out = np.empty(ids.size, dtype=np.int64)
    for k in range(ids.size):
        out[k] = level_at(C, max_level, ids[k], t[k])
    return out


@njit(cache=True)
def _window_times(occ, lo, hi, hazard, u):  # type: ignore[no-untyped-def,unused-ignore]
    """Detection times in the window [lo, hi) of issues that occurred at ``occ``, with a
    daily ``hazard`` over the whole window (prorated to the part after occurrence), or
    inf: hit if ``u[0] < 1 - exp(-hazard × part)``, at ``u[1]`` of the way through the part."""
    out = np.empty(occ.size)
    for k in range(occ.size):
        ws = max(occ[k], lo)
        frac = min(max((hi - ws) / (hi - lo), 0.0), 1.0)
        out[k] = ws + u[1, k] * (hi - ws) if u[0, k] < -np.expm1(-hazard[k] * frac) else np.inf
    return out
