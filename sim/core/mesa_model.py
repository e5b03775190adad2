"""The model as a Mesa user drives it: built from keyword arguments, with a ``DataCollector``,
stopping itself at the horizon — so ``mesa.batch_run`` and hand-stepping in a notebook work::

    from mesa.batchrunner import batch_run
    from sim.core.mesa_model import MesaGovModel

    rows = batch_run(MesaGovModel, parameters={"scenario": ["baseline", "reform"], "seed": range(3),
                     "collect_agents": False}, iterations=1, max_steps=365, number_processes=1)

Any parameter is a keyword, its dotted path spelt with double underscores
(``grid__separation=False`` is ``--set grid.separation=false``), checked exactly as
``--set`` is (:func:`sim.core.scenarios.load_scenario`). The numbers are those of
:func:`sim.run` for the same scenario, parameters and seed: the same model is stepped,
and the collector only reads it. ``govsim batch`` remains the richer path (paired
replications, designs, a resumable store, intervals); this is the door for Mesa's own tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.agents import KINDS
from sim.core.collect import day_collector, day_row, unit_day
from sim.core.metrics import summary
from sim.core.model import GovModel
from sim.core.output import case_table, daily_table, request_table, shift_hours
from sim.core.params import Params
from sim.core.scenarios import load_scenario
from sim.core.steady import assess, check_warmup
from sim.errors import GovsimError

PATH_SEPARATOR = "__"
"""How a keyword spells the dots of a parameter path: ``grid__separation`` is ``grid.separation``."""


def parameter_overrides(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments ``section__field=value`` as overrides ``{"section.field": value}``."""
    return {k.replace(PATH_SEPARATOR, "."): v for k, v in parameters.items()}


class MesaGovModel(GovModel):
    """:class:`~sim.core.model.GovModel` with Mesa's conventions.

    ``datacollector`` collects at the end of every day (see :mod:`sim.core.collect`):
    ``get_model_vars_dataframe()`` has one row per day — the daily table's columns, and
    the KPIs of the run summary, NaN until the last day — and, with ``collect_agents``,
    ``get_agent_vars_dataframe()`` one row per unit and day (index ``Step``, the day
    from 0, and ``AgentID``). ``running`` turns false after the last day, when
    ``summary`` (the run's KPIs after the warm-up and its steady-state verdict, a pandas
    Series, as :func:`sim.run` gives it) is set; stepping further is an error.
    In ``mesa.batch_run`` give ``max_steps`` at least ``days``; ``Step`` is the last day.

    Args:
        scenario: a built-in scenario name, a YAML path, or a loaded :class:`Params`.
        context: a context name or path replacing the scenario's.
        seed: the run's seed.
        days: the horizon in days.
        collect_agents: also collect each unit's day (off: one ``batch_run`` row per run).
        warmup: days the summary's rates, shares and delays leave out, or ``"auto"``
            (MSER-5; :func:`sim.core.steady.assess`).
        **parameters: parameter values by path, ``section__field=value``.

    Raises:
        ScenarioError: a parameter or value that ``--set`` would refuse, with the same message.
        GovsimError: a horizon under 1 day, or a warm-up that ``--warmup`` would refuse.
    """

    def __init__(
        self,
        scenario: str | Path | Params = "baseline",
        *,
        context: str | None = None,
        seed: int = 0,
        days: int = 365,
        collect_agents: bool = True,
        warmup: str | int = "auto",
        **parameters: Any,
    ) -> None:
        if days < 1:
            raise GovsimError(f"days must be at least 1, got {days}")
        self.warmup = check_warmup(warmup, days, "warmup")
        params = load_scenario(scenario, context=context, overrides=parameter_overrides(parameters))
        super().__init__(params, seed=seed, days=days)
        U = self.units
        self.shift_hours = shift_hours(self)
        self.kind_staff = np.bincount(U.kind, weights=U.staff, minlength=len(KINDS)).astype(np.int64)
        self.unit_kinds = [KINDS[k] for k in U.kind]
        self.unit_ids = [u.unique_id for u in U.units]
        self.collect_agents = collect_agents
        if collect_agents:
            self.world.work.track_units()
        self.today: dict[str, float] = {}
        self.units_today: dict[str, list[Any]] = {}
        self.summary: pd.Series | None = None
        self.datacollector = day_collector(collect_agents)

    def step(self) -> None:
        """Step one day (:meth:`GovModel.step`), then collect; after the last day, summarise and stop."""
        if self.steps > self.days:
            raise GovsimError(f"the run's horizon is {self.days} days; it has ended (running is False)")
        L = self.ledger
        active, n = L.active, L.n
        super().step()
        self.today = day_row(self, np.concatenate([active, np.arange(n, L.n)]))
        if self.collect_agents:
            self.units_today = unit_day(self)
        if self.steps == self.days:
            cases, requests = case_table(self), request_table(self)
            steady = assess(daily_table(self), self.warmup)
            kpis = summary(self, cases, requests, steady.warmup) | steady.columns()
            self.summary = pd.Series(kpis, name=self.params.name)
            self.running = False
            self.forget_agent_ids()  # let the finished model go when its holder drops it
        self.datacollector.collect(self)
