"""The model: a thin Mesa orchestrator that steps the agents and the mechanisms in a
declared daily order."""

from __future__ import annotations

from typing import Any, NamedTuple

import mesa
import numpy as np

from sim.core.agents import BACKLOG_KINDS, KINDS, UNIT_CLASSES, Unit
from sim.core.catalogue import build_catalogue
from sim.core.ledger import Ledger, Stage
from sim.core.mechanisms import REGISTRY
from sim.core.params import Params
from sim.core.places import build_places
from sim.core.units import build_units
from sim.core.world import Hooks, World


class Act(NamedTuple):
    """One step of a day: its name, who acts (``model`` or a mechanism) and the method."""

    name: str
    owner: str
    method: str


DAY_ORDER: tuple[Act, ...] = (
    Act("workforce", "model", "plan_workforce"),
    Act("occurrence", "population", "step"),
    Act("discovery", "discovery", "step"),
    Act("meetings", "meetings", "step"),
    Act("case_flow", "flow", "step"),
    Act("closure", "closure", "step"),
    Act("assessment", "assessment", "step"),
    Act("service_requests", "one_window", "step"),
    Act("record", "model", "record"),
)
"""The order of a day; :meth:`GovModel.step` runs exactly these, in this order."""

SNAPSHOT_COLUMNS = (
    "open_cases",
    "latent_cases",
    "in_transit",
    *(f"backlog_{k}" for k in BACKLOG_KINDS),
    "patrol_hours",
    "requests_open",
)
"""Day-end stocks the daily table records."""


class GovModel(mesa.Model):
    """The governance model of one scenario, one seed.

    One ``step`` is one day (day ``d`` covers times ``[d, d+1)``, in days), run in the
    order of :data:`DAY_ORDER`:

    1. ``workforce`` — each kind of unit plans its day (:meth:`sim.core.agents.Unit.plan_day`,
       called per kind through Mesa's ``agents_by_type``): grid teams split their time
       between handling and patrol;
    2. ``occurrence`` — residents meet new issues (:mod:`sim.core.mechanisms.population`);
    3. ``discovery`` — patrol, volunteers, inspections and residents find latent issues
       (:mod:`sim.core.mechanisms.discovery`);
    4. ``meetings`` — on a meeting day, the cluster centres' joint meetings take their
       delegates' hours (:mod:`sim.core.mechanisms.meetings`; with ``clusters.centre``);
    5. ``case_flow`` — the day's case events in exact time order, compiled
       (:mod:`sim.core.mechanisms.flow`): dispatch (:mod:`sim.core.mechanisms.dispatch`), arrivals
       at units and finished jobs (:mod:`sim.core.mechanisms.handling`, with
       :mod:`sim.core.mechanisms.enforcement`, closure's verification and the grid
       supervisors' checks), until no event falls before the day's end;
    6. ``closure`` — verification closes resolved cases, residents update satisfaction
       (:mod:`sim.core.mechanisms.closure`);
    7. ``assessment`` — at the end of each period towns and county departments rate each
       other, and the ratings set how they answer (:mod:`sim.core.mechanisms.assessment`);
    8. ``service_requests`` — approvals through desks or one window
       (:mod:`sim.core.mechanisms.one_window`);
    9. ``record`` — the day-end snapshot (open cases, backlogs, patrol hours).

    The mechanisms see the :class:`~sim.core.world.World` (``self.world``), not the model.

    Args:
        params: the resolved scenario.
        seed: the run's seed; every stream derives from it (:mod:`sim.core.rng`).
        days: the horizon, used to size the records.
    """

    def __init__(self, params: Params, seed: int = 0, days: int = 365) -> None:
        super().__init__(rng=np.random.default_rng(seed))
        self.params, self.seed, self.days = params, int(seed), int(days)
        catalogue = build_catalogue(params)
        places = build_places(params.population)
        units = build_units(self, params, places)
        expected = catalogue.rate.sum() * params.population.residents / 1000.0
        hooks = Hooks()
        ledger = Ledger(int(expected * days * 1.1) + 1024, catalogue.max_level, hooks.emit)
        self.world = World(params, self.seed, self.days, catalogue, places, units, ledger, hooks)
        self.mechanisms: dict[str, Any] = {name: cls(self.world) for name, cls in REGISTRY.items()}
        self._plans = {cls: cls.prepare(self.agents_by_type[cls], self.world) for cls in self._unit_classes()}
        self.snapshots: dict[str, list[float]] = {k: [] for k in SNAPSHOT_COLUMNS}
        self._day = [self._act(a) for a in DAY_ORDER]

    def _act(self, act: Act) -> Any:
        return getattr(self if act.owner == "model" else self.mechanisms[act.owner], act.method)

    def _unit_classes(self) -> list[type[Unit]]:
        return [c for c in UNIT_CLASSES if c in self.agents_by_type]

    # the world's parts, for readers of a finished model (tables, metrics, dashboard)
    @property
    def ledger(self) -> Ledger:
        """The case ledger."""
        return self.world.ledger

    @property
    def units(self) -> Any:
        """The units as arrays (:class:`sim.core.units.UnitTable`)."""
        return self.world.units

    @property
    def places(self) -> Any:
        """The places (:class:`sim.core.places.Places`)."""
        return self.world.places

    @property
    def catalogue(self) -> Any:
        """The category catalogue (:class:`sim.core.catalogue.Catalogue`)."""
        return self.world.catalogue

    @property
    def day(self) -> int:
        """The day being (or last) stepped, from 0."""
        return self.steps - 1

    def step(self) -> None:
        """Advance one day through :data:`DAY_ORDER`."""
        for act in self._day:
            act(self.day)

    def plan_workforce(self, day: int) -> None:
        """Each kind of unit plans its day (its rule on its agent class)."""
        for cls, prepared in self._plans.items():
            cls.plan_day(prepared, self.world, day)

    def release(self) -> None:
        """Let the model be garbage-collected once the caller drops it.

        Mesa 3.3 keeps every model alive through the class attribute ``Agent._ids``
        (mesa/mesa#3179, fixed upstream in #3180 for later releases): without this a
        process running many models grows by a model's size per run.
        """
        self.remove_all_agents()
        self.forget_agent_ids()

    def dispose(self) -> None:
        """Release the model and break its reference cycles (the model's and the world's:
        agents, mechanisms, hooks), so that it is freed as soon as the caller drops it,
        without a garbage collection (which walks every object of the process). The model
        is unusable afterwards."""
        self.release()
        self.world.__dict__.clear()
        self.__dict__.clear()

    def forget_agent_ids(self) -> None:
        """Drop Mesa 3.3's hold on the model (its agents' id counter, ``Agent._ids``), keeping
        the agents: a finished model then goes once its holder drops it. No agent may be
        added after this (ids would restart at 1)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)

    def record(self, day: int) -> None:
        """The day-end snapshot: open, latent and in-transit cases, backlogs, patrol hours."""
        w = self.world
        L, U = w.ledger, w.units
        at, counts = L.stage_counts(U.kind, len(KINDS))
        snap = self.snapshots
        snap["open_cases"].append(L.active.size)
        snap["latent_cases"].append(int(at[Stage.LATENT]))
        snap["in_transit"].append(int(at[Stage.TRANSIT]))
        for k in BACKLOG_KINDS:
            snap[f"backlog_{k}"].append(int(counts[KINDS.index(k)]))
        snap["patrol_hours"].append(float(w.patrol_hours.sum()))
        snap["requests_open"].append(int(self.mechanisms["one_window"].active.size))
