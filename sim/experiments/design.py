"""Experiment designs: scenarios × parameter points × replications, from ``experiments/*.yaml``.

A design names the scenarios to run, the parameters to vary (each a dotted parameter
path with either ``values`` or a ``low``–``high`` range), how to sample them
(``factorial``, ``latin_hypercube``, ``sobol`` or ``morris``; samplers from SALib), the
replications, horizon, root seed, KPIs and which tables to keep. :func:`expand` turns it
into the design table, one row per run. Replication ``r`` has the same seed in every
scenario and at every point (spawned from the root seed), so comparisons are paired.

``posterior_draws: N`` runs everything under each of the first ``N`` posterior draws of the
context (:mod:`sim.experiments.posterior`): the draw is a design dimension like the
replication (column ``draw``, run ids ``..__dDDD__rRRRR``), each run's overrides are its draw's,
then the design's ``overrides``, then its point's values (so what the design fixes wins), and
replication ``r`` has the same seed in every draw. Without it the design, its table, its hash
and its stored JSON are what they were before draws existed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from sim.core.limits import ALLOW_LARGE, MAX_DAYS, MAX_SEED, allow_large, check_run, check_runs
from sim.core.metrics import KPIS
from sim.core.rng import replication_seeds
from sim.core.scenarios import load_scenario
from sim.core.sections import Section
from sim.core.steady import warmup_problem
from sim.core.yamlfile import read_yaml
from sim.errors import GovsimError, ScenarioError, choice_hint, did_you_mean
from sim.experiments.posterior import posterior_of
from sim.experiments.sensitivity import Factor, full_factorial, sample


class Parameter(Section):
    """A varied parameter: discrete ``values``, or a range ``low``–``high``."""

    values: tuple[Any, ...] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    levels: int | None = Field(None, ge=2, description="factorial points across a range")
    integer: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> Parameter:
        ranged = self.low is not None or self.high is not None
        if (self.values is None) == (not ranged):
            raise ValueError("give either values: [...] or low: and high:")
        if ranged and (self.low is None or self.high is None or self.low >= self.high):
            raise ValueError("a range needs low < high")
        if ranged and self.integer and not (float(self.low).is_integer() and float(self.high).is_integer()):  # type: ignore[arg-type]
            raise ValueError(f"integer: true needs whole-number low and high, got {self.low} and {self.high}")
        return self

    def size(self) -> int:
        """Points this parameter contributes to a factorial design."""
        return len(self.values) if self.values is not None else int(self.levels or 1)


class Sampling(Section):
    """How parameter points are drawn."""

    method: Literal["factorial", "latin_hypercube", "sobol", "morris"] = "factorial"
    samples: int = Field(8, ge=1, description="LHS points; Sobol base N (power of 2); Morris trajectories")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="the samplers' seed (SALib takes 32 bits)")

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> Sampling:
        n = self.samples
        if self.method == "sobol" and n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(f"samples: sobol needs a power of 2, got {n}; try {lower} or {2 * lower}")
        return self


class Keep(Section):
    """Which per-run tables to store besides the summary."""

    daily: bool = True
    cases: bool = False


class Design(Section):
    """An experiment design (``experiments/NAME.yaml``)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    scenarios: tuple[str, ...] = Field(min_length=1)
    context: str | None = None
    days: int = Field(365, ge=1)
    replications: int = Field(5, ge=1, le=100_000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    overrides: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    sampling: Sampling = Sampling()
    kpis: tuple[str, ...] = KPIS
    keep: Keep = Keep()
    warmup: int | Literal["auto"] = Field(
        "auto", description="days the KPIs leave out, or auto (MSER-5; sim.core.steady)"
    )
    timeout: float | None = Field(
        None, ge=0, description="seconds a run may take (0: no limit; default: scaled by size and horizon)"
    )
    posterior_draws: int | None = Field(
        None, ge=1, description="run under each of the context's first N posterior draws (None: no draws)"
    )

    @field_validator("days")
    @classmethod
    def _horizon(cls, days: int) -> int:
        if days > MAX_DAYS and not allow_large():
            raise ValueError(f"more than {MAX_DAYS} days (ten years); set {ALLOW_LARGE}=1 to allow it")
        return days

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup(cls, warmup: Any, info: ValidationInfo) -> Any:
        problem = warmup_problem(warmup, info.data.get("days", MAX_DAYS))
        if problem is not None:
            raise ValueError(problem)
        return warmup

    @model_validator(mode="after")
    def _consistent(self) -> Design:
        bad = [k for k in self.kpis if k not in KPIS]
        if bad:
            raise ValueError(f"kpis: unknown {bad}{did_you_mean(bad, KPIS)}; known: {list(KPIS)}")
        if self.sampling.method != "factorial":
            discrete = [k for k, p in self.parameters.items() if p.values is not None]
            if discrete:
                raise ValueError(
                    f"{self.sampling.method} sampling needs ranges (low/high), not values: {discrete}"
                )
            if not self.parameters:
                raise ValueError(f"{self.sampling.method} sampling needs parameters to vary")
        else:
            flat = [k for k, p in self.parameters.items() if p.values is None and p.levels is None]
            if flat:
                raise ValueError(f"factorial sampling over a range needs levels: {flat}")
        try:
            check_runs(
                len(self.scenarios) * self.n_points() * (self.posterior_draws or 1) * self.replications,
                f"scenarios × points{' × draws' if self.posterior_draws else ''} × replications",
            )
        except GovsimError as exc:
            raise ValueError(str(exc)) from None
        return self

    def n_points(self) -> int:
        """Parameter points the sampling gives (counted, not drawn)."""
        k, n = len(self.parameters), self.sampling.samples
        if not k:
            return 1
        return {
            "factorial": math.prod(p.size() for p in self.parameters.values()),
            "latin_hypercube": n,
            "sobol": n * (k + 2),
            "morris": n * (k + 1),
        }[self.sampling.method]


def load_design(path: str | Path) -> Design:
    """Read and validate a design file; scenario names and parameter paths are checked too.

    Raises:
        ScenarioError: naming the design file, the field, the value and what is allowed.
    """
    p = Path(path)
    src = str(p)
    if not p.is_file():
        raise ScenarioError(src, "", "design file not found")
    raw = read_yaml(p, "design")
    raw.setdefault("name", p.stem)
    try:
        design = Design.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = list(_model_at(err["loc"][:-1]).model_fields)
            msg = f"unknown key{did_you_mean(str(err['loc'][-1]), allowed)}; allowed: {allowed}"
        elif field and not isinstance(err.get("input"), dict):
            msg = f"{err.get('input')!r} is not allowed: {msg}{choice_hint(err)}"
        raise ScenarioError(src, field, msg) from None
    _check_against_model(design, src)
    return design


def _model_at(loc: tuple[Any, ...]) -> type[Section]:
    model: type[Section] = Design
    for part in loc:
        ann = model.model_fields[str(part)].annotation if str(part) in model.model_fields else None
        if isinstance(ann, type) and issubclass(ann, Section):
            model = ann
        elif str(part) not in model.model_fields:  # a key of a mapping of parameters
            model = Parameter
    return model


def _check_against_model(design: Design, src: str) -> None:
    """Every scenario loads, and fits in memory over the horizon, with the fixed overrides and
    each parameter's first value."""
    first = {str(k): v for k, v in points(design).iloc[0].items()} if design.parameters else {}
    try:
        draw = next(iter(design_draws(design)), {})
    except ScenarioError as exc:
        raise ScenarioError(src, "posterior_draws", str(exc).removeprefix("--draws: ")) from None
    for scen in design.scenarios:
        try:
            params = load_scenario(
                scen, context=design.context, overrides={**draw, **design.overrides, **first}
            )
        except ScenarioError as exc:
            if exc.source == "--context":
                raise ScenarioError(src, "context", exc.problem) from None
            if exc.source != "--set":  # the scenario or context itself
                raise ScenarioError(src, f"scenarios ({scen})", str(exc)) from None
            section = "parameters" if exc.field in design.parameters else "overrides"
            raise ScenarioError(src, f"{section}.{exc.field}", exc.problem) from None
        try:
            check_run(params, design.days, design.seed)
        except GovsimError as exc:
            raise ScenarioError(src, f"scenarios ({scen})", str(exc)) from None


def points(design: Design) -> pd.DataFrame:
    """The parameter points: one row per point, one column per varied parameter."""
    params = design.parameters
    if not params:
        return pd.DataFrame(index=pd.RangeIndex(1))
    if design.sampling.method == "factorial":
        levels = {k: list(p.values) if p.values is not None else _levels(p) for k, p in params.items()}
        return full_factorial(levels)
    factors = [Factor(k, float(p.low), float(p.high), p.integer) for k, p in params.items()]  # type: ignore[arg-type]
    return sample(factors, design.sampling.method, design.sampling.samples, design.sampling.seed)


def _levels(p: Parameter) -> list[Any]:
    grid = np.linspace(float(p.low), float(p.high), int(p.levels))  # type: ignore[arg-type]
    return [int(round(x)) for x in grid] if p.integer else [float(x) for x in grid]


def scenario_key(name: str) -> str:
    """A file-safe key for a scenario given by name or path."""
    return Path(name).stem


def expand(design: Design) -> pd.DataFrame:
    """The design table: one row per run, in the order runs are listed and stored.

    Columns: ``run_id, scenario, point``, ``draw`` (only with ``posterior_draws``),
    ``replication, seed`` and one per varied parameter.
    """
    pts = points(design)
    seeds = replication_seeds(design.seed, design.replications)
    draws: Sequence[int | None] = range(design.posterior_draws) if design.posterior_draws else (None,)
    rows = []
    for scen in design.scenarios:
        for point, values in enumerate(pts.to_dict("records")):
            for draw in draws:
                at: dict[str, int] = {} if draw is None else {"draw": draw}
                mid = "" if draw is None else f"__d{draw:04d}"
                for rep, seed in enumerate(seeds):
                    row: dict[Any, Any] = {
                        "run_id": f"{scenario_key(scen)}__p{point:04d}{mid}__r{rep:04d}",
                        "scenario": scenario_key(scen),
                        "point": point,
                        **at,
                        "replication": rep,
                        "seed": seed,
                        **values,
                    }
                    rows.append(row)
    table = pd.DataFrame(rows)
    if table["run_id"].duplicated().any():
        raise ScenarioError(design.name, "scenarios", "scenario names must differ")
    return table


def _unset(design: Design) -> set[str]:
    """Fields left out of the design's hash and JSON when unset, so designs without them keep both."""
    return set() if design.posterior_draws else {"posterior_draws"}


def design_draws(design: Design) -> tuple[dict[str, Any], ...]:
    """The overrides of the design's posterior draws (none without ``posterior_draws``).

    Raises:
        ScenarioError: the context has no draws file, or fewer draws than asked (one line).
    """
    if not design.posterior_draws:
        return ()
    return posterior_of(design.scenarios, design.context).first(design.posterior_draws)


def design_hash(design: Design) -> str:
    """A hash of the design, of every scenario it resolves to (files may change) and of the
    posterior draws it runs under.

    The time limit is left out: it decides when to give up on a run, not what a run gives.
    """
    h = hashlib.sha256(design.model_dump_json(exclude={"timeout", *_unset(design)}).encode())
    for scen in design.scenarios:
        h.update(
            load_scenario(scen, context=design.context, overrides=design.overrides).model_dump_json().encode()
        )
    for draw in design_draws(design):
        h.update(json.dumps(draw, sort_keys=True).encode())
    return h.hexdigest()[:16]


def run_overrides(
    design: Design, row: Mapping[Any, Any], draws: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The overrides of one run: its posterior draw's (if any), the design's fixed ones, its
    point's values, each overriding the one before."""
    values = {k: _plain(row[k]) for k in design.parameters}
    draw = draws[int(row["draw"])] if draws else {}
    return {**draw, **design.overrides, **values}


def _plain(x: Any) -> Any:
    """numpy scalars to Python values (for YAML-like overrides and JSON)."""
    return x.item() if isinstance(x, np.generic) else x


def to_json(design: Design) -> str:
    """The design as indented JSON (stored beside the results)."""
    return json.dumps(design.model_dump(mode="json", exclude=_unset(design)), indent=2)
