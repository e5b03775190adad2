"""Calibrating the shared context to the reported figures (pattern-oriented fitting).

The targets (``experiments/targets/*.yaml``) are reported figures, each compared with a
KPI of one scenario's runs: before-reform figures with ``baseline``, after-reform figures
with the programme that reported them. Only *context* parameters are fitted (demand,
detection, growth, reporting, approval times), once for all scenarios, so the mechanisms
alone must carry the change from before to after.

The fit minimises the sum over targets of the squared distance outside each target's
tolerance (in units of the tolerance), plus a small pull towards the reported value,
with SciPy's differential evolution — a global optimiser — over replicated runs with
common random numbers (the same seeds for every candidate). The best candidate is then
run at full scale with more replications to give the fit table: each target, the
simulated mean with its 95% interval, and whether it lies within tolerance. Figures the
model cannot reach are reported as such; nothing is forced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, model_validator
from scipy.optimize import differential_evolution

from sim.core.metrics import KPIS
from sim.core.params import Params
from sim.core.runner import run
from sim.core.scenarios import load_scenario
from sim.core.sections import Section
from sim.core.yamlfile import read_yaml
from sim.errors import ScenarioError
from sim.experiments.replicate import Run, interval, local_executor, paired_runs, replicate


class Target(Section):
    """A reported figure and the KPI of the scenario it is compared with."""

    id: str
    metric: str
    scenario: str
    value: float
    tolerance: float = Field(gt=0)
    direction: Literal["eq", "at_least", "at_most"] = "eq"
    source: str
    note: str = ""

    @model_validator(mode="after")
    def _known_metric(self) -> Target:
        if self.metric not in KPIS:
            raise ValueError(f"metric {self.metric!r} is not a KPI; known: {list(KPIS)}")
        return self


class FitParameter(Section):
    """A context parameter (or a scale on several, ``*`` matching every category)."""

    name: str
    paths: tuple[str, ...] = Field(min_length=1)
    scale: bool = False
    low: float
    high: float

    @model_validator(mode="after")
    def _range(self) -> FitParameter:
        if self.low >= self.high:
            raise ValueError("needs low < high")
        return self


class Budget(Section):
    """Scale of the runs: residents, days, replications."""

    residents: int = Field(40_000, ge=1000)
    days: int = Field(240, ge=30)
    replications: int = Field(2, ge=1)


class Optimiser(Section):
    """Differential evolution settings."""

    method: Literal["differential_evolution"] = "differential_evolution"
    maxiter: int = Field(6, ge=0)
    popsize: int = Field(4, ge=1)
    seed: int = Field(0, ge=0)


class CalibrationConfig(Section):
    """A calibration (``experiments/calibration.yaml``)."""

    name: str = "calibration"
    targets: str
    base_context: str = "town"
    context_out: str = "../scenarios/contexts/calibrated.yaml"
    evaluation: Budget = Budget()
    final: Budget = Budget(residents=190_000, days=365, replications=5)
    optimiser: Optimiser = Optimiser()
    parameters: tuple[FitParameter, ...] = Field(min_length=1)


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(str(path), "", "file not found")
    return read_yaml(path, what)


def _validate(model: type[Section], data: Any, src: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise ScenarioError(src, field, err["msg"].removeprefix("Value error, ")) from None


def load_calibration(path: str | Path) -> tuple[CalibrationConfig, list[Target], Path]:
    """Read a calibration file and its targets; returns (config, targets, folder)."""
    p = Path(path)
    config = _validate(CalibrationConfig, _read_yaml(p, "calibration"), str(p))
    tpath = p.parent / config.targets
    items = _read_yaml(tpath, "targets").get("targets")
    if not isinstance(items, list) or not items:
        raise ScenarioError(str(tpath), "targets", "must be a non-empty list of targets")
    targets = [_validate(Target, t, f"{tpath}: targets[{i}]") for i, t in enumerate(items)]
    for t in targets:
        try:
            load_scenario(t.scenario, context=config.base_context)
        except ScenarioError as exc:
            raise ScenarioError(str(tpath), f"{t.id}.scenario", str(exc)) from None
    base = load_scenario("baseline", context=config.base_context)
    for fp in config.parameters:
        for pattern in fp.paths:
            if not _expand(base, pattern):
                raise ScenarioError(
                    str(p), f"parameters.{fp.name}", f"{pattern!r} matches no context parameter"
                )
            if pattern.endswith("initial_level") and not fp.scale:
                raise ScenarioError(
                    str(p), f"parameters.{fp.name}", "initial_level can only be scaled (scale: true)"
                )
    return config, targets, p.parent


def _expand(base: Params, path: str) -> dict[str, Any]:
    """Concrete paths (``*`` over categories) with their current values in ``base``."""
    tree = base.model_dump()
    parts = path.split(".")
    if parts[0] not in ("categories", "population", "residents", "service_requests"):
        return {}
    keys = list(tree["categories"]) if parts[0] == "categories" and parts[1] == "*" else [None]
    out = {}
    for k in keys:
        concrete = [parts[0], k, *parts[2:]] if k is not None else parts
        node: Any = tree
        for part in concrete:
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        number = isinstance(node, int | float) and not isinstance(node, bool)
        if number or concrete[-1] == "initial_level":  # initial levels: scaled as a whole (context_values)
            out[".".join(str(c) for c in concrete)] = node
    return out


def _scaled_levels(levels: Sequence[float], v: float) -> list[float]:
    """Initial levels with the chances of needing a department or enforcement scaled by ``v``.

    The grid keeps the rest; where the scaled chances would pass 1 they are scaled down to 1.
    """
    above = [p * v for p in levels[1:]]
    total = sum(above)
    if total > 1.0:
        above = [p / total for p in above]
    return [max(0.0, 1.0 - sum(above)), *above]


def context_values(base: Params, params: Sequence[FitParameter], x: Sequence[float]) -> dict[str, Any]:
    """The context values a candidate ``x`` sets (scales applied; probabilities capped at 1).

    A scale on ``categories.*.initial_level`` scales the chances of needing more than the
    grid (the village, a department or enforcement) from the start; the grid keeps the rest.
    """
    out: dict[str, Any] = {}
    for fp, v in zip(params, x, strict=True):
        for path in fp.paths:
            for concrete, current in _expand(base, path).items():
                if concrete.endswith("initial_level"):
                    out[concrete] = _scaled_levels(current, v)
                    continue
                value = current * v if fp.scale else v
                if concrete.endswith("probability"):
                    value = min(value, 1.0)
                out[concrete] = float(value)
    return out


def distance(t: Target, mean: float) -> float:
    """How far ``mean`` lies outside the target's tolerance, in tolerances (0 inside)."""
    if math.isnan(mean):
        return 10.0
    if t.direction == "at_least":
        return max(0.0, (t.value - t.tolerance) - mean) / t.tolerance
    if t.direction == "at_most":
        return max(0.0, mean - (t.value + t.tolerance)) / t.tolerance
    return max(0.0, abs(mean - t.value) - t.tolerance) / t.tolerance


def loss(targets: Sequence[Target], means: Mapping[str, float]) -> float:
    """The fitted criterion: squared distances outside tolerance plus a small pull to the value."""
    total = 0.0
    for t in targets:
        m = means[t.id]
        total += distance(t, m) ** 2
        if t.direction == "eq" and not math.isnan(m):
            total += 0.01 * ((m - t.value) / t.tolerance) ** 2
    return total


def _one(r: Run) -> dict[str, float]:
    s = run(r.params, seed=r.seed, days=r.days).summary
    return {str(k): float(v) for k, v in s.items()}


@dataclass(frozen=True)
class Evaluator:
    """Runs the target scenarios for a candidate and returns each target's KPI values."""

    config: CalibrationConfig
    targets: tuple[Target, ...]
    base: Params

    def runs(
        self, x: Sequence[float], budget: Budget, pool: Executor | None = None
    ) -> dict[str, list[float]]:
        """Per target, the KPI value of each replication."""
        over = {
            **context_values(self.base, self.config.parameters, x),
            "population.residents": budget.residents,
        }
        scenarios = sorted({t.scenario for t in self.targets})
        variants = {s: load_scenario(s, context=self.config.base_context, overrides=over) for s in scenarios}
        jobs = paired_runs(variants, budget.replications, self.config.optimiser.seed, budget.days)
        by: dict[str, list[dict[str, float]]] = {s: [] for s in scenarios}
        for r, kpis in zip(jobs, replicate(_one, jobs, pool), strict=True):
            by[str(r.key)].append(kpis)
        return {t.id: [k[t.metric] for k in by[t.scenario]] for t in self.targets}

    def __call__(self, x: np.ndarray) -> float:
        values = self.runs(list(x), self.config.evaluation)
        return loss(
            self.targets,
            {k: float(np.nanmean(v)) if not np.all(np.isnan(v)) else math.nan for k, v in values.items()},
        )


@dataclass(frozen=True)
class CalibrationResult:
    """The best candidate, its fit table and the calibrated context as YAML text."""

    x: dict[str, float]
    fit: pd.DataFrame
    context_yaml: str
    loss: float


def calibrate(
    path: str | Path,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> CalibrationResult:
    """Fit the shared context to the targets and evaluate the fit at full scale."""
    config, targets, _ = load_calibration(path)
    base = load_scenario("baseline", context=config.base_context)
    evaluator = Evaluator(config, tuple(targets), base)
    bounds = [(fp.low, fp.high) for fp in config.parameters]
    generation = 0

    def callback(*_: Any, **__: Any) -> None:
        nonlocal generation
        generation += 1
        if progress is not None:
            progress(generation)

    with local_executor(workers) as pool:
        result = differential_evolution(
            evaluator,
            bounds,
            maxiter=config.optimiser.maxiter,
            popsize=config.optimiser.popsize,
            seed=config.optimiser.seed,
            polish=False,
            updating="deferred",
            workers=map if pool is None else pool.map,
            callback=callback,
            init="sobol" if len(bounds) > 1 else "latinhypercube",
        )
        best = [float(v) for v in result.x]
        final = evaluator.runs(best, config.final, pool)
    fit = fit_table(targets, final)
    return CalibrationResult(
        x={fp.name: v for fp, v in zip(config.parameters, best, strict=True)},
        fit=fit,
        context_yaml=context_yaml(config, base, best, fit),
        loss=float(result.fun),
    )


def fit_table(targets: Sequence[Target], values: Mapping[str, list[float]]) -> pd.DataFrame:
    """One row per target: reported value and tolerance, simulated mean and 95% interval."""
    rows = []
    for t in targets:
        mean, lo, hi = interval(pd.Series(values[t.id], dtype=float))
        rows.append(
            {
                "target": t.id,
                "metric": t.metric,
                "scenario": t.scenario,
                "reported": t.value,
                "tolerance": t.tolerance,
                "direction": t.direction,
                "sim_mean": mean,
                "sim_lo": lo,
                "sim_hi": hi,
                "within": distance(t, mean) == 0.0,
                "source": t.source,
                "note": t.note,
            }
        )
    return pd.DataFrame(rows)


def context_yaml(config: CalibrationConfig, base: Params, x: Sequence[float], fit: pd.DataFrame) -> str:
    """The calibrated context: the base context with the fitted values, as YAML."""
    tree: dict[str, Any] = {}
    for path, value in context_values(base, config.parameters, x).items():
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if isinstance(value, list):  # initial levels: round those above the grid; the grid keeps the rest
            above = [round(v, 6) for v in value[1:]]
            node[leaf] = [round(1.0 - sum(above), 6), *above]
        else:
            node[leaf] = round(value, 6)
    within = int(fit["within"].sum())
    header = (
        f"# Written by `govsim calibrate` ({config.name}): the {config.base_context} context with the\n"
        f"# fitted values below. {within} of {len(fit)} targets within tolerance; see docs/calibration.md.\n"
    )
    body = {
        "name": "calibrated",
        "description": f"{config.base_context} calibrated to the reported figures",
        "extends": config.base_context,
        **tree,
    }
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


__all__ = [
    "CalibrationConfig",
    "CalibrationResult",
    "Target",
    "calibrate",
    "distance",
    "fit_table",
    "load_calibration",
    "loss",
]
