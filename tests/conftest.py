"""Shared fixtures: small real runs reused across tests (module-scoped to keep the suite fast)."""

from __future__ import annotations

import pytest

import sim

SMALL = {"population.residents": 20_000}


@pytest.fixture(scope="session")
def baseline_run() -> sim.RunResult:
    """Baseline on a 20,000-resident town for 200 days."""
    return sim.run("baseline", seed=11, days=200, overrides=SMALL)


@pytest.fixture(scope="session")
def reform_run() -> sim.RunResult:
    """Reform on the same town, seed and horizon."""
    return sim.run("reform", seed=11, days=200, overrides=SMALL)
