"""Intervals that carry parameter uncertainty: posterior draws × paired replications.

A run over posterior draws (``--draws N``, :mod:`sim.experiments.posterior`) has, for each
scenario, draw ``d`` and replication ``r``, a KPI value ``y[d, r]``; replication ``r`` has the
same seed in every scenario and every draw, so within a draw the scenarios are paired (common
random numbers) and a paired difference is ``scenario − reference`` for the same
``(draw, replication)``.

**The interval.** With ``m_d``, ``s_d`` the mean and sample sd of draw ``d``'s ``R_d`` values,
the 95% interval is the central interval of the predictive mixture

    (1/D) · Σ_d  [ m_d + (s_d / √R_d) · t_{R_d − 1} ],

found by root-finding on its distribution function (:func:`mixture_quantile`). Why this one:

- Under the usual non-informative prior, ``m_d + s_d/√R_d · t_{R_d−1}`` is exactly what the
  replications say about the draw's true mean μ(θ_d) (the Bayesian reading of the t-interval that
  every other table reports). Averaging over the equally weighted posterior draws integrates the
  parameters out, so the mixture is what is known about the KPI's expected value when the
  parameters are uncertain, and its quantiles are a credible interval carrying both sources.
- It assumes nothing about how the KPI varies across draws: a KPI that answers non-linearly to a
  parameter gets a skewed interval.
- With one draw, or draws that change nothing, it *is* the run-only t-interval, so a run with
  draws never reports a narrower interval for the same runs.

The symmetric alternative ``mean ± t·sqrt(between + within/R)`` was not chosen: it forces a
symmetric interval and needs a degrees-of-freedom rule (Satterthwaite) with no clean limit.
With ``D`` draws the mixture's tails are only as good as ``D`` draws make them: a 95% interval
from 3 draws is indicative, as 3 replications would be.

**Variance components** (both of the mean of one draw's runs, so they add up to what the
interval is made of): ``var_parameter`` is the variance of the draw means ``m_d`` across draws
(ddof 1); ``var_runs`` is the mean over draws of ``s_d² / R_d``. Every draw uses the same
replication seeds, so the draw means share their run noise and their spread is the parameters'
doing; it is not corrected for independent noise (as a one-way ANOVA estimate would be). The
larger component *dominates*: ``"parameters"`` or ``"runs"`` (``""`` when it cannot be told:
one draw, or fewer than two replications). More replications shrink only ``var_runs``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from sim.experiments.replicate import interval
from sim.experiments.stats import kpi_intervals, paired_differences

DRAW = "draw"
"""The design column of the posterior draw a run used (absent when the design has no draws)."""
PARAMETERS, RUNS = "parameters", "runs"
_TIE_EPS = 16 * np.finfo(float).eps
"""Draw means this close (relative to their size) are equal: their mean is not computed exactly."""
SOURCE_WORDS = {PARAMETERS: "parameter uncertainty dominates", RUNS: "run-to-run noise dominates"}
"""How a sentence says which source of uncertainty dominates."""


@dataclass(frozen=True)
class Combined:
    """A KPI (or difference) over posterior draws: mean, combined interval, variance components.

    Attributes:
        mean: the mean of the draw means.
        lo, hi: the central interval of the predictive mixture (NaN when a draw has fewer than two
            values: its run noise is unknown, as the run-only t-interval then has none).
        n: values used (all draws).
        draws: draws with at least one value.
        var_parameter: variance of the draw means across draws (NaN with one draw).
        var_runs: mean over draws of the within-draw variance of a draw's mean (NaN when a draw has
            fewer than two values).
        dominant: ``"parameters"``, ``"runs"`` or ``""`` (cannot be told).
    """

    mean: float
    lo: float
    hi: float
    n: int
    draws: int
    var_parameter: float
    var_runs: float
    dominant: str

    def components(self) -> dict[str, Any]:
        """The columns a table adds for it: ``draws, var_parameter, var_runs, dominant``."""
        return {"draws": self.draws, "var_parameter": self.var_parameter, "var_runs": self.var_runs,
                "dominant": self.dominant}  # fmt: skip


def mixture_quantile(means: np.ndarray, ses: np.ndarray, dfs: np.ndarray, q: float) -> float:
    """The ``q`` quantile of the equal-weight mixture of ``means + ses · t_dfs``.

    A component with ``se == 0`` is a point mass at its mean. The quantile lies between the
    smallest and the largest component quantile; when those coincide (identical components) it
    is that value exactly.
    """
    cont = ses > 0
    comp_q = means.astype(float).copy()
    comp_q[cont] += ses[cont] * sps.t.ppf(q, dfs[cont])
    a, b = float(comp_q.min()), float(comp_q.max())

    def excess(x: float) -> float:
        z = (x - means) / np.where(cont, ses, 1.0)
        f = np.where(cont, sps.t.cdf(z, np.where(cont, dfs, 1.0)), (x >= means).astype(float))
        return float(f.mean()) - q

    if a == b or excess(a) >= 0:
        return a
    if excess(b) <= 0:
        return b
    return float(optimize.brentq(excess, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps))


def combine(values_by_draw: Sequence[np.ndarray], level: float = 0.95) -> Combined:
    """The combined interval and variance components of one KPI's values, grouped by draw.

    Args:
        values_by_draw: per draw, its replications' values (NaN-free; empty draws are left out).
        level: the interval's coverage.
    """
    groups = [np.asarray(v, dtype=float) for v in values_by_draw if len(v)]
    nan = float("nan")
    if not groups:
        return Combined(nan, nan, nan, 0, 0, nan, nan, "")
    n = np.array([g.size for g in groups], dtype=float)
    means = np.array([g.mean() for g in groups])
    sds = np.array([g.std(ddof=1) if g.size >= 2 else 0.0 for g in groups])
    ses = sds / np.sqrt(n)
    known = bool((n >= 2).all())
    var_runs = float(np.mean(ses**2)) if known else nan
    var_param = float(means.var(ddof=1)) if len(groups) >= 2 else nan
    if np.ptp(means) <= _TIE_EPS * float(np.abs(means).max()):  # equal up to rounding: no spread
        var_param = 0.0 if len(groups) >= 2 else nan
    mean, lo, hi = float(means.mean()), nan, nan
    if known:
        lo = mixture_quantile(means, ses, n - 1, 0.5 - level / 2)
        hi = mixture_quantile(means, ses, n - 1, 0.5 + level / 2)
    dominant = ""
    if math.isfinite(var_param) and math.isfinite(var_runs) and var_param + var_runs > 0:
        dominant = PARAMETERS if var_param > var_runs else RUNS
    return Combined(mean, lo, hi, int(n.sum()), len(groups), var_param, var_runs, dominant)


def _by_draw(rows: pd.DataFrame, column: str) -> list[np.ndarray]:
    values = pd.to_numeric(rows[column], errors="coerce")
    return [v.dropna().to_numpy(dtype=float) for _, v in values.groupby(rows[DRAW], sort=True)]


def kpi_intervals_draws(summaries: pd.DataFrame, kpis: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """:func:`sim.experiments.stats.kpi_intervals` for runs over posterior draws (a ``draw`` column).

    Returns:
        One row per (scenario, point, kpi): ``n`` (runs with a value), ``mean`` (of the draw
        means), ``lo``/``hi`` (the combined interval, see the module docstring), ``sd`` (of all the
        runs), then ``draws, var_parameter, var_runs, dominant``.
    """
    s = summaries if "point" in summaries else summaries.assign(point=0)
    rows = []
    for (scen, point), grp in s.groupby(["scenario", "point"], sort=False):
        for k in kpis:
            c = combine(_by_draw(grp, k), level)
            values = pd.to_numeric(grp[k], errors="coerce").dropna()
            sd = float(values.std(ddof=1)) if len(values) >= 2 else float("nan")
            rows.append(
                {"scenario": scen, "point": point, "kpi": k, "n": c.n, "mean": c.mean, "lo": c.lo,
                 "hi": c.hi, "sd": sd, **c.components()}
            )  # fmt: skip
    return pd.DataFrame(rows)


def paired_differences_draws(
    summaries: pd.DataFrame, kpis: Sequence[str], reference: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """:func:`sim.experiments.stats.paired_differences` for runs over posterior draws.

    Rows are paired on (point, draw, replication): the same parameters and seed. ``diff_lo`` and
    ``diff_hi`` are the combined interval of the paired differences (module docstring);
    ``wilcoxon_p`` and ``effect_size`` are NaN (a test over runs at different parameter values
    answers no question here: the interval is the evidence). ``n_pairs`` counts pairs over all
    draws; ``draws, var_parameter, var_runs, dominant`` follow.

    Raises:
        ValueError: an unknown reference scenario.
    """
    s = summaries if "point" in summaries else summaries.assign(point=0)
    scenarios = [str(x) for x in pd.unique(s["scenario"])]
    ref = reference or scenarios[0]
    if ref not in scenarios:
        raise ValueError(f"reference scenario {ref!r} not among {scenarios}")
    keys = ["point", DRAW, "replication"]
    base = s[s["scenario"] == ref]
    rows = []
    for (scen, point), grp in s.groupby(["scenario", "point"], sort=False):
        if scen == ref:
            continue
        for k in kpis:
            pairs = grp[[*keys, k]].merge(base[[*keys, k]], on=keys, suffixes=("_s", "_r")).dropna()
            pairs = pairs.assign(diff=pairs[f"{k}_s"] - pairs[f"{k}_r"])
            c = combine(_by_draw(pairs, "diff"), level)
            mean_ref = float(pairs[f"{k}_r"].mean()) if len(pairs) else float("nan")
            rows.append(
                {
                    "scenario": scen, "reference": ref, "point": point, "kpi": k, "n_pairs": len(pairs),
                    "mean_reference": mean_ref, "mean_scenario": float(pairs[f"{k}_s"].mean()),
                    "diff_mean": c.mean, "diff_lo": c.lo, "diff_hi": c.hi, "wilcoxon_p": float("nan"),
                    "effect_size": float("nan"),
                    "relative_change": c.mean / abs(mean_ref) if mean_ref else float("nan"),
                    **c.components(),
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def has_draws(summaries: pd.DataFrame) -> bool:
    """Whether the runs were made over posterior draws."""
    return DRAW in summaries.columns


def mean_interval(rows: pd.DataFrame, column: str) -> tuple[float, float, float]:
    """Mean and 95% interval of a column over runs: combined over draws when the runs have them,
    else the t-interval (:func:`sim.experiments.replicate.interval`)."""
    if not has_draws(rows):
        return interval(rows[column])
    c = combine(_by_draw(rows, column))
    return c.mean, c.lo, c.hi


def intervals_of(summaries: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """KPI intervals: combined over draws when the runs have them, else run-to-run only."""
    if has_draws(summaries):
        return kpi_intervals_draws(summaries, kpis)
    return kpi_intervals(summaries, kpis)


def differences_of(
    summaries: pd.DataFrame, kpis: Sequence[str], reference: str | None = None
) -> pd.DataFrame:
    """Paired differences: combined over draws when the runs have them, else the bootstrap ones."""
    if has_draws(summaries):
        return paired_differences_draws(summaries, kpis, reference)
    return paired_differences(summaries, kpis, reference=reference)


__all__ = [
    "DRAW",
    "SOURCE_WORDS",
    "Combined",
    "combine",
    "differences_of",
    "has_draws",
    "intervals_of",
    "kpi_intervals_draws",
    "mean_interval",
    "mixture_quantile",
    "paired_differences_draws",
]
