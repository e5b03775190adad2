"""Calibration settings: the reported figures (targets), the fitted context parameters,
the run budgets, and how a point in parameter space sets the context.

The targets (``experiments/targets/*.yaml``) are reported figures, each compared with a
KPI of one scenario's runs: before-reform figures with ``baseline``, after-reform figures
with the programme that reported them. Each has a *role*: ``calibrate`` (in the fit),
``validate`` (held back and predicted) or ``plan`` (a programme's aim, reported as reached
or not); and a *reading*: ``observation``, ``claim`` (an administrative figure) or
``plan``, with what its share or mean is of. Only *context* parameters are fitted (demand,
detection, growth, reporting, patience, approval times), once for all scenarios, so the
mechanisms alone must carry the change from before to after. The fit itself is
:mod:`sim.experiments.calibration_fit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from sim.core.metrics import KPIS
from sim.core.params import Params
from sim.core.scenarios import load_scenario
from sim.core.sections import Section
from sim.core.yamlfile import read_yaml
from sim.errors import ScenarioError, did_you_mean


class Target(Section):
    """A reported figure and the KPI of the scenario it is compared with."""

    id: str
    metric: str
    scenario: str
    value: float
    tolerance: float = Field(gt=0)
    direction: Literal["eq", "at_least", "at_most"] = "eq"
    role: Literal["calibrate", "validate", "plan"]
    reading: Literal["observation", "claim", "plan"]
    denominator: str = Field(min_length=1)
    source: str
    note: str = ""

    @model_validator(mode="after")
    def _known_metric(self) -> Target:
        if self.metric not in KPIS:
            hint = did_you_mean(self.metric, KPIS)
            raise ValueError(f"metric {self.metric!r} is not a KPI{hint}; known: {list(KPIS)}")
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
    """Scale of each run: residents and days."""

    residents: int = Field(190_000, ge=1000)
    days: int = Field(365, ge=30)


class Waves(Section):
    """The design: a Latin hypercube over the prior box, then points from the region the
    first wave's emulators have not ruled out, then points from the posterior the first two
    waves give (so that the emulators are sure where the posterior lies); each point run
    ``replicates`` times, each time with its own seed, so that the emulators learn the
    run-to-run noise from the replicates rather than fit one seed's noise as if it were the
    model."""

    first: int = Field(80, ge=4, description="points of the first wave")
    second: int = Field(60, ge=0, description="points of the second wave, from the region not ruled out")
    third: int = Field(
        60, ge=0, description="points of the third wave, from the posterior of the first two waves' emulators"
    )
    seed: int = Field(11, ge=0, description="seed of the design (the points drawn)")
    replicates: int = Field(3, ge=1, le=20, description="runs of each point, each with its own seed")
    run_seed: int = Field(0, ge=0, description="first seed of the model runs")


class Predictive(Budget):
    """Posterior predictive runs: the first ``draws`` posterior draws, one run per scenario."""

    draws: int = Field(20, ge=2, le=1000)


class Check(Budget):
    """The identifiability check (``govsim calibrate --check``): a small design."""

    points: int = Field(24, ge=6)


class CalibrationConfig(Section):
    """A calibration (``experiments/calibration.yaml``)."""

    name: str = "calibration"
    targets: str
    base_context: str = "town"
    context_out: str = "../scenarios/contexts/calibrated.yaml"
    docs_out: str | None = None
    evaluation: Budget = Budget()
    waves: Waves = Waves()
    posterior_draws: int = Field(400, ge=10, le=10_000, description="posterior draws kept")
    predictive: Predictive = Predictive()
    check: Check = Check(residents=40_000, days=180)
    parameters: tuple[FitParameter, ...] = Field(min_length=1)

    def fitted(self, targets: Sequence[Target]) -> list[Target]:
        """The targets in the fit."""
        return [t for t in targets if t.role == "calibrate"]


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


def context_yaml(config: CalibrationConfig, base: Params, x: Sequence[float], header: str) -> str:
    """The calibrated context: the base context with the values at point ``x``, as YAML."""
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
    body = {
        "name": Path(config.context_out).stem,
        "description": f"{config.base_context} calibrated to the reported figures (posterior median)",
        "extends": config.base_context,
        **tree,
    }
    lines = "".join(f"# {line}\n" for line in header.splitlines())
    return lines + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


__all__ = [
    "Budget",
    "CalibrationConfig",
    "FitParameter",
    "Target",
    "context_values",
    "context_yaml",
    "distance",
    "load_calibration",
]
