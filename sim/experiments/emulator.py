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

The posterior over the uniform prior box is sampled by two-stage importance sampling:
prior draws, then a mixture of the prior and a widened Gaussian fitted to the first
stage's weighted draws; equally weighted draws are resampled from the second stage
(systematic resampling). The effective sample size is reported with them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import log_ndtr
from scipy.stats import multivariate_normal, qmc
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
    x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, seed: int = 0
) -> dict[str, float]:
    """Five-fold check of an emulator: R² of its predictions of held-out runs, and the
    share of those runs inside its 95% interval (latent doubt plus run noise)."""
    keep = np.isfinite(y)
    x, y = np.asarray(x, dtype=float)[keep], np.asarray(y, dtype=float)[keep]
    if y.size < 10 or np.std(y) < 1e-12:
        return {"r2": float("nan"), "coverage": float("nan")}
    pred, inside = np.empty_like(y), np.empty(y.size, dtype=bool)
    for train, test in KFold(5, shuffle=True, random_state=seed).split(x):
        em = fit_emulator(x[train], y[train], lo, hi, seed)
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
    """Equally weighted posterior draws, with the importance sampler's effective size."""

    draws: np.ndarray
    ess: float


def _resample(x: np.ndarray, logw: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    w = np.exp(logw - logw.max())
    w /= w.sum()
    ess = float(1.0 / np.sum(w**2))
    positions = (rng.random() + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w), positions), len(w) - 1)
    return x[rng.permutation(idx)], ess


def sample_posterior(
    fit: Fit, n_draws: int, seed: int, use: Sequence[bool] | None = None, n_prior: int = 40_000
) -> PosteriorSample:
    """Posterior draws under a uniform prior on the box (two-stage importance sampling)."""
    rng = np.random.default_rng(seed)
    lo, hi = fit.lo, fit.hi
    x1 = lo + rng.random((n_prior, lo.size)) * (hi - lo)
    lw1 = fit.log_likelihood(x1, use)
    w1 = np.exp(lw1 - lw1.max())
    w1 /= w1.sum()
    mean = w1 @ x1
    cov = np.atleast_2d(np.cov(x1.T, aweights=w1)) * 4.0 + np.diag(((hi - lo) * 1e-3) ** 2)
    normal = multivariate_normal(mean, cov, allow_singular=True)
    g = normal.rvs(size=n_prior * 2, random_state=rng).reshape(-1, lo.size)
    g = g[np.all((g >= lo) & (g <= hi), axis=1)]
    inside = max(len(g) / (n_prior * 2), 1e-12)
    g = g[: n_prior // 2]
    x2 = np.vstack([lo + rng.random((n_prior - len(g), lo.size)) * (hi - lo), g])
    volume = float(np.prod(hi - lo))
    share_prior = (n_prior - len(g)) / n_prior
    proposal = share_prior / volume + (1 - share_prior) * normal.pdf(x2).reshape(-1) / inside
    lw2 = fit.log_likelihood(x2, use) - np.log(volume) - np.log(proposal)
    draws, ess = _resample(x2, lw2, n_draws, rng)
    return PosteriorSample(draws, ess)


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
