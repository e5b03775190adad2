"""Sampling designs and global sensitivity analysis over model parameters (a thin layer on SALib 1.6).

An experiment varies a few parameters (*factors*, named by their dotted parameter path such as
``grid.patrollers_per_grid``) over ranges, runs the model at each sample point (with
replications) and asks which factors move which outputs (*KPIs*). This module does the two
pure ends of that: :func:`sample` / :func:`full_factorial` make the design, :func:`analyze`
turns outputs into sensitivity indices. Expanding a design into runs, running it and averaging
replications is done elsewhere.

Assumptions:

* Every factor is uniform on ``[low, high]`` (SALib's default distribution); integer factors are
  sampled as continuous values and then rounded to the nearest integer (halves round up). Their
  bounds must be whole numbers, so that rounding stays in range and never collapses a Morris step.
  Rounding means Sobol and Morris estimates are approximate for integer factors: the estimators
  assume the continuous values were used.
* Rows stay in SALib's order from :func:`sample` to :func:`analyze`. Sobol (Saltelli) designs come
  in blocks of ``D + 2`` rows and Morris designs in trajectories of ``D + 1`` rows; the indices are
  computed from that position, so outputs must be given in the same row order as the design
  (matched by position, not by index label). :func:`analyze` checks that ``X`` still has that
  structure, but it cannot check the order of ``Y``.
* ``Y`` holds one value per sample point per KPI: replications are averaged by the caller.
  Replication noise is not modelled here, so confidence intervals reflect only the bootstrap
  over sample points.
* Functions are deterministic for a given seed and do no file I/O and no printing.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import latin as latin_sample
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

SampleMethod = Literal["latin_hypercube", "sobol", "morris"]
AnalyzeMethod = Literal["sobol", "morris"]

MORRIS_LEVELS = 4
"""Number of grid levels used by both Morris sampling and Morris analysis (they must agree)."""

RESULT_COLUMNS = ["kpi", "factor", "index", "value", "conf"]
"""Columns of the tidy frame returned by :func:`analyze`."""


@dataclass(frozen=True)
class Factor:
    """One varied parameter, uniform on ``[low, high]``.

    Attributes:
        name: dotted parameter path, e.g. ``"dispatch.misroute_probability"``; used as the column name.
        low: lower bound (inclusive).
        high: upper bound (inclusive); must be greater than ``low``.
        integer: round sampled values to the nearest integer (bounds must then be whole numbers).
    """

    name: str
    low: float
    high: float
    integer: bool = False


def _check_factors(factors: Sequence[Factor]) -> list[Factor]:
    """Validate factors and return them as a list.

    Args:
        factors: the factors to check.

    Returns:
        The factors, in the given order.

    Raises:
        ValueError: no factors, a duplicate or empty name, non-finite bounds, ``low >= high``,
            or an integer factor with fractional bounds.
    """
    factors = list(factors)
    if not factors:
        raise ValueError("sensitivity: at least one factor is required")
    seen: set[str] = set()
    for f in factors:
        if not f.name:
            raise ValueError("sensitivity: every factor needs a non-empty name")
        if f.name in seen:
            raise ValueError(f"sensitivity: factor {f.name!r} is given more than once")
        seen.add(f.name)
        if not (math.isfinite(f.low) and math.isfinite(f.high)):
            raise ValueError(f"sensitivity: factor {f.name!r} needs finite bounds, got [{f.low}, {f.high}]")
        if not f.low < f.high:
            raise ValueError(
                f"sensitivity: factor {f.name!r} needs low < high, got low={f.low}, high={f.high}"
            )
        if f.integer and not (float(f.low).is_integer() and float(f.high).is_integer()):
            raise ValueError(
                f"sensitivity: integer factor {f.name!r} needs whole-number bounds, got [{f.low}, {f.high}]"
            )
    return factors


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    """A fresh SALib problem dict (SALib mutates the dict it is given, so never reuse one).

    Args:
        factors: validated factors.

    Returns:
        The SALib problem definition.
    """
    return {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[float(f.low), float(f.high)] for f in factors],
    }


def _is_power_of_two(n: int) -> bool:
    """Whether ``n`` (>= 1) is a power of two."""
    return n & (n - 1) == 0


def sample(factors: Sequence[Factor], method: SampleMethod, n: int, seed: int) -> pd.DataFrame:
    """Draw a design over ``factors``.

    * ``"latin_hypercube"``: ``n`` points (``SALib.sample.latin``).
    * ``"sobol"``: Saltelli's scheme without second-order terms, scrambled; ``n`` must be a power
      of 2 and the design has ``n * (D + 2)`` points (``SALib.sample.sobol``).
    * ``"morris"``: ``n`` trajectories on a 4-level grid, ``n * (D + 1)`` points
      (``SALib.sample.morris``).

    Integer factors are rounded to the nearest integer after sampling (halves round up) and get an
    ``int64`` column. This makes Sobol and Morris estimates approximate for those factors.

    Args:
        factors: the factors to vary (``D`` of them), in column order.
        method: the sampling scheme.
        n: number of points (Latin hypercube), base samples (Sobol) or trajectories (Morris).
        seed: seed; the same seed gives the same design.

    Returns:
        One column per factor (named by the factor's name), one row per sample point in SALib's
        order, with a default ``RangeIndex``.

    Raises:
        ValueError: invalid factors (message names the factor), ``n < 1``, ``n`` not a power of 2
            for Sobol, or an unknown method.
    """
    factors = _check_factors(factors)
    try:
        n = operator.index(n)
    except TypeError:
        raise ValueError(f"sensitivity: n must be an integer, got {n!r}") from None
    if n < 1:
        raise ValueError(f"sensitivity: n must be at least 1, got {n}")
    problem = _problem(factors)
    if method == "latin_hypercube":
        values = latin_sample.sample(problem, n, seed=seed)
    elif method == "sobol":
        if not _is_power_of_two(n):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(
                f"sensitivity: Sobol sampling needs n to be a power of 2 (got {n}; "
                f"try {lower} or {lower * 2}); it gives n * (D + 2) points"
            )
        values = sobol_sample.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    elif method == "morris":
        values = morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        raise ValueError(
            f"sensitivity: unknown sampling method {method!r}; use 'latin_hypercube', 'sobol' or 'morris'"
        )
    values = np.asarray(values, dtype=float)
    columns: dict[str, np.ndarray] = {}
    for j, f in enumerate(factors):
        col = values[:, j]
        columns[f.name] = np.floor(col + 0.5).astype(np.int64) if f.integer else col.copy()
    return pd.DataFrame(columns)


def full_factorial(levels: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """The Cartesian product of factor levels.

    Args:
        levels: factor name -> its levels, in the order the factors should vary: the first factor
            varies slowest, the last fastest.

    Returns:
        One column per factor (in mapping order), one row per combination, ``prod(len(levels))``
        rows; column dtypes are inferred from the levels.

    Raises:
        ValueError: no factors, a factor with no levels, or levels given as a string.
    """
    if not levels:
        raise ValueError("sensitivity: full_factorial needs at least one factor")
    names = list(levels)
    lists: list[list[Any]] = []
    for name in names:
        values = levels[name]
        if isinstance(values, str | bytes):
            raise ValueError(
                f"sensitivity: levels of factor {name!r} must be a sequence of values, not a string"
            )
        values = list(values)
        if not values:
            raise ValueError(f"sensitivity: factor {name!r} has no levels")
        lists.append(values)
    rows = list(itertools.product(*lists))
    return pd.DataFrame(rows, columns=names)


def _design_matrix(factors: Sequence[Factor], X: pd.DataFrame) -> np.ndarray:
    """The factor columns of ``X`` as a float array, in factor order.

    Args:
        factors: validated factors.
        X: the sample.

    Returns:
        A ``(rows, D)`` float array (a copy).

    Raises:
        ValueError: a factor column is missing, not numeric, or has NaN.
    """
    missing = [f.name for f in factors if f.name not in X.columns]
    if missing:
        raise ValueError(f"sensitivity: X has no column for factor(s) {missing}")
    columns = []
    for f in factors:
        try:
            col = X[f.name].to_numpy(dtype=float, copy=True)
        except (TypeError, ValueError):
            raise ValueError(f"sensitivity: X column {f.name!r} is not numeric") from None
        if np.isnan(col).any():
            raise ValueError(f"sensitivity: X column {f.name!r} has {int(np.isnan(col).sum())} NaN value(s)")
        columns.append(col)
    return np.column_stack(columns)


def _check_sobol_structure(x: np.ndarray) -> None:
    """Check that ``x`` is a Saltelli design (no second order) in SALib's row order.

    In each block of ``D + 2`` rows (A, AB_1..AB_D, B), row AB_j equals A except in column ``j``,
    where it equals B.

    Args:
        x: ``(N * (D + 2), D)`` design.

    Raises:
        ValueError: the rows do not have that structure (reordered, filtered or another design).
    """
    d = x.shape[1]
    blocks = x.reshape(-1, d + 2, d)
    a, b = blocks[:, 0, :], blocks[:, -1, :]
    for j in range(d):
        expected = a.copy()
        expected[:, j] = b[:, j]
        if not np.array_equal(blocks[:, 1 + j, :], expected):
            raise ValueError(
                "sensitivity: X is not a Sobol (Saltelli) design in SALib's row order; "
                "pass the sample from sample(..., 'sobol') with its rows unchanged and in order"
            )


def _check_morris_structure(x: np.ndarray) -> None:
    """Check that ``x`` is made of Morris trajectories in SALib's row order.

    Within each trajectory of ``D + 1`` rows every step changes exactly one factor, and every
    factor is changed exactly once.

    Args:
        x: ``(r * (D + 1), D)`` design.

    Raises:
        ValueError: the rows do not have that structure.
    """
    d = x.shape[1]
    steps = np.diff(x.reshape(-1, d + 1, d), axis=1) != 0  # (r, D, D): step s changes factor k
    if not ((steps.sum(axis=2) == 1).all() and (steps.sum(axis=1) == 1).all()):
        raise ValueError(
            "sensitivity: X is not made of Morris trajectories in SALib's row order; "
            "pass the sample from sample(..., 'morris') with its rows unchanged and in order"
        )


def analyze(
    factors: Sequence[Factor],
    method: AnalyzeMethod,
    X: pd.DataFrame,
    Y: pd.DataFrame,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Sensitivity indices of each KPI in ``Y`` to each factor.

    * ``"sobol"``: first-order (``S1``) and total (``ST``) Sobol indices via
      ``SALib.analyze.sobol`` (no second order). A KPI that is constant over the whole design has
      no variance to apportion; its indices and confidences are NaN.
    * ``"morris"``: ``mu_star`` (mean absolute elementary effect), ``sigma`` and ``mu`` via
      ``SALib.analyze.morris`` on a 4-level grid. Elementary effects are per step in the unit
      hypercube (SALib's unscaled definition), so they are comparable across factors regardless of
      their units. Only ``mu_star`` has a confidence; ``sigma`` is NaN with a single trajectory.

    ``conf`` is the half-width of the bootstrap confidence interval at ``level``.

    Args:
        factors: the factors the sample was drawn over, as given to :func:`sample`.
        method: ``"sobol"`` for a Sobol sample, ``"morris"`` for a Morris sample.
        X: the sample as returned by :func:`sample` (rows in SALib's order; values used as given).
        Y: one numeric column per KPI, one row per row of ``X`` in the same order (replications
            already averaged). Rows are matched by position.
        seed: seed of the bootstrap; the same seed gives the same confidences.
        level: confidence level, strictly between 0 and 1.

    Returns:
        A tidy frame with columns ``kpi, factor, index, value, conf``: for each KPI (in ``Y``'s
        column order) and each factor (in ``factors``' order), rows ``S1``, ``ST`` (Sobol) or
        ``mu_star``, ``sigma``, ``mu`` (Morris).

    Raises:
        ValueError: invalid factors, an unknown method, ``level`` outside (0, 1), row counts of
            ``X`` and ``Y`` differ or do not fit the method's design, ``X`` is missing a factor
            column or is not in SALib's row order, or a KPI column is not numeric or has NaN (the
            message names the KPI and how many NaNs).
    """
    factors = _check_factors(factors)
    if method not in ("sobol", "morris"):
        raise ValueError(f"sensitivity: unknown analysis method {method!r}; use 'sobol' or 'morris'")
    if not 0.0 < level < 1.0:
        raise ValueError(f"sensitivity: level must be strictly between 0 and 1, got {level}")
    if len(X) != len(Y):
        raise ValueError(f"sensitivity: X has {len(X)} rows but Y has {len(Y)}; they must match row for row")
    d = len(factors)
    block = d + 2 if method == "sobol" else d + 1
    if len(X) == 0 or len(X) % block != 0:
        what = "D + 2 rows per base sample" if method == "sobol" else "D + 1 rows per trajectory"
        raise ValueError(
            f"sensitivity: a {method} design over {d} factor(s) has a positive multiple of {block} rows "
            f"({what}); got {len(X)}"
        )
    x = _design_matrix(factors, X)
    if method == "sobol":
        _check_sobol_structure(x)
    else:
        _check_morris_structure(x)

    outputs: list[tuple[str, np.ndarray]] = []
    for kpi in Y.columns:
        try:
            y = Y[kpi].to_numpy(dtype=float, copy=True)
        except (TypeError, ValueError):
            raise ValueError(f"sensitivity: KPI {kpi!r} is not numeric") from None
        nans = int(np.isnan(y).sum())
        if nans:
            raise ValueError(
                f"sensitivity: KPI {kpi!r} has {nans} NaN value(s) out of {len(y)}; "
                "drop the KPI or fix the runs before analysing"
            )
        outputs.append((str(kpi), y))

    records: list[tuple[str, str, str, float, float]] = []
    for kpi, y in outputs:
        if method == "sobol":
            records.extend(_sobol_rows(factors, kpi, y, seed, level))
        else:
            records.extend(_morris_rows(factors, kpi, x, y, seed, level))
    result = pd.DataFrame.from_records(records, columns=RESULT_COLUMNS)
    return result.astype({"value": float, "conf": float})


def _sobol_rows(
    factors: Sequence[Factor], kpi: str, y: np.ndarray, seed: int, level: float
) -> list[tuple[str, str, str, float, float]]:
    """Sobol ``S1`` and ``ST`` rows for one KPI.

    Args:
        factors: validated factors.
        kpi: the KPI's name.
        y: its values, one per design row.
        seed: bootstrap seed.
        level: confidence level.

    Returns:
        Rows ``(kpi, factor, index, value, conf)``.
    """
    if np.ptp(y) == 0.0:
        return [(kpi, f.name, idx, math.nan, math.nan) for f in factors for idx in ("S1", "ST")]
    # SALib seeds its bootstrap only when ``if seed:`` is true, so seed=0 would fall back to the
    # global NumPy state; a Generator is always truthy and is used as given.
    si = sobol_analyze.analyze(
        _problem(factors),
        y,
        calc_second_order=False,
        conf_level=level,
        seed=np.random.default_rng(seed),
    )
    rows = []
    for j, f in enumerate(factors):
        rows.append((kpi, f.name, "S1", float(si["S1"][j]), float(si["S1_conf"][j])))
        rows.append((kpi, f.name, "ST", float(si["ST"][j]), float(si["ST_conf"][j])))
    return rows


def _morris_rows(
    factors: Sequence[Factor], kpi: str, x: np.ndarray, y: np.ndarray, seed: int, level: float
) -> list[tuple[str, str, str, float, float]]:
    """Morris ``mu_star``, ``sigma`` and ``mu`` rows for one KPI.

    Args:
        factors: validated factors.
        kpi: the KPI's name.
        x: the design as a float array, factor columns in order.
        y: the KPI's values, one per design row.
        seed: bootstrap seed.
        level: confidence level.

    Returns:
        Rows ``(kpi, factor, index, value, conf)``.
    """
    si = morris_analyze.analyze(
        _problem(factors), x, y, conf_level=level, num_levels=MORRIS_LEVELS, seed=seed
    )
    rows = []
    for j, f in enumerate(factors):
        rows.append((kpi, f.name, "mu_star", float(si["mu_star"][j]), float(si["mu_star_conf"][j])))
        rows.append((kpi, f.name, "sigma", float(si["sigma"][j]), math.nan))
        rows.append((kpi, f.name, "mu", float(si["mu"][j]), math.nan))
    return rows
