"""Bayesian calibration of the shared context with Gaussian-process emulators.

Why emulators and not ABC-SMC: a run of the built-in town takes seconds, so an ABC-SMC
fit (pyabc) needs thousands of runs per fit; the leave-one-programme-out validation
needs a fit per programme, and the identifiability report the posterior's shape. With
an emulator of each target's KPI (:mod:`sim.experiments.emulator`), one design of model
runs serves every fit: the posterior, each leave-one-out posterior and the history
matching are computed from the emulators in seconds. What the emulators cannot judge,
the model does: the posterior predictive of every target (calibrated, validated and the
plan) comes from model runs at posterior draws.

The stages (:func:`calibrate`):

1. *Wave 1*: a Latin hypercube of ``waves.first`` points over the prior box, each run
   ``waves.replicates`` times (each run with its own seed) in every scenario a calibrated
   target names (the scenarios of one run share its seed: common random numbers).
2. *History matching*: emulators of the calibrated targets; ``waves.second`` points are
   drawn from the region not ruled out (largest implausibility ≤ 3) and run.
   *Refocusing*: ``waves.third`` points drawn from the posterior of the emulators of both
   waves, and run: where the emulators are unsure, a figure the model misses looks less
   missed, so a posterior can settle where the design is thin; runs there settle it.
3. *Posterior*: emulators refitted on all waves (their five-fold check is reported);
   an ensemble MCMC (emcee) of the posterior under the uniform prior (the emulators'
   doubt and the targets' tolerances in the likelihood); ``posterior_draws`` draws kept.
4. *Identification*: per parameter, the posterior's standard deviation against the
   prior's, and the strongest posterior correlations.
5. *Leave one programme out*: per source with calibrated targets, the posterior without
   them, and its prediction of them (emulators).
6. *Posterior predictive*: the first ``predictive.draws`` draws run in every target's
   scenario; each target's 95% interval (parameter and run-to-run uncertainty together).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.core.scenarios import load_scenario
from sim.experiments.calibration import (
    Budget,
    CalibrationConfig,
    Target,
    context_values,
    distance,
    load_calibration,
)
from sim.experiments.calibration_runs import Job, Progress, RunLog, jobs_at
from sim.experiments.emulator import (
    Fit,
    Observation,
    cross_check,
    fit_emulator,
    latin_hypercube,
    not_ruled_out,
    sample_posterior,
)

StageProgress = Callable[[str], Progress]
"""Given a stage's name, the progress callback of its runs."""

IDENTIFIED, WEAK = 0.5, 0.8
"""Posterior/prior standard-deviation ratios below which a parameter is identified (or weakly)."""


@dataclass(frozen=True)
class Calibration:
    """What a calibration found (tables for the report; draws for the context)."""

    config: CalibrationConfig
    targets: tuple[Target, ...]
    names: tuple[str, ...]
    draws: np.ndarray
    ess: float
    nroy_share: float
    runs: int
    new_runs: int
    failures: int
    emulators: pd.DataFrame
    identification: pd.DataFrame
    correlations: pd.DataFrame
    predictive: pd.DataFrame
    lopo: pd.DataFrame

    def median(self) -> np.ndarray:
        """The posterior median of each parameter (the calibrated context's values)."""
        return np.median(self.draws, axis=0)


def _box(config: CalibrationConfig) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([p.low for p in config.parameters], dtype=float),
        np.array([p.high for p in config.parameters], dtype=float),
    )


def _observation(t: Target) -> Observation:
    return Observation(t.value, t.tolerance, t.direction)


def _scenarios(targets: Sequence[Target]) -> list[str]:
    return sorted({t.scenario for t in targets})


def _fit(
    log: RunLog,
    jobs: list[Job],
    points: np.ndarray,
    targets: Sequence[Target],
    box: tuple[np.ndarray, np.ndarray],
    offset: dict[str, int] | None = None,
) -> tuple[Fit, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Emulators of the targets over the runs ``jobs`` at ``points`` (each point's replicates
    as runs of their own; a stage's points start at its ``offset``); also each target's
    values, and the point of each value."""
    ys, at = {}, {}
    for t in targets:
        mine = [j for j in jobs if j.scenario == t.scenario]
        ys[t.id] = log.values(mine, t.metric)
        at[t.id] = np.array([j.point + (offset or {}).get(j.stage, 0) for j in mine], dtype=np.int64)
    ems = tuple(fit_emulator(points[at[t.id]], ys[t.id], *box) for t in targets)
    return Fit(ems, tuple(_observation(t) for t in targets), *box), ys, at


def identification(
    names: Sequence[str], draws: np.ndarray, box: tuple[np.ndarray, np.ndarray]
) -> pd.DataFrame:
    """Per parameter: prior and posterior spread, their ratio, and the verdict."""
    lo, hi = box
    prior_sd = (hi - lo) / np.sqrt(12.0)
    post_sd = draws.std(axis=0)
    ratio = post_sd / prior_sd
    verdict = np.where(ratio < IDENTIFIED, "identified", np.where(ratio < WEAK, "weakly", "not identified"))
    q = np.quantile(draws, [0.025, 0.5, 0.975], axis=0)
    return pd.DataFrame(
        {
            "parameter": list(names),
            "prior_low": lo,
            "prior_high": hi,
            "median": q[1],
            "lo": q[0],
            "hi": q[2],
            "sd_ratio": ratio,
            "verdict": verdict,
        }
    )


def strong_correlations(names: Sequence[str], draws: np.ndarray, at_least: float = 0.5) -> pd.DataFrame:
    """Pairs of parameters whose posterior correlation is at least ``at_least`` in size."""
    c = np.corrcoef(draws.T) if draws.shape[1] > 1 else np.ones((1, 1))
    rows = [
        {"a": names[i], "b": names[j], "r": float(c[i, j])}
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if np.isfinite(c[i, j]) and abs(c[i, j]) >= at_least
    ]
    return pd.DataFrame(rows, columns=["a", "b", "r"])


def fit_table(targets: Sequence[Target], values: dict[str, list[float]]) -> pd.DataFrame:
    """One row per target: reported value and tolerance, the simulated median and 95%
    interval across ``values`` (posterior predictive runs), and whether the median lies
    within tolerance (``within``) and the reported value inside the interval (``covered``)."""
    rows = []
    for t in targets:
        v = np.asarray(values.get(t.id, []), dtype=float)
        v = v[np.isfinite(v)]
        lo, mid, hi = np.quantile(v, [0.025, 0.5, 0.975]) if v.size else (np.nan,) * 3
        rows.append(
            {
                "target": t.id,
                "metric": t.metric,
                "scenario": t.scenario,
                "role": t.role,
                "reading": t.reading,
                "reported": t.value,
                "tolerance": t.tolerance,
                "direction": t.direction,
                "sim_mean": float(mid),
                "sim_lo": float(lo),
                "sim_hi": float(hi),
                "runs": int(v.size),
                "within": bool(v.size) and distance(t, float(mid)) == 0.0,
                "covered": bool(v.size) and bool(lo <= t.value <= hi),
                "source": t.source,
                "note": t.note,
            }
        )
    return pd.DataFrame(rows)


def leave_one_out(fit: Fit, targets: Sequence[Target], n_draws: int, seed: int) -> pd.DataFrame:
    """Per source with calibrated targets: fit without them, predict them (emulators)."""
    rows = []
    for source in sorted({t.source for t in targets}):
        use = [t.source != source for t in targets]
        if all(use) or not any(use):
            continue
        post = sample_posterior(fit, n_draws, seed, use=use)
        for t, em, kept in zip(targets, fit.emulators, use, strict=True):
            if kept:
                continue
            mu, sd = em.predict(post.draws)
            pred = mu + sd * np.random.default_rng(seed).standard_normal(mu.size)
            lo, mid, hi = np.quantile(pred, [0.025, 0.5, 0.975])
            rows.append(
                {
                    "left_out": source,
                    "target": t.id,
                    "reported": t.value,
                    "tolerance": t.tolerance,
                    "pred_median": float(mid),
                    "pred_lo": float(lo),
                    "pred_hi": float(hi),
                    "within": distance(t, float(mid)) == 0.0,
                    "covered": bool(lo <= t.value <= hi),
                    "ess": post.ess,
                }
            )
    return pd.DataFrame(rows)


def calibrate(
    path: str | Path,
    folder: Path,
    workers: int = 1,
    progress: StageProgress | None = None,
    run_seed: int | None = None,
) -> Calibration:
    """Run (or resume) the calibration of ``path``, keeping its runs in ``folder``;
    ``run_seed`` (default: the file's ``waves.run_seed``) is the first seed of its runs."""
    config, targets, _ = load_calibration(path)
    if run_seed is not None:
        config = config.model_copy(update={"waves": config.waves.model_copy(update={"run_seed": run_seed})})
    fitted = config.fitted(targets)
    box = _box(config)
    log = RunLog(folder)
    scen = _scenarios(fitted)
    w = config.waves

    def metrics_for(scenarios: Sequence[str]) -> list[str]:
        return sorted({t.metric for t in targets if t.scenario in scenarios})

    def stage(
        name: str, points: np.ndarray, scenarios: Sequence[str], budget: Budget, first_seed: int, reps: int
    ) -> list[Job]:
        jobs = jobs_at(config, name, points, scenarios, budget, metrics_for(scenarios), first_seed, reps)
        log.run(jobs, workers, None if progress is None else progress(name))
        return jobs

    r = w.replicates
    x1 = latin_hypercube(*box, w.first, w.seed)
    jobs = stage("wave1", x1, scen, config.evaluation, w.run_seed, r)
    fit1, _, _ = _fit(log, jobs, x1, fitted, box)
    x2, nroy = not_ruled_out(fit1, w.second, w.seed + 1) if w.second else (x1[:0], 1.0)
    jobs2 = stage("wave2", x2, scen, config.evaluation, w.run_seed + w.first * r, r)
    offset = {"wave2": len(x1), "wave3": len(x1) + len(x2)}  # points of wave 1, then 2, then 3
    jobs += jobs2
    if w.third:
        fit2, _, _ = _fit(log, jobs, np.vstack([x1, x2]), fitted, box, offset)
        x3 = sample_posterior(fit2, w.third, w.seed + 4).draws
        jobs += stage("wave3", x3, scen, config.evaluation, w.run_seed + (w.first + w.second) * r, r)
    else:
        x3 = x1[:0]
    points = np.vstack([x1, x2, x3])
    fit, ys, at = _fit(log, jobs, points, fitted, box, offset)
    checks = pd.DataFrame(
        [{"target": t.id, **cross_check(points[at[t.id]], ys[t.id], *box, groups=at[t.id])} for t in fitted],
        columns=["target", "r2", "coverage"],
    )
    post = sample_posterior(fit, config.posterior_draws, w.seed + 2)
    names = tuple(p.name for p in config.parameters)
    k = config.predictive.draws
    first = w.run_seed + (w.first + w.second + w.third) * r  # each draw its own seed: run noise included
    pjobs = stage("predictive", post.draws[:k], _scenarios(targets), config.predictive, first, 1)
    predicted = {
        t.id: log.values([j for j in pjobs if j.scenario == t.scenario], t.metric).tolist() for t in targets
    }
    return Calibration(
        config=config,
        targets=tuple(targets),
        names=names,
        draws=post.draws,
        ess=post.ess,
        nroy_share=nroy,
        runs=len(log.records),
        new_runs=log.added,
        failures=len(log.failures()),
        emulators=checks,
        identification=identification(names, post.draws, box),
        correlations=strong_correlations(names, post.draws),
        predictive=fit_table(targets, predicted),
        lopo=leave_one_out(fit, fitted, config.posterior_draws, w.seed + 3),
    )


def draw_overrides(config: CalibrationConfig, draws: np.ndarray) -> list[dict[str, object]]:
    """The scenario overrides that set each posterior draw."""
    base = load_scenario("baseline", context=config.base_context)
    return [context_values(base, config.parameters, x) for x in draws]


__all__ = ["Calibration", "calibrate", "draw_overrides", "fit_table", "identification", "leave_one_out"]
