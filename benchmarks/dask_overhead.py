"""Benchmark: the cost of a Dask task, and what chunking runs into tasks buys.

Starts one local Dask cluster (``--workers`` processes, one thread each, as
``govsim batch --cluster local`` does) and reuses it for every measurement, so that the
cluster's start-up (timed on its own) is not counted in the rest; a warm-up batch first
loads the model and its compiled kernels in every worker. Then:

1. *trivial tasks*: ``--tasks`` no-op tasks submitted at once; wall per task is the
   scheduling cost of a task (submit, send, run nothing, send back, collect).
2. *tiny runs*: a design of ``--tiny-runs`` very short runs (5,000 residents, 10 days)
   through :func:`sim.experiments.batch.run_batch`, one run per task and in ``auto``
   chunks: the difference is what the per-task cost amounts to in a batch.
3. *sweep*: ``experiments/benchmark_sweep.yaml`` (town-years; ``--replications`` and
   ``--days`` shrink it), unchunked, ``auto`` chunks and on local worker processes
   (the default backend) for comparison: runs per minute.

Each batch writes to a fresh temporary store. The implied cost of a task is
(wall unchunked − wall chunked) × workers / (tasks unchunked − tasks chunked).

    python benchmarks/dask_overhead.py [--workers 2] [--tasks 1000] [--tiny-runs 200]
                                       [--replications 10] [--days 365] [--skip-sweep]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.experiments.batch import chunk_size, plan, run_batch
from sim.experiments.design import Design, design_hash, expand, load_design
from sim.experiments.store import Store

SWEEP = Path(__file__).resolve().parents[1] / "experiments" / "benchmark_sweep.yaml"


def noop(i: int) -> dict[str, Any]:
    return {"i": i, "status": "ok"}


def tiny_design(runs: int) -> Design:
    reps = max(1, math.ceil(runs / 2))
    return Design(
        name="tiny_overhead",
        scenarios=("baseline", "reform"),
        days=10,
        replications=reps,
        seed=3,
        overrides={"population.residents": 5000},
        kpis=("cases_created", "delay_total_mean_days"),
        warmup=0,
    )


def n_tasks(design: Design, workers: int, chunk: int | str) -> int:
    """Tasks a batch of ``design`` makes with ``chunk`` (as run_batch would cut it)."""
    with tempfile.TemporaryDirectory() as tmp:
        specs = plan(design, Store(tmp), design_hash(design))
    return math.ceil(len(specs) / chunk_size(specs, workers, chunk))


def timed_batch(design: Design, **kw: Any) -> tuple[float, int, int]:
    """Wall seconds, ok and failed runs of a batch into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rep = run_batch(design, out=tmp, **kw)
        return time.perf_counter() - t0, rep.ok, rep.failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=1000, help="trivial tasks")
    ap.add_argument("--tiny-runs", type=int, default=200, help="runs of the tiny design")
    ap.add_argument("--replications", type=int, default=None, help="shrink the sweep (default: its 10)")
    ap.add_argument("--days", type=int, default=None, help="shorten the sweep's runs (default: its 365)")
    ap.add_argument("--skip-sweep", action="store_true")
    args = ap.parse_args()
    from dask.distributed import Client, LocalCluster, as_completed

    w = args.workers
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    startup = time.perf_counter() - t0
    rows: list[tuple[str, int, int, float, str]] = []  # what, runs, tasks, wall, rate
    try:
        addr = cluster.scheduler_address
        timed_batch(tiny_design(2 * w), scheduler=addr, workers=w, chunk=1)  # warm-up: imports, kernels

        t0 = time.perf_counter()
        futs = [client.submit(noop, i, pure=False) for i in range(args.tasks)]
        for f in as_completed(futs):
            f.result()
        wall = time.perf_counter() - t0
        del futs
        rows.append(("trivial tasks", 0, args.tasks, wall, f"{wall / args.tasks * 1e3:.2f} ms per task"))

        tiny = tiny_design(args.tiny_runs)
        n = len(expand(tiny))
        walls = {}
        for chunk in (1, "auto"):
            wall, ok, failed = timed_batch(tiny, scheduler=addr, workers=w, chunk=chunk)
            tasks = n_tasks(tiny, w, chunk)
            walls[chunk] = (wall, tasks)
            rows.append((f"tiny runs, chunk {chunk}", n, tasks, wall, f"{ok / wall * 60:.0f} runs/min"))
        (w1, t1), (wa, ta) = walls[1], walls["auto"]
        implied = (w1 - wa) * w / (t1 - ta) if t1 != ta else float("nan")

        if not args.skip_sweep:
            sweep = load_design(SWEEP)
            upd: dict[str, Any] = {}
            if args.replications:
                upd["replications"] = args.replications
            if args.days:
                upd["days"] = args.days
            sweep = sweep.model_copy(update=upd)
            n = len(expand(sweep))
            label = f"sweep ({sweep.days} d)"
            for chunk in (1, "auto"):
                wall, ok, failed = timed_batch(sweep, scheduler=addr, workers=w, chunk=chunk)
                rate = f"{ok / wall * 60:.1f} runs/min" + (f", {failed} failed" if failed else "")
                rows.append((f"{label}, dask chunk {chunk}", n, n_tasks(sweep, w, chunk), wall, rate))
    finally:
        client.close()
        cluster.close()
    if not args.skip_sweep:
        wall, ok, failed = timed_batch(sweep, workers=w)
        rows.append((f"{label}, local processes", n, n, wall, f"{ok / wall * 60:.1f} runs/min"))

    print(f"local Dask cluster: {w} workers × 1 thread, started in {startup:.1f} s (not counted below)\n")
    print("| what | runs | tasks | wall s | rate |")
    print("|---|---:|---:|---:|---|")
    for what, runs, tasks, wall, rate in rows:
        print(f"| {what} | {runs or '-'} | {tasks} | {wall:.2f} | {rate} |")
    print(f"\nimplied cost of a task in a batch (tiny runs, unchunked vs auto): {implied * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
