"""Shared fixtures: small real runs reused across tests (module-scoped to keep the suite fast)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

import sim

SMALL = {"population.residents": 20_000}

REFERENCE = "town"
"""The context the mechanism tests run on: the built-in assumptions, which a recalibration
does not move (the shipped scenarios run on the calibrated context, whose values change
with every `govsim calibrate`). Under the calibrated context some effects differ: its short
patience closes many baseline cases unresolved, which changes the mix of resolved cases."""

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium, for the browser tests (installed by .ci/run)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for a closed network: no background connections, no sandbox as root."""


@pytest.fixture(scope="session")
def baseline_run() -> sim.RunResult:
    """Baseline on a 20,000-resident town for 200 days."""
    return sim.run("baseline", seed=11, days=200, overrides=SMALL)


@pytest.fixture(scope="session")
def reform_run() -> sim.RunResult:
    """Reform on the same town, seed and horizon."""
    return sim.run("reform", seed=11, days=200, overrides=SMALL)


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def benchmark_script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The script ``benchmarks/<name>.py`` loaded as a module, with its folder on the path
    as when it is run (for the scripts that import one another)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
