"""Benchmark: one Wujiang-scale county-year (about 1.5M residents, 8 towns, 365 days).

Prints wall time, peak memory (max RSS of this process) and cases per second for each
scenario given. Run:  python benchmarks/county_year.py [SCENARIO ...]
The first model run in a fresh environment also compiles the numba kernels (cached
afterwards); a warm-up run on a tiny context absorbs that before timing.
"""

from __future__ import annotations

import resource
import sys
import time

import sim


def main(scenarios: list[str]) -> None:
    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT
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
    main(sys.argv[1:] or ["baseline", "reform"])
