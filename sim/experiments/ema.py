"""A govsim scenario as an EMA Workbench model, for exploratory modelling.

The EMA Workbench (Kwakkel 2017; the ``ema`` extra: ``pip install 'govsim[ema]'``) keeps
what is uncertain (uncertainties), what policy chooses (levers) and what is measured
(outcomes) apart, samples experiments over them and runs them on its evaluators.
:func:`ema_model` exposes a scenario in those terms: uncertainties and levers are
parameter paths of the scenario with a range or a list of values, outcomes are KPIs of
the run summary (:data:`sim.core.metrics.KPIS`). EMA names must be Python identifiers,
so a path's dots become ``__`` (``grid.patrollers_per_grid`` is
``grid__patrollers_per_grid``, as in :class:`sim.MesaGovModel`).

Each experiment runs the scenario with the sampled values as overrides (checked as
``--set`` is) for ``days`` days, once per replication; replication ``r`` has the same
seed in every experiment (:func:`sim.core.rng.replication_seeds`, as ``govsim compare``
and ``batch`` use), so experiments differ by their parameters, not by noise. An
outcome is the mean of the KPI over the replications. Every path, range and KPI is
checked when the model is built, before EMA runs anything.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.core.metrics import KPIS
from sim.core.rng import replication_seeds
from sim.core.runner import run
from sim.core.scenarios import load_scenario
from sim.errors import GovsimError, did_you_mean

try:
    with warnings.catch_warnings():  # the workbench warns that an evaluator we do not use is missing
        warnings.filterwarnings("ignore", message="ipyparallel not installed")
        from ema_workbench import (
            CategoricalParameter,
            IntegerParameter,
            RealParameter,
            ReplicatorModel,
            ScalarOutcome,
        )
        from ema_workbench.em_framework.parameters import Parameter
except ImportError as exc:
    raise ImportError(
        f"sim.experiments.ema needs the EMA Workbench ({exc.name} is missing): pip install 'govsim[ema]'"
    ) from exc

Range = tuple[float, float] | Sequence[Any]
"""``(low, high)`` for a numeric range (integers if both ends are), or a list of values."""


def ema_name(path: str) -> str:
    """The EMA name of a parameter path (dots become ``__``)."""
    return path.replace(".", "__")


def parameter(path: str, spec: Range) -> Parameter:
    """An EMA parameter for a path: ``(low, high)`` a range, a list its values.

    Raises:
        GovsimError: ``spec`` is neither a range of two numbers with ``low < high`` nor a
            non-empty list.
    """
    name = ema_name(path)
    if isinstance(spec, list) and spec:
        return CategoricalParameter(name, spec)
    numeric = isinstance(spec, tuple) and len(spec) == 2
    numeric = numeric and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec)
    if not numeric or not spec[0] < spec[1]:
        raise GovsimError(
            f"{path}: {spec!r} is not allowed: give a range (low, high) with low < high, or a list of values"
        )
    low, high = spec
    if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
        return IntegerParameter(name, int(low), int(high))
    return RealParameter(name, float(low), float(high))


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value the parameter tree expects."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class Experiment:
    """What EMA calls for each experiment and replication: one run of the scenario.

    A module-level class (not a closure), so that EMA's multiprocessing evaluator can
    send it to its workers.
    """

    scenario: str
    outcomes: tuple[str, ...]
    days: int
    context: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, seed: int, **values: Any) -> dict[str, float]:
        sampled = {name.replace("__", "."): _plain(v) for name, v in values.items()}
        params = load_scenario(self.scenario, context=self.context, overrides={**self.overrides, **sampled})
        summary = run(params, seed=seed, days=self.days).summary
        return {k: float(summary[k]) for k in self.outcomes}


def _check(
    scenario: str, context: str | None, overrides: Mapping[str, Any], ranges: Mapping[str, Range]
) -> None:
    """Load the scenario at each end of each range (each value of each list), or fail naming it."""
    for path, spec in ranges.items():
        values = spec if isinstance(spec, list) else list(spec)
        for v in values:
            try:
                load_scenario(scenario, context=context, overrides={**overrides, path: v})
            except GovsimError as exc:
                raise GovsimError(f"{path} = {v!r}: {exc}") from None


def ema_model(
    scenario: str,
    uncertainties: Mapping[str, Range],
    outcomes: Sequence[str],
    levers: Mapping[str, Range] | None = None,
    *,
    days: int = 365,
    replications: int = 1,
    seed: int = 0,
    context: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> ReplicatorModel:
    """A scenario as an EMA Workbench model.

    Args:
        scenario: a built-in scenario name or a scenario file.
        uncertainties: parameter path -> ``(low, high)`` or a list of values.
        outcomes: KPIs of the run summary.
        levers: parameter path -> range or values, for policy levers (optional).
        days: horizon of each run.
        replications: runs per experiment (paired seeds); an outcome is their mean.
        seed: root seed of the replications.
        context: a context name or file replacing the scenario's.
        overrides: parameter path -> value, fixed in every experiment.
        name: the model's EMA name (letters and digits; default the scenario's name
            without other characters).

    Returns:
        An ``ema_workbench.ReplicatorModel``: pass it to ``perform_experiments``.

    Raises:
        GovsimError: an unknown KPI, a path that is not a parameter, a range or value the
            scenario does not accept, or a bad horizon or seed (one line).
    """
    from sim.core.limits import check_run

    fixed = dict(overrides or {})
    unknown = [k for k in outcomes if k not in KPIS]
    if unknown or not outcomes:
        hint = did_you_mean(unknown, KPIS)
        raise GovsimError(f"outcomes: {unknown or 'none'} not allowed{hint}; choose KPIs from {list(KPIS)}")
    if replications < 1:
        raise GovsimError(f"replications: {replications} is not allowed: at least 1")
    unc = [parameter(p, s) for p, s in uncertainties.items()]  # the shape of each range first
    lev = [parameter(p, s) for p, s in (levers or {}).items()]
    _check(scenario, context, fixed, {**uncertainties, **(levers or {})})
    params = load_scenario(scenario, context=context, overrides=fixed)
    check_run(params, days, seed)
    label = name or "".join(c for c in params.name if c.isalnum()) or "govsim"
    model = ReplicatorModel(label, function=Experiment(scenario, tuple(outcomes), days, context, fixed))
    model.uncertainties, model.levers = unc, lev
    model.outcomes = [ScalarOutcome(k, function=np.mean) for k in outcomes]
    model.replications = [{"seed": s} for s in replication_seeds(seed, replications)]
    return model


__all__ = ["Experiment", "ema_model", "ema_name", "parameter"]
