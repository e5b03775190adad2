"""Sampling designs and sensitivity analysis (sim.experiments.sensitivity) on analytic test functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami

from sim.experiments.sensitivity import Factor, SampleMethod, analyze, full_factorial, sample

Fit = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # (X, Y, analysis)

LINEAR = [Factor("x1", 0.0, 1.0), Factor("x2", 0.0, 1.0), Factor("x3", 0.0, 1.0)]
MIXED = [
    Factor("grid.patrollers_per_grid", 1, 6, integer=True),
    Factor("dispatch.misroute_probability", 0.0, 0.3),
]
ISHIGAMI = [Factor(f"x{i}", -np.pi, np.pi) for i in (1, 2, 3)]


def linear(X: pd.DataFrame) -> pd.DataFrame:
    """Y = 10*x1 + 1*x2 + 0*x3, no noise, as a one-KPI frame."""
    return pd.DataFrame({"y": 10 * X["x1"] + 1 * X["x2"] + 0 * X["x3"]})


def pick(res: pd.DataFrame, factor: str, index: str, kpi: str = "y", col: str = "value") -> float:
    """One value of a tidy result frame."""
    row = res[(res["kpi"] == kpi) & (res["factor"] == factor) & (res["index"] == index)]
    assert len(row) == 1
    return float(row[col].iloc[0])


# --- sampling ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["latin_hypercube", "sobol", "morris"])
def test_sample_deterministic_for_seed_and_differs_across_seeds(method: SampleMethod) -> None:
    a = sample(MIXED, method, 8, seed=3)
    b = sample(MIXED, method, 8, seed=3)
    c = sample(MIXED, method, 8, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert not np.allclose(a["dispatch.misroute_probability"], c["dispatch.misroute_probability"])


@pytest.mark.parametrize(
    ("method", "n", "rows"),
    [("latin_hypercube", 10, 10), ("sobol", 16, 16 * (3 + 2)), ("morris", 7, 7 * (3 + 1))],
)
def test_sample_size_and_columns(method: SampleMethod, n: int, rows: int) -> None:
    X = sample(LINEAR, method, n, seed=1)
    assert X.shape == (rows, 3)
    assert list(X.columns) == ["x1", "x2", "x3"]
    assert isinstance(X.index, pd.RangeIndex)


@pytest.mark.parametrize("method", ["latin_hypercube", "sobol", "morris"])
def test_sample_within_bounds(method: SampleMethod) -> None:
    factors = [Factor("a", -2.5, 7.0), Factor("b", 100.0, 100.5), *MIXED]
    X = sample(factors, method, 32, seed=5)
    for f in factors:
        assert X[f.name].min() >= f.low
        assert X[f.name].max() <= f.high
        assert X[f.name].nunique() > 1


@pytest.mark.parametrize("method", ["latin_hypercube", "sobol", "morris"])
def test_integer_factor_is_rounded(method: SampleMethod) -> None:
    X = sample(MIXED, method, 64, seed=2)
    k = X["grid.patrollers_per_grid"]
    assert k.dtype == np.int64
    assert set(k.unique()) <= set(range(1, 7))
    if method != "morris":  # Morris uses a 4-level grid: only 4 of the 6 values appear
        assert set(k.unique()) == set(range(1, 7))
    assert X["dispatch.misroute_probability"].dtype == np.float64
    assert (X["dispatch.misroute_probability"] % 1 != 0).any()


def test_integer_rounding_is_nearest() -> None:
    # Morris levels of [0, 1] are 0, 1/3, 2/3, 1: nearest integers 0, 0, 1, 1
    raw = sample([Factor("k", 0, 1), Factor("z", 0, 1)], "morris", 50, seed=0)
    rounded = sample([Factor("k", 0, 1, integer=True), Factor("z", 0, 1)], "morris", 50, seed=0)
    assert set(np.round(raw["k"], 6)) == {0.0, round(1 / 3, 6), round(2 / 3, 6), 1.0}
    np.testing.assert_array_equal(rounded["k"], (raw["k"] > 0.5).astype(int))
    np.testing.assert_array_equal(rounded["z"], raw["z"])


@pytest.mark.parametrize(
    ("factors", "match"),
    [
        ([], "at least one factor"),
        ([Factor("bad.range", 1.0, 1.0)], "'bad.range'.*low < high"),
        ([Factor("bad.range", 2.0, 1.0)], "'bad.range'.*low < high"),
        ([Factor("nan.range", float("nan"), 1.0)], "'nan.range'"),
        ([Factor("a", 0, 1), Factor("a", 0, 2)], "'a'.*more than once"),
        ([Factor("frac.int", 0.5, 4, integer=True)], "'frac.int'.*whole-number"),
    ],
)
def test_sample_rejects_bad_factors(factors: list[Factor], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sample(factors, "latin_hypercube", 4, seed=0)


@pytest.mark.parametrize("n", [0, -4])
def test_sample_rejects_nonpositive_n(n: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample(LINEAR, "latin_hypercube", n, seed=0)


@pytest.mark.parametrize("n", [3, 6, 100, 1000])
def test_sobol_requires_power_of_two(n: int) -> None:
    with pytest.raises(ValueError, match="power of 2"):
        sample(LINEAR, "sobol", n, seed=0)
    assert len(sample(LINEAR, "sobol", 4, seed=0)) == 4 * 5  # and accepts one


def test_sample_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown sampling method"):
        sample(LINEAR, "grid", 4, seed=0)  # type: ignore[arg-type]


# --- full factorial ---------------------------------------------------------------------------


def test_full_factorial_order_and_size() -> None:
    X = full_factorial({"a": [1, 2], "b": ["x", "y", "z"], "c": [0.1, 0.2]})
    assert list(X.columns) == ["a", "b", "c"]
    assert len(X) == 2 * 3 * 2
    assert list(X["a"]) == [1] * 6 + [2] * 6  # first factor varies slowest
    assert list(X["b"]) == ["x", "x", "y", "y", "z", "z"] * 2
    assert list(X["c"]) == [0.1, 0.2] * 6  # last factor varies fastest
    assert X.iloc[7].tolist() == [2, "x", 0.2]
    assert not X.duplicated().any()
    assert X["a"].dtype == np.int64


def test_full_factorial_single_factor_and_errors() -> None:
    assert full_factorial({"only": [3, 1, 2]})["only"].tolist() == [3, 1, 2]
    with pytest.raises(ValueError, match="at least one factor"):
        full_factorial({})
    with pytest.raises(ValueError, match="'b' has no levels"):
        full_factorial({"a": [1], "b": []})
    with pytest.raises(ValueError, match="'s'.*not a string"):
        full_factorial({"s": "abc"})


# --- analysis ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sobol_linear() -> Fit:
    X = sample(LINEAR, "sobol", 512, seed=7)
    Y = linear(X)
    return X, Y, analyze(LINEAR, "sobol", X, Y, seed=1)


def test_sobol_linear_ranks_factors(sobol_linear: Fit) -> None:
    _, _, res = sobol_linear
    assert list(res.columns) == ["kpi", "factor", "index", "value", "conf"]
    assert len(res) == 3 * 2
    assert set(res["index"]) == {"S1", "ST"}
    st = {f: pick(res, f, "ST") for f in ("x1", "x2", "x3")}
    assert max(st, key=st.__getitem__) == "x1"
    assert st["x1"] > st["x2"] > st["x3"]
    assert abs(st["x3"]) < 0.05
    assert pick(res, "x1", "S1") > 0.8
    # analytic: Var = 100/12 + 1/12, so S1 = ST = 100/101 for x1 and 1/101 for x2
    assert pick(res, "x1", "S1") == pytest.approx(100 / 101, abs=0.05)
    assert pick(res, "x2", "ST") == pytest.approx(1 / 101, abs=0.02)
    assert (res["conf"] >= 0).all()
    assert res["conf"].notna().all()


def test_sobol_analysis_deterministic_for_seed(
    sobol_linear: Fit,
) -> None:
    X, Y, res = sobol_linear
    pd.testing.assert_frame_equal(analyze(LINEAR, "sobol", X, Y, seed=1), res)
    # seed=0 is deterministic too (SALib alone would use the global NumPy state for it)
    pd.testing.assert_frame_equal(analyze(LINEAR, "sobol", X, Y), analyze(LINEAR, "sobol", X, Y))
    other = analyze(LINEAR, "sobol", X, Y, seed=2)
    pd.testing.assert_series_equal(other["value"], res["value"])  # point estimates don't use the seed
    assert not np.allclose(other["conf"], res["conf"])  # bootstrap does


def test_sobol_wider_interval_at_higher_level(
    sobol_linear: Fit,
) -> None:
    X, Y, res = sobol_linear
    wide = analyze(LINEAR, "sobol", X, Y, seed=1, level=0.99)
    varying = res["factor"] != "x3"  # x3 has no effect at all: a zero-width interval at any level
    assert (wide["conf"][varying] > res["conf"][varying]).all()
    assert (wide["conf"][~varying] == 0).all()


def test_morris_linear_ranks_factors() -> None:
    X = sample(LINEAR, "morris", 20, seed=3)
    res = analyze(LINEAR, "morris", X, linear(X), seed=1)
    assert len(res) == 3 * 3
    assert set(res["index"]) == {"mu_star", "sigma", "mu"}
    mu_star = {f: pick(res, f, "mu_star") for f in ("x1", "x2", "x3")}
    assert mu_star["x1"] > mu_star["x2"] > mu_star["x3"]
    assert mu_star["x3"] == pytest.approx(0.0, abs=1e-9)
    # a linear function has constant elementary effects: its coefficient times the range
    assert mu_star["x1"] == pytest.approx(10.0)
    assert mu_star["x2"] == pytest.approx(1.0)
    assert pick(res, "x1", "mu") == pytest.approx(10.0)
    assert pick(res, "x1", "sigma") == pytest.approx(0.0, abs=1e-9)
    assert res[res["index"] != "mu_star"]["conf"].isna().all()
    assert res[res["index"] == "mu_star"]["conf"].notna().all()
    pd.testing.assert_frame_equal(analyze(LINEAR, "morris", X, linear(X), seed=1), res)


def test_ishigami_sobol_first_order() -> None:
    X = sample(ISHIGAMI, "sobol", 1024, seed=11)
    Y = pd.DataFrame({"ishigami": Ishigami.evaluate(X.to_numpy())})
    res = analyze(ISHIGAMI, "sobol", X, Y, seed=1)
    known = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
    for f, s1 in known.items():
        assert pick(res, f, "S1", kpi="ishigami") == pytest.approx(s1, abs=0.1)
    # x3 acts only through its interaction with x1: ST(x3) ≈ 0.244
    assert pick(res, "x3", "ST", kpi="ishigami") == pytest.approx(0.2437, abs=0.1)


def test_analyze_several_kpis_in_column_order() -> None:
    X = sample(LINEAR, "morris", 10, seed=0)
    Y = pd.DataFrame({"b": 3 * X["x3"], "a": linear(X)["y"]})
    res = analyze(LINEAR, "morris", X, Y)
    assert list(dict.fromkeys(res["kpi"])) == ["b", "a"]
    assert list(res["factor"][:3]) == ["x1"] * 3
    assert pick(res, "x3", "mu_star", kpi="b") == pytest.approx(3.0)


def test_analyze_uses_rounded_integer_factors() -> None:
    factors = [Factor("k", 0, 3, integer=True), Factor("z", 0.0, 1.0)]
    X = sample(factors, "morris", 12, seed=4)
    Y = pd.DataFrame({"y": 2.0 * X["k"] + X["z"]})
    res = analyze(factors, "morris", X, Y)
    assert pick(res, "k", "mu_star") == pytest.approx(6.0)  # 2 per unit over a range of 3
    assert pick(res, "z", "mu_star") == pytest.approx(1.0)


def test_constant_kpi_gives_nan_sobol_indices(
    sobol_linear: Fit,
) -> None:
    X, Y, _ = sobol_linear
    res = analyze(LINEAR, "sobol", X, Y.assign(flat=4.0))
    assert res[res["kpi"] == "flat"]["value"].isna().all()
    assert res[res["kpi"] == "y"]["value"].notna().all()


def test_analyze_rejects_nan_in_y(sobol_linear: Fit) -> None:
    X, Y, _ = sobol_linear
    bad = Y.assign(wait_days=Y["y"])
    bad.loc[[3, 40, 41], "wait_days"] = np.nan
    with pytest.raises(ValueError, match=r"'wait_days' has 3 NaN"):
        analyze(LINEAR, "sobol", X, bad)
    Xm = sample(LINEAR, "morris", 4, seed=0)
    Ym = linear(Xm)
    Ym.loc[0, "y"] = np.nan
    with pytest.raises(ValueError, match=r"'y' has 1 NaN"):
        analyze(LINEAR, "morris", Xm, Ym)


def test_analyze_rejects_mismatched_rows(sobol_linear: Fit) -> None:
    X, Y, _ = sobol_linear
    with pytest.raises(ValueError, match="rows"):
        analyze(LINEAR, "sobol", X, Y.iloc[:-1])
    with pytest.raises(ValueError, match="multiple of 5"):
        analyze(LINEAR, "sobol", X.iloc[:-1], Y.iloc[:-1])


def test_analyze_rejects_wrong_design(sobol_linear: Fit) -> None:
    X, Y, _ = sobol_linear
    shuffled = X.sample(frac=1.0, random_state=0).reset_index(drop=True)
    with pytest.raises(ValueError, match="SALib's row order"):
        analyze(LINEAR, "sobol", shuffled, Y)
    Xm = sample(LINEAR, "morris", 5, seed=0)  # 20 rows: also a multiple of D + 2 = 5
    with pytest.raises(ValueError, match="Sobol"):
        analyze(LINEAR, "sobol", Xm, linear(Xm))
    with pytest.raises(ValueError, match="Morris"):
        analyze(LINEAR, "morris", Xm.sample(frac=1.0, random_state=1).reset_index(drop=True), linear(Xm))
    with pytest.raises(ValueError, match="x3"):
        analyze(LINEAR, "sobol", X.drop(columns="x3"), Y)


def test_analyze_rejects_bad_arguments(sobol_linear: Fit) -> None:
    X, Y, _ = sobol_linear
    with pytest.raises(ValueError, match="level"):
        analyze(LINEAR, "sobol", X, Y, level=1.0)
    with pytest.raises(ValueError, match="unknown analysis method"):
        analyze(LINEAR, "latin_hypercube", X, Y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'x2'.*low < high"):
        analyze([LINEAR[0], Factor("x2", 1.0, 0.0), LINEAR[2]], "sobol", X, Y)
