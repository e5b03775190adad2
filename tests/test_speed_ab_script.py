"""benchmarks/speed_ab.py: its worker times what it says, the whole run, the case flow
inside it or one act of the day, at the context's size or another (short runs; the A/B
itself is a benchmark, not a test)."""

from __future__ import annotations

import argparse
import json

import pytest

from tests.conftest import benchmark_script


@pytest.fixture
def ab(monkeypatch: pytest.MonkeyPatch):
    import sim.core.mechanisms.flow as flow
    from sim.core.mechanisms.closure import Closure
    from sim.core.mechanisms.discovery import Discovery

    # the worker wraps these (the flow's Pinned, the acts' methods); undone after each test
    monkeypatch.setattr(flow, "Pinned", flow.Pinned)
    monkeypatch.setattr(Discovery, "step", Discovery.step)
    monkeypatch.setattr(Closure, "step", Closure.step)
    return benchmark_script("speed_ab", monkeypatch)


def _args(**kw: object) -> argparse.Namespace:
    base = dict(scenario="baseline", context=None, residents=0, days=8, reps=2, clock="wall", part="run")
    return argparse.Namespace(**{**base, **kw})


@pytest.mark.parametrize("part", ["run", "flow", "discovery"])
def test_the_worker_prints_one_time_per_run(ab, part: str, capsys) -> None:
    ab.worker(_args(part=part))
    times = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(times) == 2 and all(0 < t < 60 for t in times)


@pytest.mark.parametrize("part", ["flow", "closure"])
def test_a_parts_time_is_part_of_the_run(ab, part: str, capsys) -> None:
    common = dict(scenario="reform", days=20, reps=1, clock="cpu")
    ab.worker(_args(**common, part=part))
    ab.worker(_args(**common, part="run"))
    part_t, run_t = (json.loads(line)[0] for line in capsys.readouterr().out.strip().splitlines()[-2:])
    assert 0 < part_t < run_t


def test_the_flows_time_is_its_kernels_past_numbas_dispatcher(ab, capsys) -> None:
    """With ``--part flow`` the flow still calls its compiled kernel's machine code (its
    ``Pinned`` finds it), not numba's dispatcher, which would type the flow's state of
    about a hundred arrays on every call and time that too."""
    import sim
    import sim.core.mechanisms.flow as flow
    from sim.core.jit import Pinned
    from sim.core.model import GovModel

    ab.worker(_args(part="flow", days=3, reps=1))
    assert flow.Pinned is not Pinned and issubclass(flow.Pinned, Pinned)
    model = GovModel(sim.load_scenario("baseline", overrides={"population.residents": 3000}), days=3)
    for _ in range(3):
        model.step()
    pinned = model.mechanisms["flow"]._run_day
    assert isinstance(pinned, flow.Pinned)
    (compiled,) = flow.run_day.overloads.values()
    assert pinned._entry is compiled.entry_point  # the machine code, not the dispatcher


def test_residents_runs_the_context_at_that_size(ab, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import sim

    sizes: list[int] = []
    run = sim.run

    def seen(params, *a, **k):  # type: ignore[no-untyped-def]
        sizes.append(params.population.residents)
        return run(params, *a, **k)

    monkeypatch.setattr(sim, "run", seen)
    ab.worker(_args(residents=3_000, days=3, reps=1))
    default = sim.load_scenario("baseline").population.residents
    assert sizes == [3_000, 3_000] and default != 3_000
