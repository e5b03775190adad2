"""Statistics over replicated runs: intervals, paired scenario contrasts, and replication advice.

Every function takes the ``summaries`` table of a replicated experiment: one row per run with the
key columns ``scenario``, ``point`` (index of a parameter sample; taken as 0 when the column is
absent, as in the output of :func:`sim.experiments.compare.replicate`), ``replication`` and ``seed``, plus
numeric KPI columns that may hold NaN.

Replication ``r`` of every scenario shares its seed (common random numbers), so rows with equal
(``point``, ``replication``) in two scenarios are *paired*: :func:`paired_differences` works on the
within-pair differences, which removes the noise the scenarios share.

:func:`replication_advice` says whether the replications give a t-interval narrow enough relative
to the mean, and how many would; :func:`warnings_for` turns that into sentences.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from sim.experiments.replicate import interval

__all__ = ["kpi_intervals", "paired_differences", "replication_advice", "warnings_for"]

#: Largest replication count :func:`replication_advice` searches up to.
MAX_NEEDED = 100_000

_KEYS = ("scenario", "point", "replication")

# Differences whose spread is within this many machine epsilons of the scale of the paired values
# count as identical: ``x + c - x`` is not exactly ``c`` in floating point.
_TIE_EPS = 16 * np.finfo(float).eps


def _kpi_list(kpis: Sequence[str] | str) -> list[str]:
    return [kpis] if isinstance(kpis, str) else list(kpis)


def _prepare(summaries: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    """Check the columns and return a frame with a ``point`` column (0 when absent)."""
    missing = [c for c in ("scenario", "replication", *kpis) if c not in summaries.columns]
    if missing:
        raise ValueError(f"summaries lacks column(s) {missing}")
    if "point" not in summaries.columns:
        summaries = summaries.assign(point=0)
    return summaries


def _groups(summaries: pd.DataFrame) -> list[tuple[str, int, pd.DataFrame]]:
    """(scenario, point, rows): scenarios in order of appearance, points ascending."""
    out = []
    for scen in pd.unique(summaries["scenario"]):
        rows = summaries[summaries["scenario"] == scen]
        for point in sorted(pd.unique(rows["point"])):
            out.append((str(scen), int(point), rows[rows["point"] == point]))
    return out


def _values(rows: pd.DataFrame, kpi: str) -> np.ndarray:
    return pd.to_numeric(rows[kpi], errors="coerce").dropna().to_numpy(dtype=float)


def kpi_intervals(summaries: pd.DataFrame, kpis: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Mean and t-interval of each KPI for each scenario and parameter point.

    Args:
        summaries: One row per run (see the module docstring).
        kpis: KPI columns to summarise.
        level: Confidence level of the two-sided t-interval.

    Returns:
        One row per (scenario, point, kpi) with columns ``scenario, point, kpi, n, mean, lo, hi, sd``,
        where ``n`` counts the non-missing values, ``lo``/``hi`` come from
        :func:`~sim.experiments.replicate.interval` (NaN when ``n < 2``) and ``sd`` is the sample
        standard deviation (``ddof=1``; NaN when ``n < 2``).
    """
    kpi_names = _kpi_list(kpis)
    summaries = _prepare(summaries, kpi_names)
    rows = []
    for scen, point, grp in _groups(summaries):
        for k in kpi_names:
            v = _values(grp, k)
            m, lo, hi = interval(pd.Series(v), level)
            sd = float(v.std(ddof=1)) if v.size >= 2 else np.nan
            rows.append(
                {
                    "scenario": scen,
                    "point": point,
                    "kpi": k,
                    "n": int(v.size),
                    "mean": m,
                    "lo": lo,
                    "hi": hi,
                    "sd": sd,
                }
            )
    return pd.DataFrame(rows, columns=["scenario", "point", "kpi", "n", "mean", "lo", "hi", "sd"])


def _check_unique(summaries: pd.DataFrame) -> None:
    dup = summaries.duplicated(list(_KEYS), keep=False)
    if dup.any():
        first = summaries.loc[dup, list(_KEYS)].iloc[0].tolist()
        raise ValueError(f"(scenario, point, replication) must be unique for pairing; repeated: {first}")


def _bootstrap_ci(diffs: np.ndarray, level: float, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``diffs`` (caller excludes degenerate input)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)
        res = sps.bootstrap(
            (diffs,),
            np.mean,
            n_resamples=n_boot,
            confidence_level=level,
            method="percentile",
            vectorized=True,
            rng=np.random.default_rng(seed),
        )
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (np.nan, np.nan)
    return (lo, hi)


def _contrast(ref: np.ndarray, scen: np.ndarray, level: float, n_boot: int, seed: int) -> dict[str, float]:
    """Statistics of the paired differences ``scen - ref`` (both already NaN-free and aligned)."""
    n = ref.size
    nan = float("nan")
    out = {
        "n_pairs": n,
        "mean_reference": float(ref.mean()) if n else nan,
        "mean_scenario": float(scen.mean()) if n else nan,
        "diff_mean": nan,
        "diff_lo": nan,
        "diff_hi": nan,
        "wilcoxon_p": nan,
        "effect_size": nan,
        "relative_change": nan,
    }
    if n == 0:
        return out
    d = scen - ref
    diff_mean = float(d.mean())
    out["diff_mean"] = diff_mean
    if out["mean_reference"] != 0:
        out["relative_change"] = diff_mean / abs(out["mean_reference"])
    scale = max(float(np.abs(ref).max()), float(np.abs(scen).max()))
    identical = float(np.ptp(d)) <= _TIE_EPS * scale
    if n >= 2 and not identical:
        out["diff_lo"], out["diff_hi"] = _bootstrap_ci(d, level, n_boot, seed)
        sd = float(d.std(ddof=1))
        if sd > 0:
            out["effect_size"] = diff_mean / sd
    if np.count_nonzero(d) >= 2:
        out["wilcoxon_p"] = float(sps.wilcoxon(d, alternative="two-sided").pvalue)
    return out


def paired_differences(
    summaries: pd.DataFrame,
    kpis: Sequence[str],
    reference: str | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired contrasts of every scenario against a reference, per parameter point and KPI.

    Rows of a scenario and of the reference are paired on (``point``, ``replication``) — they share
    a seed — and pairs where either value is NaN are dropped, as are rows without a partner. With
    ``d`` the differences (scenario minus reference) of the remaining pairs:

    * ``diff_lo``/``diff_hi``: percentile bootstrap interval of the mean of ``d``
      (:func:`scipy.stats.bootstrap`, ``n_boot`` resamples). NaN with fewer than 2 pairs or when all
      differences are identical (up to floating-point rounding of the subtraction), where the
      bootstrap distribution is degenerate.
    * ``wilcoxon_p``: two-sided Wilcoxon signed-rank p-value (zero differences are discarded);
      NaN with fewer than 2 non-zero differences.
    * ``effect_size``: Cohen's d_z, mean of ``d`` over its sample sd (``ddof=1``); NaN when ``n < 2``
      or the differences are identical.
    * ``relative_change``: ``diff_mean / |mean_reference|``; NaN when the reference mean is 0.

    ``mean_reference`` and ``mean_scenario`` are taken over the retained pairs only, so
    ``diff_mean == mean_scenario - mean_reference`` (up to rounding).

    Every bootstrap uses a fresh ``numpy.random.default_rng(seed)`` and sorts pairs by replication,
    so each result depends only on its own data and ``seed``, not on row order or on which other
    scenarios and KPIs are asked for.

    Args:
        summaries: One row per run (see the module docstring); (scenario, point, replication) must be
            unique.
        kpis: KPI columns to compare.
        reference: Scenario the others are compared with; default the first scenario in order of
            appearance.
        level: Confidence level of the bootstrap interval.
        n_boot: Number of bootstrap resamples.
        seed: Seed of the bootstrap resampling.

    Returns:
        One row per (scenario other than the reference, point of that scenario, kpi) with columns
        ``scenario, reference, point, kpi, n_pairs, mean_reference, mean_scenario, diff_mean, diff_lo,
        diff_hi, wilcoxon_p, effect_size, relative_change``.

    Raises:
        ValueError: On missing columns, an unknown reference, or repeated (scenario, point,
            replication) keys.
    """
    columns = [
        "scenario", "reference", "point", "kpi", "n_pairs", "mean_reference", "mean_scenario",
        "diff_mean", "diff_lo", "diff_hi", "wilcoxon_p", "effect_size", "relative_change",
    ]  # fmt: skip
    kpi_names = _kpi_list(kpis)
    summaries = _prepare(summaries, kpi_names)
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, got {n_boot}")
    _check_unique(summaries)
    scenarios = [str(s) for s in pd.unique(summaries["scenario"])]
    if not scenarios:
        return pd.DataFrame(columns=columns)
    ref_name = scenarios[0] if reference is None else reference
    if ref_name not in scenarios:
        raise ValueError(f"reference scenario {ref_name!r} not among {scenarios}")
    ref_rows = summaries[summaries["scenario"] == ref_name]
    rows = []
    for scen, point, grp in _groups(summaries):
        if scen == ref_name:
            continue
        ref_pt = ref_rows[ref_rows["point"] == point]
        for k in kpi_names:
            pairs = (
                grp[["replication", k]]
                .merge(ref_pt[["replication", k]], on="replication", suffixes=("_s", "_r"))
                .dropna()
                .sort_values("replication")
            )
            r = pairs[f"{k}_r"].to_numpy(dtype=float)
            s = pairs[f"{k}_s"].to_numpy(dtype=float)
            stats_ = _contrast(r, s, level, n_boot, seed)
            rows.append({"scenario": scen, "reference": ref_name, "point": point, "kpi": k, **stats_})
    return pd.DataFrame(rows, columns=columns)


def _half_width(n: int | np.ndarray, sd: float, level: float) -> np.ndarray:
    """t-interval half-width for ``n`` values of sample sd ``sd`` (vectorised over ``n``)."""
    n_arr = np.asarray(n, dtype=float)
    return np.asarray(sps.t.ppf(0.5 + level / 2, n_arr - 1) * sd / np.sqrt(n_arr))


def _needed(sd: float, target: float, level: float) -> int:
    """Smallest n >= 2 with half-width <= ``target`` (an absolute half-width), capped at MAX_NEEDED."""
    if sd == 0:
        return 2
    # t_{n-1} > z, so no n below (z * sd / target)^2 can do: start the search there.
    z = float(sps.norm.ppf(0.5 + level / 2))
    ratio = z * sd / target
    if ratio**2 > MAX_NEEDED:
        return MAX_NEEDED
    start = max(2, math.ceil(ratio**2) - 1)
    while start <= MAX_NEEDED:
        cand = np.arange(start, min(start + 64, MAX_NEEDED + 1))
        ok = np.nonzero(_half_width(cand, sd, level) <= target)[0]
        if ok.size:
            return int(cand[ok[0]])
        start = int(cand[-1]) + 1
    return MAX_NEEDED


def replication_advice(
    summaries: pd.DataFrame, kpis: Sequence[str], rel_half_width: float = 0.05, level: float = 0.95
) -> pd.DataFrame:
    """Whether each KPI's t-interval is narrow enough relative to its mean, and how many runs would be.

    For each (scenario, point, kpi) with ``n`` non-missing values, sample sd ``s`` and mean ``m``:

    * ``rel_half_width`` (column) is the achieved relative half-width
      ``h = t_{n-1} * s / sqrt(n) / |m|`` with ``t_{n-1}`` the two-sided ``level`` quantile;
    * ``enough`` is ``h <= rel_half_width`` (the argument);
    * ``needed`` is the smallest ``n' >= 2`` with ``t_{n'-1} * s / sqrt(n') <= rel_half_width * |m|``,
      treating ``s`` and ``m`` as known; it is capped at :data:`MAX_NEEDED` (a capped value means "at
      least that many");
    * ``more`` is ``max(needed - n, 0)``.

    With ``n < 2`` the sd is unknown: ``enough`` is False and ``rel_half_width``, ``needed`` and
    ``more`` are NaN. With ``m == 0`` a relative width is undefined and the same holds. ``needed``
    and ``more`` are floats so that they can hold NaN.

    The arguments are kept in ``DataFrame.attrs`` (``level``, ``target``) for :func:`warnings_for`.

    Args:
        summaries: One row per run (see the module docstring).
        kpis: KPI columns to assess.
        rel_half_width: Target half-width of the interval as a fraction of ``|mean|``.
        level: Confidence level of the t-interval.

    Returns:
        One row per (scenario, point, kpi) with columns ``scenario, point, kpi, n, mean,
        rel_half_width, enough, needed, more``.
    """
    if rel_half_width <= 0:
        raise ValueError(f"rel_half_width must be positive, got {rel_half_width}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    kpi_names = _kpi_list(kpis)
    summaries = _prepare(summaries, kpi_names)
    rows = []
    for scen, point, grp in _groups(summaries):
        for k in kpi_names:
            v = _values(grp, k)
            n = int(v.size)
            m = float(v.mean()) if n else np.nan
            h, enough, needed, more = np.nan, False, np.nan, np.nan
            if n >= 2 and m != 0 and math.isfinite(m):
                s = float(v.std(ddof=1))
                target = rel_half_width * abs(m)
                half = float(_half_width(n, s, level))
                h = half / abs(m)
                enough = half <= target
                needed_n = _needed(s, target, level)
                # Same criterion as ``enough``; the clamps only guard against last-bit disagreement.
                needed_n = min(needed_n, n) if enough else max(needed_n, n + 1)
                needed = float(needed_n)
                more = float(max(needed - n, 0))
            rows.append(
                {
                    "scenario": scen,
                    "point": point,
                    "kpi": k,
                    "n": n,
                    "mean": m,
                    "rel_half_width": h,
                    "enough": bool(enough),
                    "needed": needed,
                    "more": more,
                }
            )
    cols = ["scenario", "point", "kpi", "n", "mean", "rel_half_width", "enough", "needed", "more"]
    out = pd.DataFrame(rows, columns=cols).astype({"enough": bool, "needed": float, "more": float})
    out.attrs.update(level=level, target=rel_half_width)
    return out


def _pct(x: float) -> str:
    """``0.05`` -> ``"5%"``, ``0.025`` -> ``"2.5%"``."""
    return f"{x * 100:.6g}%"


def _pct_above(h: float, target: float) -> str:
    """``h`` as a percentage with enough decimals that it does not print as ``target`` or below."""
    for dec in range(1, 6):
        if round(h * 100, dec) > round(target * 100, dec):
            return f"{h * 100:.{dec}f}%"
    return f"{h * 100:.6f}%"


def warnings_for(
    advice: pd.DataFrame, level: float | None = None, rel_half_width: float | None = None
) -> list[str]:
    """One plain-English line for each row of ``advice`` that does not have enough replications.

    Example: ``"reform, delay_total_mean_days: 5 replications give a 95% interval of ±7.2% of the
    mean; about 9 more would give ±5%."`` The point is named unless every row is point 0.
    "About" because ``more`` assumes the sd and mean stay as estimated. Rows with fewer than two
    values or a zero mean get a line saying why no relative interval can be given; rows whose
    ``needed`` hit :data:`MAX_NEEDED` say "at least" that many more.

    Args:
        advice: Output of :func:`replication_advice` (possibly filtered).
        level: Confidence level used; default ``advice.attrs["level"]``.
        rel_half_width: Target relative half-width used; default ``advice.attrs["target"]``.

    Returns:
        The warnings, in row order; empty when every row is enough.

    Raises:
        ValueError: When ``level`` or ``rel_half_width`` is neither given nor in ``advice.attrs``.
    """
    level = advice.attrs.get("level") if level is None else level
    target = advice.attrs.get("target") if rel_half_width is None else rel_half_width
    if level is None or target is None:
        raise ValueError("pass level and rel_half_width (advice.attrs lost them)")
    lv, tg = _pct(level), _pct(target)
    name_point = advice["point"].nunique() > 1 or bool((advice["point"] != 0).any())
    out = []
    for row in advice.to_dict("records"):
        if row["enough"]:
            continue
        where = f"{row['scenario']}, point {row['point']}" if name_point else str(row["scenario"])
        head = f"{where}, {row['kpi']}: "
        n = int(row["n"])
        mean = float(row["mean"])
        runs = f"{n} replication{'s' if n != 1 else ''}"
        if n < 2:
            out.append(f"{head}only {runs} with a value; at least 2 are needed to estimate an interval.")
        elif mean == 0 or not math.isfinite(mean):
            out.append(f"{head}the mean is {mean:g}, so an interval relative to the mean is undefined.")
        else:
            h = _pct_above(float(row["rel_half_width"]), target)
            give = f"{head}{runs} give a {lv} interval of ±{h} of the mean; "
            if int(row["needed"]) >= MAX_NEEDED:
                out.append(f"{give}at least {MAX_NEEDED - n} more would be needed for ±{tg}.")
            else:
                out.append(f"{give}about {int(row['more'])} more would give ±{tg}.")
    return out
