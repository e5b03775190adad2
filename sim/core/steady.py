"""Steady state: where a run's warm-up ends, and whether its stocks still grow after it.

A comparison of mean delays means something only between systems that settle: a
scenario whose backlogs grow without end has no mean delay (it depends on the horizon).
For each day-end stock of the daily table (open cases and the backlog of each kind of
unit) this module finds

- the **warm-up** by MSER-5 (White 1997; Hoad, Robinson & Davies 2010): the series is cut
  into batches of 5 days, and the warm-up is the cut ``d`` (searched over the first half)
  that minimises the squared standard error of the remaining batch means,
  ``Σ(y − ȳ)² / (n − d)²``;
- the **trend** after the warm-up by a batch-means regression: the remaining days are cut
  into 10 batches (which tames the autocorrelation of a queue's daily stock), their means
  are regressed on time, and the slope's t statistic is kept with the growth per day.

A stock **grows** when its slope is significantly positive (one-sided, 5%) *and* its
growth over the window after the warm-up is more than 10% of its mean level (a drift too
small to matter is not called growth). A run is in steady state when none of its stocks
grows; its stocks are tested together, each at 5% over their number (Bonferroni), so that
a settled run is called growing at most about 5% of the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from sim.errors import GovsimError

BATCH = 5
TREND_BATCHES = 10
ALPHA = 0.05
MIN_GROWTH = 0.10
STOCKS = (
    "open_cases",
    "backlog_grid",
    "backlog_department",
    "backlog_enforcement",
    "backlog_centre",
    "backlog_village",
    "backlog_police",
)
"""The daily table's stocks that must not grow: open cases and the backlog of each kind of unit
(:data:`sim.core.agents.BACKLOG_KINDS`; spelt out so that reading a verdict loads no model)."""
TREND_FIELDS = ("trend_t", "growth_per_day", "grows")
"""What the summary keeps of each stock's trend (columns ``<stock>_<field>``)."""
STEADY_COLUMNS = (
    "warmup_days",
    "steady_state",
    *(f"{s}_{f}" for s in STOCKS for f in TREND_FIELDS),
)
"""The steady-state columns of a run summary: the warm-up used (days); 1 when no stock
grows, 0 when one does, NaN when too few days follow the warm-up to tell; and per stock
the trend's t statistic, its slope (units per day) and 1/0 whether it grows."""

Warmup = int | Literal["auto"]
"""A warm-up as asked for: days, or ``"auto"`` (MSER-5)."""


def mser5(x: np.ndarray) -> int:
    """The MSER-5 warm-up of a daily series, in days (a multiple of 5)."""
    n = len(x) // BATCH
    if n < 4:
        return 0
    y = np.asarray(x[: n * BATCH], dtype=float).reshape(n, BATCH).mean(axis=1)
    best, cut = np.inf, 0
    for d in range(n // 2 + 1):
        rest = y[d:]
        score = float(((rest - rest.mean()) ** 2).sum()) / (n - d) ** 2
        if score < best:
            best, cut = score, d
    return cut * BATCH


@dataclass(frozen=True)
class Trend:
    """The trend of one stock after its warm-up.

    Attributes:
        stock: the daily column.
        warmup: MSER-5 warm-up (days).
        mean: mean level after the warm-up.
        slope_per_day: the batch-means regression's slope (units per day).
        t: the slope's t statistic (NaN when there are too few days).
        growth: the slope times the days after the warm-up, over the mean level.
        grows: significantly positive and more than 10% growth.
    """

    stock: str
    warmup: int
    mean: float
    slope_per_day: float
    t: float
    growth: float
    grows: bool


def trend(stock: str, x: np.ndarray, warmup: int | None = None, alpha: float = ALPHA) -> Trend:
    """The trend of a daily series after its warm-up (MSER-5 unless given), its slope tested
    one-sided at level ``alpha``."""
    x = np.asarray(x, dtype=float)
    w = mser5(x) if warmup is None else int(warmup)
    rest = x[w:]
    k = TREND_BATCHES
    if rest.size < 2 * k:
        return Trend(stock, w, float(rest.mean()) if rest.size else np.nan, np.nan, np.nan, np.nan, False)
    size = rest.size // k
    y = rest[: k * size].reshape(k, size).mean(axis=1)
    t_mid = (np.arange(k) + 0.5) * size
    fit = stats.linregress(t_mid, y)
    mean = float(rest.mean())
    if fit.stderr > 0:
        t = float(fit.slope / fit.stderr)
    else:  # an exact line: infinitely significant unless flat
        t = 0.0 if fit.slope == 0 else float(np.copysign(np.inf, fit.slope))
    growth = float(fit.slope * rest.size / max(mean, 1.0))  # a stock near 0 grows against 1
    significant = t > stats.t.ppf(1 - alpha, k - 2)
    return Trend(stock, w, mean, float(fit.slope), t, growth, bool(significant and growth > MIN_GROWTH))


def steady_state(
    daily: pd.DataFrame, stocks: Sequence[str] = STOCKS, warmup: int | None = None
) -> list[Trend]:
    """The trend of each stock of a daily table that it has (warm-up MSER-5 unless given),
    tested together (each at :data:`ALPHA` over their number)."""
    have = [s for s in stocks if s in daily]
    return [trend(s, daily[s].to_numpy(), warmup, ALPHA / max(len(have), 1)) for s in have]


def warmup_problem(value: str | int, days: int) -> str | None:
    """What is wrong with a warm-up for a ``days``-day horizon, or None if nothing.

    A warm-up is ``"auto"`` or a whole number of days from 0 up to ``days - 1``.
    """
    text = str(value).strip()
    if text == "auto":
        return None
    if not text.isdigit():
        return "give auto (MSER-5) or a whole number of days >= 0"
    if int(text) >= days:
        return f"it leaves nothing of the {days}-day horizon; give fewer than {days} days, or auto"
    return None


def check_warmup(value: str | int, days: int, source: str = "--warmup") -> Warmup:
    """A warm-up (``"auto"`` or days) that leaves days to measure over a ``days``-day horizon.

    Raises:
        GovsimError: anything else, in one line naming ``source`` and the value.
    """
    problem = warmup_problem(value, days)
    if problem is not None:
        raise GovsimError(f"{source}: {value!r} is not allowed: {problem}")
    text = str(value).strip()
    return "auto" if text == "auto" else int(text)


@dataclass(frozen=True)
class SteadyState:
    """A run's warm-up and the trend of each of its stocks after it.

    Attributes:
        warmup: the warm-up used (days).
        auto: whether MSER-5 chose it.
        trends: one per stock of the daily table (:data:`STOCKS`).
    """

    warmup: int
    auto: bool
    trends: tuple[Trend, ...]

    @property
    def steady(self) -> bool | None:
        """False if a stock grows; True if none does; None if too few days follow the warm-up."""
        if any(t.grows for t in self.trends):
            return False
        return None if any(np.isnan(t.t) for t in self.trends) else True

    @property
    def growing(self) -> list[Trend]:
        """The stocks that grow."""
        return [t for t in self.trends if t.grows]

    def columns(self) -> dict[str, float]:
        """The verdict as the summary's :data:`STEADY_COLUMNS` (NaN for a stock the run lacks)."""
        st = self.steady
        out = dict.fromkeys(STEADY_COLUMNS, float("nan"))
        out["warmup_days"] = float(self.warmup)
        out["steady_state"] = float("nan") if st is None else float(st)
        for t in self.trends:
            out[f"{t.stock}_trend_t"] = t.t
            out[f"{t.stock}_growth_per_day"] = t.slope_per_day
            out[f"{t.stock}_grows"] = float(t.grows)
        return out


def assess(daily: pd.DataFrame, warmup: Warmup = "auto", stocks: Sequence[str] = STOCKS) -> SteadyState:
    """The run's warm-up (given, or the longest MSER-5 warm-up of its stocks) and each
    stock's trend after it.

    Args:
        daily: the run's daily table.
        warmup: days, or ``"auto"``.
        stocks: the stocks to test (those the table has).
    """
    have = [s for s in stocks if s in daily]
    auto = warmup == "auto"
    w = max((mser5(daily[s].to_numpy()) for s in have), default=0) if auto else int(warmup)
    return SteadyState(w, auto, tuple(steady_state(daily, have, w)))
