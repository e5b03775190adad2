"""Benchmark: one Wujiang-scale county-year (about 1.5M residents, 8 towns, 365 days).

Prints wall time, peak memory (max RSS of this process) and cases per second for each
scenario given. Run:  python benchmarks/county_year.py [SCENARIO ...] [--warm-memory GB]
The first model run in a fresh environment also compiles the numba kernels (cached
afterwards); a warm-up run on a tiny context absorbs that before timing.

``--warm-memory GB`` first writes and frees that much memory, timed. On a virtual machine
whose host backs guest memory only when it is first touched (this project's machine: a
few hundred MB/s for never-touched pages, against several GB/s for pages used before),
the run then reuses pages already backed, so the difference between the two timings is
the machine's cost of fresh memory, not the model's.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import sim


def main(scenarios: list[str], warm_gb: float) -> None:
    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT
    if warm_gb > 0:
        t0 = time.perf_counter()
        block = np.ones(int(warm_gb * 1024**3) // 8)
        del block
        print(f"memory warmed: {warm_gb:g} GB written and freed in {time.perf_counter() - t0:.1f} s")
    for name in scenarios:
        params = sim.load_scenario(name, context="wujiang")
        t0 = time.perf_counter()
        res = sim.run(params, seed=0, days=365)
        wall = time.perf_counter() - t0
        n = len(res.cases)
        peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        print(
            f"{name:10s} residents={params.population.residents:,} cases={n:,} "
            f"wall={wall:.1f}s peak_rss={peak_gb:.2f}GB cases_per_s={n / wall:,.0f}"
        )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=["baseline", "reform"])
    ap.add_argument("--warm-memory", type=float, default=0.0, metavar="GB")
    args = ap.parse_args()
    main(args.scenarios, args.warm_memory)
