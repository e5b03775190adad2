"""benchmarks/profile_run.py: its account of the time inside the compiled kernels (the
times themselves are a benchmark, not a test)."""

from __future__ import annotations

import pytest

import sim
from tests.conftest import benchmark_script


def test_the_kernels_are_named_as_the_profiler_names_their_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel called through numba's dispatcher is known by its Python function's code, one
    called at its machine code (the flow's, :class:`sim.core.jit.Pinned`) by its name."""
    script = benchmark_script("profile_run", monkeypatch)
    sim.run("baseline", days=3, overrides={"population.residents": 3000})  # loads every module
    codes, names = script.kernels()
    assert "sim.core.mechanisms.flow.run_day" in names
    assert "sim.core.ledger_select.due" in names
    assert any(path.endswith("ledger_select.py") and name == "due" for path, _, name in codes)
    # a kernel another module imports (the flow takes the ledger's ``warm``) is named once, at home
    assert "sim.core.ledger_flow.warm" in names and "sim.core.mechanisms.flow.warm" not in names


def test_a_profiled_run_counts_the_flow_and_the_ledgers_queries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels' own seconds come from both kinds of call, and are a part of the run's."""
    script = benchmark_script("profile_run", monkeypatch)
    params = sim.load_scenario("baseline", overrides={"population.residents": 3000})
    sim.run(params, seed=0, days=3)  # compiles or loads the kernels outside the profile
    total, parts, inside = script.profiled(params, 30)
    assert {"flow.run_day", "ledger_select.due", "discovery._find"} <= set(inside)
    assert all(seconds > 0.0 for seconds in inside.values())
    assert list(inside.values()) == sorted(inside.values(), reverse=True)
    assert 0.0 < sum(inside.values()) < total
    assert inside["flow.run_day"] <= parts["day: case_flow"]
