"""Batches on Dask in chunks (several runs per task): same results, per-run failures, resumption."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas.testing as pdt
import pytest

import sim.experiments.results
from sim.errors import GovsimError
from sim.experiments.batch import _salvage, check_chunk, chunk_size, chunks, run_batch, run_chunk
from sim.experiments.runs import RunSpec, execute

TINY = """
name: tiny
scenarios: [baseline, reform]
days: 10
replications: 2
seed: 5
overrides: {population.residents: 6000}
parameters:
  grid.patrollers_per_grid: {values: [1, 2]}
kpis: [tier_share_grid, delay_total_mean_days, cases_created]
"""


def _design(tmp_path: Path, text: str = TINY) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(text)
    return p


def _spec(store: Path, run_id: str, residents: int = 6000, days: int = 5) -> RunSpec:
    return RunSpec(
        store=str(store),
        design_hash="h",
        run_id=run_id,
        scenario="baseline",
        context=None,
        overrides={"population.residents": residents},
        seed=1,
        days=days,
        warmup=0,
        point=0,
        replication=0,
        kpis=("cases_created",),
        keep_daily=False,
        keep_cases=False,
        timeout=0,
    )


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """One local Dask cluster (2 workers) for the batches of a test: started once."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_chunked_results_equal_unchunked_and_resume_skips_finished_runs(
    tmp_path: Path, scheduler: str
) -> None:
    d = _design(tmp_path)
    one = run_batch(d, out=tmp_path / "one", workers=2, scheduler=scheduler, chunk=1)
    seen: list[dict[str, Any]] = []
    three = run_batch(
        d, out=tmp_path / "three", workers=2, scheduler=scheduler, chunk=3, progress=seen.append
    )
    assert one.ok == three.ok == 8 and one.failed == three.failed == 0
    assert sorted(st["run_id"] for st in seen) == sorted(f.name for f in (three.store / "runs").iterdir())
    a, b = sim.experiments.results.open(one.store), sim.experiments.results.open(three.store)
    pdt.assert_frame_equal(a.summaries, b.summaries)
    pdt.assert_frame_equal(a.daily, b.daily)
    # resuming: a run that lost its status is the only one run again
    lost = sorted((three.store / "runs").iterdir())[5]
    (lost / "status.json").unlink()
    again = run_batch(d, out=three.store, workers=2, scheduler=scheduler, chunk=3)
    assert (again.skipped, again.ok, again.failed) == (7, 1, 0)
    pdt.assert_frame_equal(a.summaries, sim.experiments.results.open(three.store).summaries)


def test_a_failing_run_in_a_chunk_is_recorded_and_the_others_land(tmp_path: Path) -> None:
    text = TINY.replace(
        "grid.patrollers_per_grid: {values: [1, 2]}", "population.residents: {values: [6000, 5]}"
    )
    report = run_batch(_design(tmp_path, text), out=tmp_path / "r", workers=1, local_cluster=True, chunk=8)
    assert report.ok == 4 and report.failed == 4
    res = sim.experiments.results.open(tmp_path / "r")
    failed = res.runs[res.runs["status"] == "failed"]
    assert len(failed) == 4 and failed["error"].str.contains("population.residents").all()
    assert len(res.summaries) == 4 and set(res.summaries["run_id"]) == set(res.runs["run_id"]) - set(
        failed["run_id"]
    )
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["status"] == "complete_with_failures"


def _raise_for_b(spec: RunSpec) -> dict[str, Any]:
    if spec.run_id == "b":
        raise OSError("disk full")
    return execute(spec)


def test_run_chunk_records_a_run_that_raises_and_goes_on(tmp_path: Path) -> None:
    specs = [_spec(tmp_path, r) for r in ("a", "b", "c")]
    statuses = run_chunk(_raise_for_b, specs)
    assert [st["status"] for st in statuses] == ["ok", "failed", "ok"]
    assert statuses[1]["error"] == "OSError: disk full"
    on_disk = json.loads((tmp_path / "runs" / "b" / "status.json").read_text())
    assert on_disk["status"] == "failed"


def test_a_lost_chunk_keeps_its_finished_runs(tmp_path: Path) -> None:
    done, lost = _spec(tmp_path, "done"), _spec(tmp_path, "lost")
    execute(done)
    statuses = _salvage([done, lost], RuntimeError("worker died"))
    assert [st["status"] for st in statuses] == ["ok", "failed"]
    assert (
        statuses[1]["error"].startswith("RuntimeError: the Dask task")
        and "worker died" in statuses[1]["error"]
    )


def _die_on_b(spec: RunSpec) -> dict[str, Any]:
    if spec.run_id == "b":
        os._exit(1)  # a crash that takes the worker with it
    return execute(spec)


def test_a_run_that_kills_its_worker_fails_and_its_chunks_finished_runs_stay(tmp_path: Path) -> None:
    import cloudpickle
    import dask
    from dask.distributed import Client, LocalCluster

    from sim.experiments.batch import _DaskCompleted

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import this file
    specs = [_spec(tmp_path, r) for r in ("a", "b", "c", "d")]
    try:
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),  # KilledWorker at once
            LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            statuses = {st["run_id"]: st for st in _DaskCompleted(client, 2).map(_die_on_b, specs)}
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    # a finished before b killed the worker of their chunk: kept. c and d are run again
    # if their chunk went down with it; Dask may still count them killers if they shared
    # the one worker with b when it died (as it would without chunks)
    assert set(statuses) == {"a", "b", "c", "d"}
    assert statuses["a"]["status"] == "ok" and statuses["b"]["status"] == "failed"
    assert all(st["error"].startswith("KilledWorker") for st in statuses.values() if st["status"] != "ok")
    assert json.loads((tmp_path / "runs" / "b" / "status.json").read_text())["status"] == "failed"


def test_auto_chunk_size(tmp_path: Path) -> None:
    town_year = _spec(tmp_path, "t", residents=190_000, days=365)
    county_year = _spec(tmp_path, "c", residents=1_500_000, days=365)
    short = _spec(tmp_path, "s", residents=6000, days=10)
    assert chunk_size([town_year] * 200, workers=2) == 7  # capped by size (~7 town-years)
    assert chunk_size([town_year] * 20, workers=2) == 3  # 4 tasks per worker
    assert chunk_size([county_year] * 200, workers=2) == 1
    assert chunk_size([short] * 8, workers=2) == 1
    assert chunk_size([short] * 1000, workers=2) == 125
    assert chunk_size([short] * 10, workers=2, chunk=4) == 4
    assert [len(c) for c in chunks([replace(short, run_id=str(i)) for i in range(10)], 4)] == [4, 4, 2]


@pytest.mark.parametrize("bad", ["0", "-1", "x", "1.5"])
def test_bad_chunk_is_refused(bad: str) -> None:
    with pytest.raises(GovsimError, match="--chunk"):
        check_chunk(bad)


def test_batch_cli_refuses_a_bad_chunk(tmp_path: Path) -> None:
    d = _design(tmp_path)
    cmd = [sys.executable, "-m", "sim", "batch", str(d), "--cluster", "local", "--chunk", "zero"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 2 and "--chunk" in out.stderr and len(out.stderr.strip().splitlines()) == 1
