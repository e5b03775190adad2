"""The model: a thin Mesa orchestrator that steps the mechanisms in a fixed daily order."""

from __future__ import annotations

import mesa
import numpy as np

from sim.core.agents import KINDS
from sim.core.catalogue import build_catalogue
from sim.core.ledger import LATENT, QUEUED, TRANSIT, Ledger
from sim.core.mechanisms.closure import Closure
from sim.core.mechanisms.discovery import Discovery
from sim.core.mechanisms.dispatch import Dispatch
from sim.core.mechanisms.enforcement import Enforcement
from sim.core.mechanisms.handling import Handling
from sim.core.mechanisms.one_window import OneWindow
from sim.core.mechanisms.population import Population
from sim.core.params import Params
from sim.core.places import build_places
from sim.core.units import build_units
from sim.errors import GovsimError

DAY_ORDER = ("occurrence", "discovery", "case_flow", "closure", "service_requests", "record")
"""The order of a day; :meth:`GovModel.step` runs exactly these, in this order."""

MAX_FLOW_ROUNDS = 1_000


class GovModel(mesa.Model):
    """The governance model of one scenario, one seed.

    One ``step`` is one day (day ``d`` covers times ``[d, d+1)``, in days), run in the
    order of :data:`DAY_ORDER`:

    1. ``occurrence`` — residents meet new issues (:mod:`sim.core.mechanisms.population`);
    2. ``discovery`` — patrol, volunteers, inspections and residents find latent issues
       (:mod:`sim.core.mechanisms.discovery`);
    3. ``case_flow`` — dispatch (:mod:`sim.core.mechanisms.dispatch`), queue arrivals and job
       completions (:mod:`sim.core.mechanisms.handling`, :mod:`sim.core.mechanisms.enforcement`),
       repeated in this order until no event falls before the day's end;
    4. ``closure`` — verification closes resolved cases, residents update satisfaction
       (:mod:`sim.core.mechanisms.closure`);
    5. ``service_requests`` — approvals through desks or one window
       (:mod:`sim.core.mechanisms.one_window`);
    6. ``record`` — the day-end snapshot (open cases, backlogs, patrol hours).

    Args:
        params: the resolved scenario.
        seed: the run's seed; every stream derives from it (:mod:`sim.core.rng`).
        days: the horizon, used to size the records.
    """

    def __init__(self, params: Params, seed: int = 0, days: int = 365) -> None:
        super().__init__(rng=np.random.default_rng(seed))
        self.params, self.seed, self.days = params, int(seed), int(days)
        self.catalogue = build_catalogue(params)
        self.places = build_places(params.population)
        self.units = build_units(self, params, self.places)
        expected = self.catalogue.rate.sum() * params.population.residents / 1000.0
        self.ledger = Ledger(int(expected * days * 1.1) + 1024)
        self.busy = np.zeros((len(KINDS), days))
        self.overtime_hours = np.zeros(len(KINDS))  # worked on supervised cases (deadline watch)
        self.snapshots: dict[str, list[float]] = {k: [] for k in SNAPSHOT_COLUMNS}
        self.population = Population(self)
        self.discovery = Discovery(self)
        self.dispatch = Dispatch(self)
        self.handling = Handling(self)
        self.enforcement = Enforcement(self)
        self.closure = Closure(self)
        self.one_window = OneWindow(self)
        self._acts = {
            "occurrence": self.population.step,
            "discovery": self.discovery.step,
            "case_flow": self._case_flow,
            "closure": self.closure.step,
            "service_requests": self.one_window.step,
            "record": self._record,
        }

    @property
    def day(self) -> int:
        """The day being (or last) stepped, from 0."""
        return self.steps - 1

    def step(self) -> None:
        """Advance one day through :data:`DAY_ORDER`."""
        for name in DAY_ORDER:
            self._acts[name](self.day)

    def _case_flow(self, day: int) -> None:
        # only cases with an event before the day's end can move today (their own events
        # are the only ones that change them), so the rounds search just those
        a = self.ledger.active
        today = a[self.ledger.next_t[a] < day + 1.0]
        for _ in range(MAX_FLOW_ROUNDS):
            today = today[self.ledger.next_t[today] < day + 1.0]
            moved = (
                self.dispatch.step(day, today)
                + self.handling.arrive(day, today)
                + self.handling.complete(day, today)
            )
            if moved == 0:
                return
        raise GovsimError(f"day {day}: cases still moving after {MAX_FLOW_ROUNDS} rounds")

    def release(self) -> None:
        """Let the model be garbage-collected once the caller drops it.

        Mesa 3.3 keeps every model alive through the class attribute ``Agent._ids``
        (mesa/mesa#3179, fixed upstream in #3180 for later releases): without this a
        process running many models grows by a model's size per run.
        """
        self.remove_all_agents()
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)

    def record_busy(self, kind: np.ndarray, start: np.ndarray, hours: np.ndarray) -> None:
        """Add work hours to the day each job starts on (jobs past the horizon are left out)."""
        d = np.floor(start).astype(np.int64)
        ok = (d >= 0) & (d < self.days)
        np.add.at(self.busy, (kind[ok], d[ok]), hours[ok])

    def _record(self, day: int) -> None:
        L, U = self.ledger, self.units
        a = L.active
        st = L.stage[a]
        queued_kind = U.kind[L.unit[a[st == QUEUED]]]
        counts = np.bincount(queued_kind, minlength=len(KINDS))
        snap = self.snapshots
        snap["open_cases"].append(a.size)
        snap["latent_cases"].append(int((st == LATENT).sum()))
        snap["in_transit"].append(int((st == TRANSIT).sum()))
        for i, k in enumerate(KINDS[:4]):
            snap[f"backlog_{k}"].append(int(counts[i]))
        snap["patrol_hours"].append(float(self.discovery.patrol_hours_today.sum()))
        snap["requests_open"].append(int(self.one_window.active.size))


SNAPSHOT_COLUMNS = (
    "open_cases",
    "latent_cases",
    "in_transit",
    "backlog_grid",
    "backlog_department",
    "backlog_enforcement",
    "backlog_centre",
    "patrol_hours",
    "requests_open",
)
