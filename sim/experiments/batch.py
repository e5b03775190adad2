"""Running an experiment design: sequentially, in local processes, or on a Dask cluster.

Each run is done by :func:`execute`, in whatever process the backend chooses: it runs
the model, writes the run's tables to the store atomically and writes its
``status.json`` last (ok, or failed with the error and traceback). The parent only
collects small status records, so its memory does not grow with the number of runs.
Runs are seeded from the design, so results are the same whichever backend runs them
and however many workers it has. Running the same design again resumes: finished runs
(verified by their file hashes) are skipped, everything else is run again.
"""

from __future__ import annotations

import concurrent.futures as cf
import resource
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import sim
from sim.experiments.design import (
    Design,
    design_hash,
    expand,
    load_design,
    run_overrides,
    scenario_key,
    to_json,
)
from sim.experiments.store import STATUS, Store, atomic_write_json, atomic_write_parquet, git_commit


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs (picklable, sent to workers)."""

    store: str
    run_id: str
    scenario: str
    context: str | None
    overrides: dict[str, Any]
    seed: int
    days: int
    point: int
    replication: int
    kpis: tuple[str, ...]
    keep_daily: bool
    keep_cases: bool


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run one design row and store its results; never raises for a model failure."""
    store = Store(spec.store)
    folder = store.run_dir(spec.run_id)
    store.clear_run(spec.run_id)
    started, t0 = _now(), time.perf_counter()
    keys = {
        "run_id": spec.run_id,
        "scenario": Path(spec.scenario).stem,
        "point": spec.point,
        "replication": spec.replication,
        "seed": spec.seed,
    }
    status: dict[str, Any] = {**keys, "started_at": started}
    try:
        res = sim.run(
            spec.scenario, seed=spec.seed, days=spec.days, context=spec.context, overrides=spec.overrides
        )
        files = {}
        summary = res.summary[list(spec.kpis)].to_frame().T.reset_index(drop=True)
        summary = pd.concat([pd.DataFrame([keys]), summary], axis=1)
        files["summary.parquet"] = atomic_write_parquet(folder / "summary.parquet", summary)
        if spec.keep_daily:
            daily = res.daily.assign(run_id=spec.run_id)
            files["daily.parquet"] = atomic_write_parquet(folder / "daily.parquet", daily)
        if spec.keep_cases:
            cases = res.cases.assign(run_id=spec.run_id)
            files["cases.parquet"] = atomic_write_parquet(folder / "cases.parquet", cases)
        status.update(status="ok", files=files)
    except Exception as exc:  # a failed run is data: record it and let the batch go on
        status.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    status.update(
        finished_at=_now(),
        seconds=round(time.perf_counter() - t0, 3),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    atomic_write_json(folder / STATUS, status)
    return status


@dataclass
class BatchReport:
    """What a batch did."""

    store: Path
    total: int
    skipped: int
    ok: int
    failed: int
    seconds: float
    failures: list[dict[str, Any]]


def plan(design: Design, store: Store) -> list[RunSpec]:
    """The runs of a design, in design order."""
    given = {scenario_key(s): s for s in design.scenarios}
    return [
        RunSpec(
            store=str(store.root),
            run_id=row["run_id"],
            scenario=given[row["scenario"]],
            context=design.context,
            overrides=run_overrides(design, row),
            seed=int(row["seed"]),
            days=design.days,
            point=int(row["point"]),
            replication=int(row["replication"]),
            kpis=design.kpis,
            keep_daily=design.keep.daily,
            keep_cases=design.keep.cases,
        )
        for row in expand(design).to_dict("records")
    ]


def run_batch(
    design: Design | str | Path,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    local_cluster: bool = False,
    fresh: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Run (or resume) a design.

    Args:
        design: a :class:`Design` or the path of a design file.
        out: the store folder (default ``results/<design name>``).
        workers: processes (1 runs in this process; with ``local_cluster``, Dask workers).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``).
        local_cluster: start a Dask LocalCluster of ``workers`` processes.
        fresh: discard earlier results in the store.
        progress: called with each finished run's status.
        on_plan: called with (runs to do, runs already finished) before starting.
    """
    d = design if isinstance(design, Design) else load_design(design)
    store = Store(out or Path("results") / d.name)
    digest = design_hash(d)
    table = expand(d)
    store.prepare(to_json(d), table, digest, fresh)
    specs = plan(d, store)
    todo = [s for s in specs if not store.finished(s.run_id)]
    if on_plan is not None:
        on_plan(len(todo), len(specs) - len(todo))
    seeds = replication_seed_list(table)
    manifest: dict[str, Any] = {
        "experiment": d.name,
        "package_version": sim.__version__,
        "git_commit": git_commit(),
        "design_hash": digest,
        "root_seed": d.seed,
        "replication_seeds": seeds,
        "runs": len(specs),
        "started_at": _now(),
        "status": "running",
        "backend": _backend_name(workers, scheduler, local_cluster),
    }
    store.write_manifest(manifest)
    t0 = time.perf_counter()
    failures: list[dict[str, Any]] = []
    ok = 0
    for st in _map(todo, workers, scheduler, local_cluster):
        if st["status"] == "ok":
            ok += 1
        else:
            failures.append({k: st[k] for k in ("run_id", "error")})
        if progress is not None:
            progress(st)
    seconds = time.perf_counter() - t0
    statuses = [store.status(s.run_id) or {} for s in specs]
    manifest.update(
        status="complete" if not failures else "complete_with_failures",
        finished_at=_now(),
        seconds=round(seconds, 3),
        run_status={s.run_id: st.get("status", "missing") for s, st in zip(specs, statuses, strict=True)},
        run_seconds={s.run_id: st.get("seconds") for s, st in zip(specs, statuses, strict=True)},
    )
    store.write_manifest(manifest)
    return BatchReport(store.root, len(specs), len(specs) - len(todo), ok, len(failures), seconds, failures)


def replication_seed_list(table: Any) -> list[int]:
    """The replication seeds of a design table, by replication."""
    first = table.drop_duplicates("replication").sort_values("replication")
    return [int(x) for x in np.asarray(first["seed"])]


def _backend_name(workers: int, scheduler: str | None, local_cluster: bool) -> str:
    if scheduler:
        return f"dask:{scheduler}"
    if local_cluster:
        return f"dask-local:{workers}"
    return "sequential" if workers <= 1 else f"processes:{workers}"


def _map(
    specs: list[RunSpec], workers: int, scheduler: str | None, local_cluster: bool
) -> Iterable[dict[str, Any]]:
    """Run specs on the chosen backend, yielding statuses as runs finish."""
    if not specs:
        return
    if scheduler or local_cluster:
        yield from _dask(specs, workers, scheduler)
    elif workers <= 1:
        yield from map(execute, specs)
    else:
        with cf.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(execute, s) for s in specs]
            for fut in cf.as_completed(futures):
                yield fut.result()


def _dask(specs: list[RunSpec], workers: int, scheduler: str | None) -> Iterable[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = [client.submit(execute, s, key=f"govsim-{s.run_id}-{s.seed}", pure=False) for s in specs]
        for fut in as_completed(futures):
            yield fut.result()
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
