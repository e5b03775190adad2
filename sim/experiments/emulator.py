"""Gaussian-process emulators of the model's KPIs, history matching, and the posterior.

The calibration (:mod:`sim.experiments.calibration`) runs the model at a design of
parameter points and fits, per target, a Gaussian process (scikit-learn) to the KPI it
is compared with: a Matérn-5/2 kernel with one length scale per parameter, plus a white
kernel for run-to-run noise. The emulator's *latent* mean and standard deviation (the
noise left out) stand for the model's expected KPI at any point and the emulator's doubt
about it.

A target with reported value ``v`` and tolerance ``τ`` is read as ``v`` observed with
standard deviation ``τ/2`` (the tolerance a 95% band); one-sided targets (``at_least``,
``at_most``) only penalise the wrong side. With ``s`` the combined standard deviation
``sqrt(s_em² + (τ/2)²)``:

- *implausibility* (history matching, Vernon et al. 2010): ``|μ − v| / s`` (one-sided:
  only beyond ``v``); points whose largest implausibility exceeds 3 are ruled out;
- *likelihood*: Gaussian, ``N(v; μ, s²)``; one-sided, ``Φ((μ − (v − τ)) / s)`` (at least)
  or ``Φ(((v + τ) − μ) / s)`` (at most).

The posterior over the uniform prior box is sampled by an ensemble MCMC (emcee) on the
emulators; the effective sample size (kept samples over the autocorrelation time) is
reported with the draws.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import emcee
import numpy as np
from scipy.special import log_ndtr
from scipy.stats import qmc
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.model_selection import KFold

Direction = Literal["eq", "at_least", "at_most"]
CUTOFF = 3.0
"""Implausibility above which a point is ruled out."""


@dataclass(frozen=True)
class Observation:
    """A reported figure as the emulator-based fit reads it."""

    value: float
    tolerance: float
    direction: Direction = "eq"


@dataclass
class Emulator:
    """One KPI's Gaussian process over the unit cube of the prior box."""

    gp: GaussianProcessRegressor | None
    lo: np.ndarray
    hi: np.ndarray
    centre: float
    spread: float
    noise: float
    """Run-to-run variance (in KPI units²) the white kernel found."""

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent mean and standard deviation of the KPI at points ``x`` (rows)."""
        x = np.atleast_2d(x)
        if self.gp is None:
            return np.full(len(x), self.centre), np.zeros(len(x))
        mu, sd = self.gp.predict((x - self.lo) / (self.hi - self.lo), return_std=True)
        var = np.maximum(sd**2 * self.spread**2 - self.noise, 0.0)
        return self.centre + mu * self.spread, np.sqrt(var)


def fit_emulator(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, seed: int = 0) -> Emulator:
    """A Gaussian process of ``y`` on the design ``x`` (rows, parameter units); NaNs left out."""
    keep = np.isfinite(y)
    x, y = np.asarray(x, dtype=float)[keep], np.asarray(y, dtype=float)[keep]
    centre, spread = float(np.mean(y)) if y.size else 0.0, float(np.std(y))
    if y.size < 3 or spread < 1e-12:
        return Emulator(None, lo, hi, centre, 1.0, 0.0)
    d = x.shape[1]
    kernel = ConstantKernel(1.0, (1e-3, 1e2)) * Matern(
        length_scale=np.full(d, 0.5), length_scale_bounds=(1e-2, 1e3), nu=2.5
    ) + WhiteKernel(0.05, (1e-8, 1.0))
    gp = GaussianProcessRegressor(kernel, n_restarts_optimizer=2, random_state=seed)
    with warnings.catch_warnings():  # a parameter the KPI ignores ends at the length scale's bound
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit((x - lo) / (hi - lo), (y - centre) / spread)
    noise = float(gp.kernel_.k2.noise_level) * spread**2
    return Emulator(gp, lo, hi, centre, spread, noise)


def cross_check(
    x: np.ndarray,
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    seed: int = 0,
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """Five-fold check of an emulator: R² of its predictions of held-out runs, and the
    share of those runs inside its 95% interval (latent doubt plus run noise). Runs of one
    ``groups`` value (the replicates of a design point) are held out together."""
    keep = np.isfinite(y)
    g = np.arange(y.size) if groups is None else np.asarray(groups)
    x, y, g = np.asarray(x, dtype=float)[keep], np.asarray(y, dtype=float)[keep], g[keep]
    if y.size < 10 or np.std(y) < 1e-12:
        return {"r2": float("nan"), "coverage": float("nan")}
    pred, inside = np.empty_like(y), np.empty(y.size, dtype=bool)
    labels = np.unique(g)
    for _, held in KFold(5, shuffle=True, random_state=seed).split(labels):
        test = np.isin(g, labels[held])
        em = fit_emulator(x[~test], y[~test], lo, hi, seed)
        mu, sd = em.predict(x[test])
        pred[test] = mu
        inside[test] = np.abs(y[test] - mu) <= 1.96 * np.sqrt(sd**2 + em.noise) + 1e-12
    r2 = 1.0 - float(np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
    return {"r2": r2, "coverage": float(inside.mean())}


def _sd(obs: Observation, sd_em: np.ndarray) -> np.ndarray:
    return np.sqrt(sd_em**2 + (obs.tolerance / 2.0) ** 2)


def implausibility(obs: Observation, mu: np.ndarray, sd_em: np.ndarray) -> np.ndarray:
    """How many standard deviations the emulated KPI lies from the reported figure."""
    gap = mu - obs.value
    if obs.direction == "at_least":
        gap = np.minimum(gap, 0.0)
    elif obs.direction == "at_most":
        gap = np.maximum(gap, 0.0)
    return np.abs(gap) / _sd(obs, sd_em)


def log_likelihood(obs: Observation, mu: np.ndarray, sd_em: np.ndarray) -> np.ndarray:
    """Log-likelihood of the reported figure at emulated KPI ``mu`` (doubt ``sd_em``)."""
    s = _sd(obs, sd_em)
    if obs.direction == "at_least":
        return log_ndtr((mu - (obs.value - obs.tolerance)) / s)
    if obs.direction == "at_most":
        return log_ndtr(((obs.value + obs.tolerance) - mu) / s)
    return -0.5 * ((mu - obs.value) / s) ** 2 - np.log(s)


@dataclass(frozen=True)
class Fit:
    """Emulators and the figures they are compared with, over one prior box."""

    emulators: tuple[Emulator, ...]
    observations: tuple[Observation, ...]
    lo: np.ndarray
    hi: np.ndarray

    def log_likelihood(self, x: np.ndarray, use: Sequence[bool] | None = None) -> np.ndarray:
        """Sum over the figures marked in ``use`` (all by default) at points ``x``."""
        total = np.zeros(len(x))
        for i, (em, obs) in enumerate(zip(self.emulators, self.observations, strict=True)):
            if use is None or use[i]:
                mu, sd = em.predict(x)
                total += log_likelihood(obs, mu, sd)
        return total

    def max_implausibility(self, x: np.ndarray) -> np.ndarray:
        """The largest implausibility over the figures at points ``x``."""
        worst = np.zeros(len(x))
        for em, obs in zip(self.emulators, self.observations, strict=True):
            mu, sd = em.predict(x)
            worst = np.maximum(worst, implausibility(obs, mu, sd))
        return worst


def latin_hypercube(lo: np.ndarray, hi: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points of a Latin hypercube over the box ``lo``–``hi``."""
    return qmc.scale(qmc.LatinHypercube(d=lo.size, seed=seed).random(n), lo, hi)


def not_ruled_out(fit: Fit, n: int, seed: int, candidates: int = 20_000) -> tuple[np.ndarray, float]:
    """``n`` points drawn from the region history matching has not ruled out (NROY), and
    that region's share of the prior box; the least implausible candidates if fewer survive."""
    rng = np.random.default_rng(seed)
    cand = fit.lo + rng.random((candidates, fit.lo.size)) * (fit.hi - fit.lo)
    worst = fit.max_implausibility(cand)
    alive = worst <= CUTOFF
    share = float(alive.mean())
    pool = cand[alive] if alive.sum() >= n else cand[np.argsort(worst)[:n]]
    return pool[rng.choice(len(pool), size=n, replace=False)], share


@dataclass(frozen=True)
class PosteriorSample:
    """Posterior draws (independent of their order), with the sampler's effective size."""

    draws: np.ndarray
    ess: float


def sample_posterior(
    fit: Fit,
    n_draws: int,
    seed: int,
    use: Sequence[bool] | None = None,
    steps: int = 3000,
    starts: int = 20_000,
) -> PosteriorSample:
    """Posterior draws under a uniform prior on the box: an affine-invariant ensemble MCMC
    (emcee) on the emulators' likelihood, its walkers started at the most likely of
    ``starts`` prior draws; the second half of the chains is kept, and ``n_draws`` drawn
    from it. The effective size is the kept samples over the chains' autocorrelation time."""
    rng = np.random.default_rng(seed)
    lo, hi = fit.lo, fit.hi
    walkers = max(4 * lo.size, 32)

    def log_prob(x: np.ndarray) -> np.ndarray:
        inside = np.all((x >= lo) & (x <= hi), axis=1)
        out = np.full(len(x), -np.inf)
        if inside.any():
            out[inside] = fit.log_likelihood(x[inside], use)
        return out

    prior = lo + rng.random((starts, lo.size)) * (hi - lo)
    best = prior[np.argsort(fit.log_likelihood(prior, use))[-walkers:]]
    sampler = emcee.EnsembleSampler(walkers, lo.size, log_prob, vectorize=True)
    sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(best, steps)
    chain = sampler.get_chain(discard=steps // 2, flat=True)
    quiet = logging.getLogger("emcee.autocorr")
    level, quiet.level = quiet.level, logging.ERROR  # a short chain's warning: its size is reported
    try:
        tau = float(np.nanmax(sampler.get_autocorr_time(discard=steps // 2, quiet=True)))
    finally:
        quiet.setLevel(level)
    ess = len(chain) / max(tau, 1.0)
    return PosteriorSample(chain[rng.choice(len(chain), size=n_draws, replace=len(chain) < n_draws)], ess)


__all__ = [
    "CUTOFF",
    "Emulator",
    "Fit",
    "Observation",
    "PosteriorSample",
    "cross_check",
    "fit_emulator",
    "implausibility",
    "latin_hypercube",
    "log_likelihood",
    "not_ruled_out",
    "sample_posterior",
]
