"""benchmarks/cold_start.py: the kernels' compile times it lists, and its table (the cold
and warm times themselves are a benchmark, not a test)."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import benchmark_script


def test_kernel_times_lists_the_models_kernels_slowest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    cold = benchmark_script("cold_start", monkeypatch)
    rows = cold.kernel_times("reform", 2)
    names = [name for name, _, _ in rows]
    assert "sim.core.mechanisms.flow.run_day" in names
    assert all(name.startswith("sim.core.") for name in names)
    assert all(total >= llvm >= 0.0 for _, total, llvm in rows)
    assert [total for _, total, _ in rows] == sorted((total for _, total, _ in rows), reverse=True)


def test_kernels_are_timed_in_a_cold_process_of_their_own(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--kernels N`` runs one more process, with a cache of its own, and prints its N
    slowest kernels as a table."""
    cold = benchmark_script("cold_start", monkeypatch)
    monkeypatch.setattr(cold, "timed", lambda cmd, env: 1.0)
    caches: list[str] = []
    rows = [["sim.core.mechanisms.flow.run_day", 40.0, 24.0], ["sim.core.x.y", 2.0, 1.0]]
    rows.append(["sim.core.z", 1.0, 0.5])

    def run(cmd: list[str], **kw: Any) -> Any:
        assert "--worker" in cmd and kw["env"]["NUMBA_CACHE_DIR"] not in caches
        caches.append(kw["env"]["NUMBA_CACHE_DIR"])
        return SimpleNamespace(stdout=json.dumps(rows) + "\n", returncode=0)

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(sys, "argv", ["cold_start.py", "--kernels", "2", "--days", "3"])
    cold.main()
    out = capsys.readouterr().out
    assert len(caches) == 1 and caches[0].endswith("numba-cache-kernels")
    assert "| sim.core.mechanisms.flow.run_day | 40.0 | 24.0 |" in out
    assert "| sim.core.x.y | 2.0 | 1.0 |" in out
    assert "sim.core.z" not in out
