"""benchmarks/speed_ab.py: its worker times what it says, the whole run, the case flow
inside it or one act of the day (short runs; the A/B itself is a benchmark, not a test)."""

from __future__ import annotations

import argparse
import json

import pytest

from tests.conftest import benchmark_script


@pytest.fixture
def ab(monkeypatch: pytest.MonkeyPatch):
    return benchmark_script("speed_ab", monkeypatch)


@pytest.mark.parametrize("part", ["run", "flow", "discovery"])
def test_the_worker_prints_one_time_per_run(ab, part: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.core.mechanisms.flow as flow
    from sim.core.mechanisms.discovery import Discovery

    monkeypatch.setattr(flow, "run_day", flow.run_day)  # the worker wraps them; undone after
    monkeypatch.setattr(Discovery, "step", Discovery.step)
    args = argparse.Namespace(scenario="baseline", context=None, days=8, reps=2, clock="wall", part=part)
    ab.worker(args)
    times = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(times) == 2 and all(0 < t < 60 for t in times)


@pytest.mark.parametrize("part", ["flow", "closure"])
def test_a_parts_time_is_part_of_the_run(ab, part: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim.core.mechanisms.flow as flow
    from sim.core.mechanisms.closure import Closure

    monkeypatch.setattr(flow, "run_day", flow.run_day)
    monkeypatch.setattr(Closure, "step", Closure.step)
    common = dict(scenario="reform", context=None, days=20, reps=1, clock="cpu")
    ab.worker(argparse.Namespace(**common, part=part))
    ab.worker(argparse.Namespace(**common, part="run"))
    part_t, run_t = (json.loads(line)[0] for line in capsys.readouterr().out.strip().splitlines()[-2:])
    assert 0 < part_t < run_t
