"""The model reduced to an M/M/c queue reproduces Erlang C."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.core.validation import erlang_c, mmc_mean_time_in_system, mmc_scenario


def test_erlang_c_known_values() -> None:
    # M/M/1: P(wait) = rho; textbook M/M/2 with a = 1: C = 1/3
    assert erlang_c(3, 4, 1) == pytest.approx(0.75)
    assert erlang_c(1, 1, 2) == pytest.approx(1 / 3)
    assert mmc_mean_time_in_system(3, 4, 1) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        erlang_c(5, 1, 4)


@pytest.mark.parametrize(("lam", "mu", "c"), [(60.0, 8.0, 10), (20.0, 6.0, 4)])
def test_mmc_mean_time_in_system(lam: float, mu: float, c: int) -> None:
    """The mean time in system over three replications of 1,500 days (one replication's
    mean wanders by about 3% at the heavier load) is within 4% of Erlang C's."""
    means = []
    for seed in (5, 6, 7):
        res = sim.run(mmc_scenario(lam, mu, c), seed=seed, days=1500)
        cases = res.cases
        warm = cases[(cases["occurred_at"] > 100) & cases["resolved_at"].notna()]
        means.append((warm["resolved_at"] - warm["occurred_at"]).mean())
        assert res.summary["tier_share_department"] == 1.0
        assert res.summary["cases_dropped"] == 0 and res.summary["bounces_per_case"] == 0
        # arrivals are Poisson at rate lambda
        assert len(cases) / 1500 == pytest.approx(lam, rel=0.02)
    assert np.mean(means) == pytest.approx(mmc_mean_time_in_system(lam, mu, c), rel=0.04)


def test_mmc_utilisation_matches_offered_load() -> None:
    res = sim.run(mmc_scenario(30.0, 5.0, 8), seed=2, days=800)
    util = res.daily["utilisation_department"].iloc[50:].mean()
    assert util == pytest.approx(30.0 / (5.0 * 8), rel=0.05)
