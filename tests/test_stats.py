"""sim.experiments.stats on small synthetic summary tables (no simulation runs)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sim.experiments.replicate import interval
from sim.experiments.stats import (
    MAX_NEEDED,
    kpi_intervals,
    paired_differences,
    replication_advice,
    warnings_for,
)


def _frame(values: dict[str, list[float]], kpi: str = "x", point: int = 0) -> pd.DataFrame:
    """Summaries with one KPI: ``values[scenario][r]`` is replication r's value."""
    rows = [
        {"scenario": s, "point": point, "replication": r, "seed": 1000 + r, kpi: v}
        for s, vals in values.items()
        for r, v in enumerate(vals)
    ]
    return pd.DataFrame(rows)


def _standardised(n: int) -> np.ndarray:
    """n values with mean exactly 0 and sample sd 1 (ddof=1)."""
    z = np.arange(n, dtype=float)
    z -= z.mean()
    return z / z.std(ddof=1)


def _brute_needed(s: float, m: float, target: float, level: float = 0.95) -> int:
    n = np.arange(2, MAX_NEEDED + 1, dtype=float)
    ok = sps.t.ppf(0.5 + level / 2, n - 1) * s / np.sqrt(n) <= target * abs(m)
    return int(n[np.argmax(ok)])


# --- kpi_intervals ---------------------------------------------------------------------------


def test_kpi_intervals_matches_interval_and_counts_non_missing() -> None:
    df = _frame({"a": [1.0, 2.0, 4.0, np.nan], "b": [3.0, np.nan, np.nan, np.nan]})
    out = kpi_intervals(df, ["x"], level=0.9)
    assert list(out.columns) == ["scenario", "point", "kpi", "n", "mean", "lo", "hi", "sd"]
    assert list(out["scenario"]) == ["a", "b"]
    a = out.iloc[0]
    m, lo, hi = interval(pd.Series([1.0, 2.0, 4.0]), 0.9)
    assert a["n"] == 3
    assert a["mean"] == pytest.approx(7 / 3)
    assert (a["lo"], a["hi"]) == pytest.approx((lo, hi))
    assert a["sd"] == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    half = sps.t.ppf(0.95, 2) * a["sd"] / math.sqrt(3)
    assert a["hi"] - a["mean"] == pytest.approx(half)
    b = out.iloc[1]
    assert b["n"] == 1 and b["mean"] == 3.0
    assert math.isnan(b["lo"]) and math.isnan(b["hi"]) and math.isnan(b["sd"])


def test_kpi_intervals_one_row_per_point_and_kpi_and_point_defaults_to_zero() -> None:
    df = pd.concat([_frame({"a": [1.0, 2.0]}, point=0), _frame({"a": [10.0, 20.0]}, point=1)])
    df["y"] = df["x"] * 2
    out = kpi_intervals(df, ["x", "y"])
    assert list(zip(out["point"], out["kpi"], strict=True)) == [(0, "x"), (0, "y"), (1, "x"), (1, "y")]
    assert list(out["mean"]) == pytest.approx([1.5, 3.0, 15.0, 30.0])
    no_point = kpi_intervals(_frame({"a": [1.0, 2.0]}).drop(columns="point"), ["x"])
    assert list(no_point["point"]) == [0]


def test_missing_kpi_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nope"):
        kpi_intervals(_frame({"a": [1.0]}), ["nope"])


# --- paired_differences ----------------------------------------------------------------------


def test_constant_shift_with_symmetric_noise_is_recovered() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(50.0, 10.0, size=12)  # large between-replication noise, shared by both
    jitter = np.array([0.2, -0.2, 0.1, -0.1, 0.3, -0.3, 0.05, -0.05, 0.15, -0.15, 0.25, -0.25])
    df = _frame({"base": list(ref), "reform": list(ref + 3.0 + jitter)})
    row = paired_differences(df, ["x"]).iloc[0]
    assert row["scenario"] == "reform" and row["reference"] == "base" and row["n_pairs"] == 12
    assert row["diff_mean"] == pytest.approx(3.0)
    assert row["mean_scenario"] - row["mean_reference"] == pytest.approx(row["diff_mean"])
    assert row["diff_lo"] < 3.0 < row["diff_hi"]
    # Pairing removes the shared noise: the interval is far narrower than the sd of either scenario.
    assert row["diff_hi"] - row["diff_lo"] < 0.5
    assert row["relative_change"] == pytest.approx(3.0 / abs(ref.mean()))
    assert row["effect_size"] == pytest.approx(3.0 / np.std(jitter, ddof=1))


def test_large_consistent_shift_is_significant() -> None:
    rng = np.random.default_rng(7)
    ref = rng.normal(20.0, 5.0, size=10)
    df = _frame({"base": list(ref), "reform": list(ref - 4.0 + rng.normal(0.0, 0.5, size=10))})
    row = paired_differences(df, ["x"]).iloc[0]
    assert row["wilcoxon_p"] < 0.01
    assert row["wilcoxon_p"] == pytest.approx(2 / 2**10)  # exact test, all ten differences negative
    assert row["diff_hi"] < 0
    assert row["effect_size"] < -3


def test_identical_scenarios_give_zero_difference() -> None:
    vals = [1.5, 2.5, 7.0, 3.25, 4.0]
    out = paired_differences(_frame({"a": vals, "b": vals}), ["x"])
    row = out.iloc[0]
    assert row["n_pairs"] == 5 and row["diff_mean"] == 0.0 and row["relative_change"] == 0.0
    for col in ("diff_lo", "diff_hi", "wilcoxon_p", "effect_size"):
        assert math.isnan(row[col]), col


def test_exactly_constant_differences_give_nan_interval_without_warnings() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(size=10)
    # ref + 0.3 - ref is 0.3 only up to rounding; that still counts as identical differences.
    df = _frame({"a": list(ref), "b": list(ref + 0.3)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = paired_differences(df, ["x"]).iloc[0]
    assert row["diff_mean"] == pytest.approx(0.3)
    assert math.isnan(row["diff_lo"]) and math.isnan(row["diff_hi"])
    assert math.isnan(row["effect_size"])
    assert row["wilcoxon_p"] == pytest.approx(2 / 2**10)


def test_fewer_than_two_pairs_or_nonzero_differences() -> None:
    one = paired_differences(_frame({"a": [1.0], "b": [2.0]}), ["x"]).iloc[0]
    assert one["n_pairs"] == 1 and one["diff_mean"] == 1.0
    for col in ("diff_lo", "diff_hi", "wilcoxon_p", "effect_size"):
        assert math.isnan(one[col]), col
    one_nonzero = paired_differences(_frame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 4.0]}), ["x"]).iloc[0]
    assert math.isnan(one_nonzero["wilcoxon_p"])
    assert not math.isnan(one_nonzero["diff_lo"])  # differences 0, 0, 1 are not all identical


def test_relative_change_nan_when_reference_mean_is_zero() -> None:
    row = paired_differences(_frame({"a": [-1.0, 1.0, -2.0, 2.0], "b": [0.0, 2.0, -1.5, 3.0]}), ["x"]).iloc[0]
    assert row["mean_reference"] == 0.0
    assert math.isnan(row["relative_change"])
    assert row["diff_mean"] == pytest.approx(0.875)


def test_pairing_uses_point_and_replication_not_row_order() -> None:
    rng = np.random.default_rng(11)
    frames = []
    for point, level in ((0, 10.0), (1, 1000.0)):
        ref = level + rng.normal(0.0, level / 10, size=8)
        frames.append(
            _frame({"base": list(ref), "reform": list(ref + 1.0 + rng.normal(0, 0.2, 8))}, point=point)
        )
    df = pd.concat(frames, ignore_index=True)
    df["y"] = df["x"] ** 0.5
    expected = paired_differences(df, ["x", "y"])
    shuffled = df.sample(frac=1.0, random_state=5).reset_index(drop=True)
    # The default reference is the first scenario *in order of appearance*, so name it after shuffling.
    pd.testing.assert_frame_equal(paired_differences(shuffled, ["x", "y"], reference="base"), expected)
    x = expected[expected["kpi"] == "x"].set_index("point")
    # Mixing the points would produce differences of about ±1000, not about 1.
    assert x.loc[0, "diff_mean"] == pytest.approx(1.0, abs=0.3)
    assert x.loc[1, "diff_mean"] == pytest.approx(1.0, abs=0.3)


def test_unpaired_and_nan_rows_are_dropped() -> None:
    df = _frame({"base": [1.0, 2.0, 3.0, 4.0], "reform": [2.0, 4.0, 5.0, np.nan, 100.0]})
    # reform replication 4 has no partner; replication 3 is NaN; also drop base replication 0.
    df = df[~((df["scenario"] == "base") & (df["replication"] == 0))]
    row = paired_differences(df, ["x"]).iloc[0]
    assert row["n_pairs"] == 2  # replications 1 and 2
    assert row["mean_reference"] == pytest.approx(2.5)
    assert row["mean_scenario"] == pytest.approx(4.5)
    assert row["diff_mean"] == pytest.approx(2.0)


def test_reference_choice_seed_and_determinism() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(5.0, 1.0, 9)
    df = _frame(
        {"base": list(base), "reform": list(base + rng.normal(0.5, 0.3, 9)), "other": list(base * 1.1)}
    )
    default = paired_differences(df, ["x"])
    assert list(default["scenario"]) == ["reform", "other"]
    assert set(default["reference"]) == {"base"}
    flipped = paired_differences(df, ["x"], reference="reform")
    assert list(flipped["scenario"]) == ["base", "other"]
    b = flipped.iloc[0]
    a = default.iloc[0]
    assert b["diff_mean"] == pytest.approx(-a["diff_mean"])
    assert b["wilcoxon_p"] == pytest.approx(a["wilcoxon_p"])
    pd.testing.assert_frame_equal(
        paired_differences(df, ["x"], seed=4), paired_differences(df, ["x"], seed=4)
    )
    other_seed = paired_differences(df, ["x"], seed=5).iloc[0]
    assert (other_seed["diff_lo"], other_seed["diff_hi"]) != (a["diff_lo"], a["diff_hi"])
    # The interval is scipy's percentile bootstrap of the mean difference with default_rng(seed).
    d = df[df["scenario"] == "reform"]["x"].to_numpy() - base
    ci = sps.bootstrap(
        (d,), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(0)
    ).confidence_interval
    assert (a["diff_lo"], a["diff_hi"]) == pytest.approx((ci.low, ci.high))


def test_pairing_errors() -> None:
    df = _frame({"a": [1.0, 2.0], "b": [1.0, 2.0]})
    with pytest.raises(ValueError, match="reference"):
        paired_differences(df, ["x"], reference="missing")
    with pytest.raises(ValueError, match="unique"):
        paired_differences(pd.concat([df, df.iloc[[0]]]), ["x"])


# --- replication_advice and warnings_for -----------------------------------------------------


def test_replication_advice_matches_brute_force() -> None:
    n, m, s = 5, 40.0, 6.0
    df = _frame({"reform": list(m + s * _standardised(n))})
    row = replication_advice(df, ["x"], rel_half_width=0.05).iloc[0]
    h = sps.t.ppf(0.975, n - 1) * s / math.sqrt(n) / m
    assert row["n"] == n and row["mean"] == pytest.approx(m)
    assert row["rel_half_width"] == pytest.approx(h)
    assert not row["enough"]
    needed = _brute_needed(s, m, 0.05)
    assert row["needed"] == needed
    assert row["more"] == needed - n
    assert needed > n


def test_replication_advice_enough_and_other_levels() -> None:
    n, m, s = 20, -100.0, 2.0  # a negative mean uses |m|
    df = _frame({"a": list(m + s * _standardised(n))})
    row = replication_advice(df, ["x"], rel_half_width=0.05, level=0.99).iloc[0]
    assert row["enough"]
    assert row["more"] == 0
    assert row["needed"] == _brute_needed(s, m, 0.05, level=0.99)
    assert row["needed"] <= n
    tight = replication_advice(df, ["x"], rel_half_width=0.001, level=0.99).iloc[0]
    assert not tight["enough"]
    assert tight["needed"] == _brute_needed(s, m, 0.001, level=0.99)


def test_enough_agrees_with_needed_on_many_cases() -> None:
    rng = np.random.default_rng(9)
    for _ in range(40):
        n = int(rng.integers(2, 30))
        vals = rng.normal(10.0, rng.uniform(0.1, 3.0), n)
        row = replication_advice(_frame({"a": list(vals)}), ["x"], rel_half_width=0.05).iloc[0]
        assert row["enough"] == (row["needed"] <= n)
        assert row["more"] == max(row["needed"] - n, 0)


def test_replication_advice_degenerate_cases() -> None:
    df = _frame(
        {"one": [3.0, np.nan], "zero": [-1.0, 1.0], "flat": [2.0, 2.0, 2.0], "wild": [1e-6, -1e-6 + 1e-9]}
    )
    out = replication_advice(df, ["x"]).set_index("scenario")
    for scen in ("one", "zero"):
        assert not out.loc[scen, "enough"]
        for col in ("needed", "more", "rel_half_width"):
            assert out[col].isna()[scen], (scen, col)
    assert out.loc["one", "n"] == 1
    assert out.loc["flat", "enough"] and out.loc["flat", "needed"] == 2 and out.loc["flat", "more"] == 0
    assert out.loc["wild", "needed"] == MAX_NEEDED
    assert not out.loc["wild", "enough"]


def test_warnings_one_line_per_insufficient_row() -> None:
    n, m, s = 5, 40.0, 6.0
    df = _frame({"reform": list(m + s * _standardised(n)), "calm": list(m + 0.1 * _standardised(n))})
    advice = replication_advice(df, ["x"], rel_half_width=0.05)
    lines = warnings_for(advice)
    assert len(lines) == 1
    h = sps.t.ppf(0.975, n - 1) * s / math.sqrt(n) / m
    more = _brute_needed(s, m, 0.05) - n
    assert lines[0] == (
        f"reform, x: 5 replications give a 95% interval of ±{h * 100:.1f}% of the mean; "
        f"about {more} more would give ±5%."
    )
    assert warnings_for(advice[advice["enough"]]) == []
    two_kpis = df.assign(y=df["x"])
    assert len(warnings_for(replication_advice(two_kpis, ["x", "y"]))) == 2


def test_warnings_use_level_target_and_points() -> None:
    df = pd.concat([_frame({"a": [10.0, 12.0, 9.0]}, point=0), _frame({"a": [10.0, 12.0, 9.0]}, point=2)])
    advice = replication_advice(df, ["x"], rel_half_width=0.025, level=0.9)
    lines = warnings_for(advice)
    assert [line.split(":")[0] for line in lines] == ["a, point 0, x", "a, point 2, x"]
    assert all("90% interval" in line and line.endswith("would give ±2.5%.") for line in lines)
    stripped = advice.copy()
    stripped.attrs = {}
    with pytest.raises(ValueError):
        warnings_for(stripped)
    assert warnings_for(stripped, level=0.9, rel_half_width=0.025) == lines


def test_warnings_for_undefined_and_capped_rows() -> None:
    df = _frame({"one": [3.0], "zero": [-1.0, 1.0], "wild": [1e-6, -1e-6 + 1e-9]})
    lines = warnings_for(replication_advice(df, ["x"]))
    assert len(lines) == 3
    assert lines[0].startswith("one, x: only 1 replication with a value")
    assert lines[1].startswith("zero, x: the mean is 0")
    assert lines[2].endswith(f"at least {MAX_NEEDED - 2} more would be needed for ±5%.")
