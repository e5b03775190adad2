"""Whether the model's compiled code is cached, and the line that says it will compile first."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

import sim.core.mechanisms
from sim.cli import app
from sim.cli.base import COMPILING
from sim.core.jit import cached
from tests.test_calibration import TINY

runner = CliRunner()

KERNEL = """
from numba import njit


@njit(cache=True)
def plus_one(x):
    return x + 1
"""


def _module(folder: Path, name: str) -> ModuleType:
    """Import ``folder/name.py`` afresh (a new module object, new dispatchers)."""
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cached_follows_numbas_disk_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not cached before the first call; cached in the process after it, and on disk for a
    fresh import of the same source; not cached once the source changes."""
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "kernel_cache_probe.py").write_text(KERNEL)
    first = _module(tmp_path, "kernel_cache_probe")
    assert not cached(first.plus_one)
    assert first.plus_one(1) == 2
    assert cached(first.plus_one)
    again = _module(tmp_path, "kernel_cache_probe")
    assert not again.plus_one.overloads  # nothing compiled in this module object yet
    assert cached(again.plus_one)  # but numba's index on disk has it
    (tmp_path / "kernel_cache_probe.py").write_text(KERNEL.replace("x + 1", "x + 2"))
    changed = _module(tmp_path, "kernel_cache_probe")
    assert not cached(changed.plus_one)
    sys.modules.pop("kernel_cache_probe", None)


def test_a_plain_function_needs_no_compiling_and_an_uncached_kernel_always_does() -> None:
    from numba import njit

    assert cached(len)
    uncached = njit(lambda x: x + 1)
    assert not cached(uncached)
    assert uncached(1) == 2 and cached(uncached)  # compiled in this process now


def test_numba_internals_that_changed_do_not_fail_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "kernel_cache_other.py").write_text(KERNEL)
    fn = _module(tmp_path, "kernel_cache_other").plus_one
    monkeypatch.setattr(fn, "_cache", object())  # a cache without the internals it reads
    assert cached(fn)
    sys.modules.pop("kernel_cache_other", None)


def test_the_model_is_cached_once_it_has_run(tmp_path: Path) -> None:
    """After a run in this process every kernel :func:`compiled` checks is compiled."""
    args = ["run", "reform", "--days", "3", "--set", "population.residents=3000", "--out", str(tmp_path)]
    assert runner.invoke(app, args).exit_code == 0
    from sim.core.mechanisms.discovery import _find
    from sim.core.mechanisms.flow import run_day
    from sim.core.mechanisms.one_window_rounds import run_rounds

    assert all(f.overloads for f in (run_day, run_rounds, _find))
    assert sim.core.mechanisms.compiled()


@pytest.mark.parametrize("is_cached", [False, True])
def test_run_says_it_compiles_first_only_when_it_will(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, is_cached: bool
) -> None:
    monkeypatch.setattr(sim.core.mechanisms, "compiled", lambda: is_cached)
    args = ["run", "reform", "--days", "3", "--set", "population.residents=3000", "--out", str(tmp_path)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert (COMPILING in res.stderr) is not is_cached
    assert res.stderr.count(COMPILING) <= 1


def test_batch_says_it_compiles_first_when_it_has_runs_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once, when the batch has runs to do; not when it resumes with none left, nor before
    an error about its input (a refused batch says only why)."""
    monkeypatch.setattr(sim.core.mechanisms, "compiled", lambda: False)
    design = tmp_path / "tiny.yaml"
    design.write_text(
        "name: tiny\nscenarios: [baseline]\ndays: 3\nreplications: 1\n"
        "overrides: {population.residents: 3000}\n"
    )
    out = ["--out", str(tmp_path / "r"), "--workers", "1"]
    res = runner.invoke(app, ["batch", str(design), *out])
    assert res.exit_code == 0, res.output
    assert res.stderr.count(COMPILING) == 1
    resumed = runner.invoke(app, ["batch", str(design), *out])  # nothing left to run
    assert resumed.exit_code == 0 and COMPILING not in resumed.stderr, resumed.stderr
    design.write_text(design.read_text().replace("days: 3", "days: 4"))
    refused = runner.invoke(app, ["batch", str(design), *out])  # the folder holds another design
    assert refused.exit_code == 2, refused.output
    assert COMPILING not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr


def test_the_dashboard_says_it_compiles_first(monkeypatch: pytest.MonkeyPatch) -> None:
    dash_app = pytest.importorskip("sim.presentation.dashboard.app")
    monkeypatch.setattr(sim.core.mechanisms, "compiled", lambda: False)
    monkeypatch.setattr(dash_app, "serve", lambda on_ready, **_: on_ready("http://127.0.0.1:1"))
    res = runner.invoke(app, ["dashboard"])
    assert res.exit_code == 0, res.output
    assert res.stderr.count(COMPILING) == 1 and "http://127.0.0.1:1" in res.stdout


def test_attribute_says_it_compiles_first_only_once_its_input_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not before a refusal found only when the coalitions are counted; once, when the
    runs begin."""
    monkeypatch.setattr(sim.core.mechanisms, "compiled", lambda: False)
    tiny = ["--days", "2", "--set", "population.residents=2000", "--out", str(tmp_path)]
    refused = runner.invoke(app, ["attribute", "baseline", "reform", "--reps", "5000", *tiny])
    assert refused.exit_code == 2 and COMPILING not in refused.stderr, refused.stderr
    separation = tmp_path / "separation.yaml"
    separation.write_text("extends: baseline\nname: separation\ngrid:\n  separation: true\n")
    args = ["attribute", "baseline", str(separation), "--reps", "2", "--kpi", "cases_created", *tiny]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert res.stderr.count(COMPILING) == 1


def test_calibrate_says_it_compiles_first_when_a_stage_has_runs_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sim.core.mechanisms, "compiled", lambda: False)
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  - {id: approval, role: calibrate, reading: observation, metric: approval_days_mean, "
        "scenario: baseline, value: 3, tolerance: 1, source: x, denominator: a}\n"
    )
    (tmp_path / "cal.yaml").write_text(TINY)  # its screening: 8 short runs
    args = ["calibrate", str(tmp_path / "cal.yaml"), "--check", "--workers", "1"]
    args += ["--out", str(tmp_path / "out")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stderr.count(COMPILING) == 1
    again = runner.invoke(app, args)  # every run recorded: nothing to compile for
    assert again.exit_code == 0 and COMPILING not in again.stderr, again.stderr
