"""benchmarks/engine_equality.py: its statistics on synthetic KPIs with known differences (no model runs)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "engine_equality.py"


@pytest.fixture(scope="module")
def eq():
    spec = importlib.util.spec_from_file_location("engine_equality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def long(values: dict[tuple[str, str], list[float]], seeds: list[int] | None = None) -> pd.DataFrame:
    rows = [
        (scenario, seed, kpi, v)
        for (scenario, kpi), vs in values.items()
        for seed, v in zip(seeds or range(len(vs)), vs, strict=True)
    ]
    return pd.DataFrame(rows, columns=["scenario", "seed", "kpi", "value"])


def test_identical_runs_give_exact_zeros(eq):
    x = [0.71, 0.74, 0.69, 0.73, 0.70]
    r = eq.compare_kpi(x, list(x))
    assert r["identical"] == 1 and r["n"] == 5
    assert r["diff_mean"] == 0 and r["diff_lo"] == 0 and r["diff_hi"] == 0 and r["rel_diff"] == 0
    assert r["significant"] == 0 and r["differs"] == 0
    assert r["welch_lo"] < 0 < r["welch_hi"]  # unpaired: the seeds' spread, not 0


def test_known_shift_matches_scipy_and_is_flagged(eq):
    rng = np.random.default_rng(3)
    old = 10 + rng.normal(0, 1, 8)
    new = old + 1.0 + np.array([0.1, -0.1, 0.05, -0.05, 0.2, -0.2, 0.0, 0.0])  # shift 1.0 exactly on average
    r = eq.compare_kpi(old, new)
    assert r["diff_mean"] == pytest.approx(1.0)
    assert r["rel_diff"] == pytest.approx(1.0 / old.mean())
    paired = stats.ttest_rel(new, old).confidence_interval(0.95)
    welch = stats.ttest_ind(new, old, equal_var=False).confidence_interval(0.95)
    assert (r["diff_lo"], r["diff_hi"]) == pytest.approx((paired.low, paired.high))
    assert (r["welch_lo"], r["welch_hi"]) == pytest.approx((welch.low, welch.high))
    assert r["diff_sd"] == pytest.approx(np.std(new - old, ddof=1))
    assert r["corr"] > 0.9
    assert r["significant"] == 1 and r["differs"] == 1 and r["identical"] == 0


def test_small_significant_difference_is_not_flagged(eq):
    old = np.array([100.0, 104.0, 98.0, 101.0, 97.0])
    new = old * 1.01 + np.array([0.01, -0.01, 0.0, 0.02, -0.02])  # +1 %, very consistent
    r = eq.compare_kpi(old, new, tolerance=0.02)
    assert r["significant"] == 1 and r["differs"] == 0
    assert eq.compare_kpi(old, new, tolerance=0.005)["differs"] == 1


def test_large_noisy_difference_is_not_significant(eq):
    old = np.array([1.0, 5.0, 2.0, 6.0, 3.0])
    new = np.array([6.0, 1.0, 5.0, 2.0, 4.0])  # +8 % on average, but noise
    r = eq.compare_kpi(old, new)
    assert abs(r["rel_diff"]) > 0.02
    assert r["diff_lo"] < 0 < r["diff_hi"]
    assert r["significant"] == 0 and r["differs"] == 0


def test_welch_test_for_independent_engines(eq):
    rng = np.random.default_rng(7)
    old, new = rng.normal(50, 1, 10), rng.normal(55, 1, 10)  # independent draws: no common randomness
    r = eq.compare_kpi(old, new, test="welch")
    assert r["welch_lo"] < 5 < r["welch_hi"] and r["welch_lo"] > 0
    assert r["differs"] == 1


def test_constant_kpi_that_moves_is_flagged(eq):
    r = eq.compare_kpi([7.0, 7.0, 7.0], [7.5, 7.5, 7.5])  # deterministic KPI: sd 0, interval a point
    assert (r["diff_lo"], r["diff_hi"]) == (0.5, 0.5)
    assert r["differs"] == 1


def test_compare_pairs_by_seed_drops_missing_and_notes_one_sided_kpis(eq):
    old = long(
        {
            ("baseline", "delay"): [2.0, 3.0, 4.0, np.nan],
            ("baseline", "count"): [0.0, 0.0, 0.0, 0.0],
            ("baseline", "gone"): [1.0, 1.0, 1.0, 1.0],
            ("reform", "delay"): [1.0, 1.5, 2.0, 2.5],
        }
    )
    new = long(
        {
            ("baseline", "delay"): [5.0, 4.0, 3.0, 9.0],  # seeds 3, 2, 1, 0
            ("baseline", "count"): [0.0, 0.0, 1.0, 0.0],
            ("baseline", "added"): [1.0, 1.0, 1.0, 1.0],
            ("reform", "delay"): [2.5, 2.0, 1.5, 1.0],  # the old values, seeds 3..0
        },
        seeds=[3, 2, 1, 0],
    )
    t = eq.compare(old, new.sample(frac=1, random_state=1)).set_index(["scenario", "kpi"])
    assert list(t.columns) == list(eq.COLUMNS[2:])
    delay = t.loc[("baseline", "delay")]
    assert delay["n"] == 3  # seed 3 is missing in the old tree: seeds 0..2 pair 2, 3, 4 with 9, 3, 4
    assert delay["old_mean"] == 3.0 and delay["new_mean"] == pytest.approx(16 / 3)
    assert delay["diff_mean"] == pytest.approx(7 / 3) and delay["diff_sd"] == pytest.approx(
        np.std([7, 0, 0], ddof=1)
    )
    count = t.loc[("baseline", "count")]
    assert count["rel_diff"] == 1.0  # old mean 0: relative to the new mean
    assert t.loc[("baseline", "gone"), "note"] == "only in old" and t.loc[("baseline", "gone"), "n"] == 0
    assert (
        t.loc[("baseline", "added"), "note"] == "only in new"
        and t.loc[("baseline", "added"), "identical"] == 0
    )
    assert t.loc[("reform", "delay"), "identical"] == 1
    assert "**≠**" not in eq.markdown(t.reset_index().head(1))
