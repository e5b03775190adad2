"""Running one scenario: build the model, step it, and return its tidy tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.core.limits import check_run
from sim.core.metrics import summary
from sim.core.model import GovModel
from sim.core.output import case_table, daily_table, request_table
from sim.core.params import Params
from sim.core.scenarios import load_scenario
from sim.core.steady import SteadyState, assess, check_warmup


@dataclass(frozen=True)
class RunResult:
    """The outputs of one run.

    Attributes:
        params: the resolved scenario.
        seed, days: the run's seed and horizon.
        cases: the case ledger, one row per case.
        daily: one row per day.
        requests: one row per service request.
        summary: the run's KPIs after the warm-up (see :mod:`sim.core.metrics`), then
            the steady-state verdict (:data:`sim.core.steady.STEADY_COLUMNS`).
        steady: the warm-up and the trend of each stock after it.
    """

    params: Params
    seed: int
    days: int
    cases: pd.DataFrame
    daily: pd.DataFrame
    requests: pd.DataFrame
    summary: pd.Series
    steady: SteadyState


def run(
    scenario: str | Path | Params,
    seed: int = 0,
    days: int = 365,
    context: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    warmup: str | int = "auto",
) -> RunResult:
    """Run one scenario for ``days`` days.

    Args:
        scenario: a built-in name, a YAML path, or a loaded :class:`Params`.
        seed: the run's seed (same scenario and seed give identical tables).
        days: the horizon in days.
        context, overrides: as in :func:`sim.core.scenarios.load_scenario`.
        progress: called with the number of days done after each day.
        warmup: days left out of the rates, shares and delays, or ``"auto"``: the
            MSER-5 warm-up of the run's stocks (:func:`sim.core.steady.assess`).

    Returns:
        The run's tables and summary.

    Raises:
        ScenarioError: a bad scenario, context or override.
        GovsimError: a seed, horizon or size out of bounds (:mod:`sim.core.limits`), or a
            warm-up that is not ``"auto"`` or a whole number of days shorter than the horizon.
    """
    params = (
        scenario
        if isinstance(scenario, Params) and not (context or overrides)
        else load_scenario(scenario, context=context, overrides=overrides)
    )
    check_run(params, days, seed)
    warmup = check_warmup(warmup, days)
    model = GovModel(params, seed=seed, days=days)
    for d in range(days):
        model.step()
        if progress is not None:
            progress(d + 1)
    daily, requests = daily_table(model), request_table(model)
    cases = case_table(model, consume=True)  # the ledger's last use
    steady = assess(daily, warmup)
    kpis = {**summary(model, cases, requests, steady.warmup), **steady.columns()}
    model.dispose()  # freed here, by reference counting: no garbage collection needed
    del model
    return RunResult(params, seed, days, cases, daily, requests, pd.Series(kpis, name=params.name), steady)
