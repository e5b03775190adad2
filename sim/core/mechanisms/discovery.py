"""Discovery of latent issues: patrol, volunteers, inspections from above, residents.

Each day every latent issue may be found by (a) its grid's patrol, with daily hazard
``detectability × patrol hours / shift hours`` (a full-time patroller gives hazard
``detectability``); (b) the grid's volunteers (the "N" of "4+N", 001), each with
``volunteer_detectability_factor`` of a patroller's hazard; (c) inspections by the
departments (cases "assigned from above"; Luzhi: 99.8% raised from below, 000); or
(d) the resident's own report, pre-sampled at occurrence. The earliest wins.

Patrol–handling separation (巡办分离, 001). With it, patrollers patrol their whole
shift. Without it, the grid's workers handle first and patrol with the hours left
(hours already booked by their handling queue today), and a worker who finds an issue
he would have to fix himself (grid level) reports it only with probability
``unseparated_report_probability``; an issue he passes over is not reported by him again
until it grows beyond the grid. These are the two mechanisms the brief names; the
resulting patrol-reported share is an outcome.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.agents import GRID_KIND
from sim.core.ledger import DISPATCH, INSPECTION, LATENT, PATROL, VOLUNTEER
from sim.core.mechanisms.population import level_at
from sim.core.places import COUNTY, GRID, TOWN, VILLAGE
from sim.core.rng import stream

if TYPE_CHECKING:
    from sim.core.model import GovModel

INTAKE_LAYER = np.array([GRID, GRID, COUNTY, COUNTY, VILLAGE, COUNTY], dtype=np.int8)
"""Layer where a report enters the hierarchy, by channel (patrol, volunteer, hotline,
app, walk-in, inspection); inspections enter at the departments' layer."""


class Discovery:
    """Finds latent issues each day and hands them to dispatch."""

    def __init__(self, model: GovModel) -> None:
        self.model = model
        self.rng = stream(model.seed, "discovery")
        self.intake = INTAKE_LAYER.copy()
        self.intake[INSPECTION] = COUNTY if model.params.departments.location == "county" else TOWN
        u = model.units
        teams = u.of_kind(GRID_KIND)
        self.team_servers = u.first[teams][:, None] + np.arange(int(u.staff[teams].max()))[None, :]
        self.team_server_ok = np.arange(self.team_servers.shape[1])[None, :] < u.staff[teams][:, None]
        self.grids_per_team = np.bincount(u.grid_unit, minlength=len(teams))
        self.patrol_hours_today = np.zeros(model.places.n_grids)

    def patrol_hours(self, day: int) -> np.ndarray:
        """Patrol hours each grid puts in today (0 on its days off).

        Unseparated workers patrol with the hours their handling queue leaves them; a
        cluster's pooled workers share their free hours equally among its grids.
        """
        p, cal = self.model.params, self.model.params.calendar.grid
        n_grids = self.model.places.n_grids
        if day % 7 >= cal.days_per_week:
            return np.zeros(n_grids)
        if p.grid.separation:
            return np.full(n_grids, float(p.grid.patrollers_per_grid * cal.hours_per_day))
        open_ = day + cal.start_hour / 24.0
        free = self.model.units.free_at[self.team_servers]
        busy = np.clip((free - open_) * 24.0, 0.0, cal.hours_per_day)
        team_free = ((cal.hours_per_day - busy) * self.team_server_ok).sum(axis=1)
        return (team_free / self.grids_per_team)[self.model.units.grid_unit]

    def step(self, day: int) -> None:
        """Find latent issues today; found ones go to dispatch at the time found."""
        m, L, cat, p = self.model, self.model.ledger, self.model.catalogue, self.model.params
        self.patrol_hours_today = hours = self.patrol_hours(day)
        lat = L.active[L.stage[L.active] == LATENT]
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
        if not p.grid.separation:  # what the worker passed over stays unreported by him
            t_patrol[L.ignored[lat] & (level_at(m, lat, t_patrol) == 0)] = np.inf
            self._pass_over(lat, t_patrol, np.minimum(np.minimum(t_vol, t_insp), t_self))
        times = np.stack([t_patrol, t_vol, t_insp, t_self])
        first = times.argmin(axis=0)
        t = times[first, np.arange(lat.size)]
        found = t < end
        ids, t, first = lat[found], t[found], first[found]
        chan = np.choose(first, [PATROL, VOLUNTEER, INSPECTION, 0]).astype(np.int8)
        chan = np.where(first == 3, L.self_channel[ids], chan)
        L.discovered[ids], L.channel[ids] = t, chan
        L.stage[ids], L.next_t[ids], L.at_layer[ids] = DISPATCH, t, self.intake[chan]

    def _pass_over(self, lat: np.ndarray, t_patrol: np.ndarray, t_other: np.ndarray) -> None:
        """An unseparated worker who finds a grid-level issue first may pass over it: it
        is then not his report (``t_patrol`` set to inf in place) and he ignores it."""
        m, L = self.model, self.model.ledger
        first = np.isfinite(t_patrol) & (t_patrol < t_other)
        small = first & (level_at(m, lat, np.where(first, t_patrol, 0.0)) == 0)
        passed = small & (self.rng.random(lat.size) >= m.params.grid.unseparated_report_probability)
        L.ignored[lat[passed]] = True
        t_patrol[passed] = np.inf

    def _window_draw(
        self, day: int, occ: np.ndarray, start_hour: float, hours: float, hazard: np.ndarray
    ) -> np.ndarray:
        """Time of a detection with daily ``hazard`` spread over a daily window, or inf."""
        lo, hi = day + start_hour / 24.0, day + (start_hour + hours) / 24.0
        ws = np.maximum(occ, lo)
        frac = np.clip((hi - ws) / (hi - lo), 0.0, 1.0)
        u_hit, u_when = self.rng.random(occ.size), self.rng.random(occ.size)
        hit = u_hit < -np.expm1(-hazard * frac)
        return np.where(hit, ws + u_when * (hi - ws), np.inf)
