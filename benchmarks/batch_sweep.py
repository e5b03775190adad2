"""Benchmark: a sweep of 200 town-scale runs (190,000 residents, 365 days each).

Runs ``experiments/benchmark_sweep.yaml`` on local processes into a fresh temporary store
and prints runs per minute, the peak memory of each worker process, and the parent
process's resident memory after the first tenth and after all runs (it must not grow
with the number of runs: the parent only keeps small status records).

    python benchmarks/batch_sweep.py [--workers N] [--design FILE]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

import sim.experiments.results
from sim.experiments.batch import run_batch
from sim.experiments.design import expand, load_design


def rss_mb() -> float:
    """Current resident memory of this process (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--design", default=str(Path(__file__).resolve().parents[1] / "experiments" / "benchmark_sweep.yaml")
    )
    args = ap.parse_args()
    design = load_design(args.design)
    n = len(expand(design))
    samples: dict[int, float] = {}
    done = 0

    def progress(_: dict) -> None:
        nonlocal done
        done += 1
        if done in (max(1, n // 10), n):
            samples[done] = rss_mb()

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = run_batch(design, out=tmp, workers=args.workers, progress=progress)
        wall = time.perf_counter() - t0
        runs = sim.experiments.results.open(tmp).runs
    per_worker = runs["peak_rss_mb"].astype(float)
    print(f"design {design.name}: {n} runs, {report.ok} ok, {report.failed} failed, {args.workers} workers")
    print(
        f"wall {wall:.0f} s, {report.ok / wall * 60:.1f} runs per minute, "
        f"mean run {pd.to_numeric(runs['seconds']).mean():.2f} s"
    )
    print(f"peak memory per worker: max {per_worker.max():.0f} MB, median {per_worker.median():.0f} MB")
    first, last = min(samples), max(samples)
    print(
        f"parent memory: {samples[first]:.0f} MB after {first} runs, {samples[last]:.0f} MB after {last} runs"
    )


if __name__ == "__main__":
    main()
