"""Benchmark: the garbage collector's full passes during a worker's runs, with and without
:func:`sim.experiments.pool.settle`.

Runs ``--runs`` town-years (after one run that loads the compiled kernels, as a batch
worker's first run does) in a fresh process for each mode, and prints how many full
(generation 2) collections fell inside the runs and the seconds they took, from
``gc.callbacks``.

    python benchmarks/gc_passes.py [--scenario baseline] [--context town] [--runs 8]
        [--days 365] [--residents N]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time


def worker(
    scenario: str, context: str, runs: int, settled: bool, days: int = 365, residents: int = 0
) -> None:
    """Time the full collections inside ``runs`` runs; print (count, seconds, the runs'
    wall time) as JSON. ``residents``: the context's when 0."""
    import sim
    from sim.experiments.pool import settle

    size = {"population.residents": residents} if residents else None
    params = sim.load_scenario(scenario, context=context, overrides=size)
    sim.run(params, seed=0, days=days)
    if settled:
        settle()
    passes, spent, started = 0, 0.0, [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        nonlocal passes, spent
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            passes += 1
            spent += time.perf_counter() - started[0]

    gc.callbacks.append(watch)
    t0 = time.perf_counter()
    try:
        for seed in range(runs):
            sim.run(params, seed=seed, days=days)
    finally:
        gc.callbacks.remove(watch)
    print(json.dumps([passes, spent, time.perf_counter() - t0]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--context", default="town")
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--residents", type=int, default=0, help="the context's when 0")
    ap.add_argument("--worker", choices=("plain", "settled"))
    args = ap.parse_args()
    if args.worker:
        worker(args.scenario, args.context, args.runs, args.worker == "settled", args.days, args.residents)
        return
    print(f"{args.runs} runs of {args.scenario} on {args.context}, after one that loads the kernels:")
    for mode in ("plain", "settled"):
        what = ["--scenario", args.scenario, "--context", args.context, "--runs", str(args.runs)]
        what += ["--days", str(args.days), "--residents", str(args.residents)]
        out = subprocess.run(
            [sys.executable, __file__, "--worker", mode, *what], check=True, capture_output=True, text=True
        )
        passes, spent, wall = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {mode:8s} full collections {passes:3d}, {spent:.3f} s of the runs' {wall:.2f} s")


if __name__ == "__main__":
    main()
