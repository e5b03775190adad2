"""Benchmark: is the cost linear in cases? One year of each scenario on the Wujiang context
at several population sizes.

Each (scenario, size) runs in a fresh subprocess, so that its peak memory (max RSS of that
process) is its own; the subprocess first does a tiny warm-up run that loads (or, on a
fresh install, compiles) the numba kernels, then times one run. Sizes scale the number
of towns with the residents (``--residents-per-town``, default Wujiang's 1.5M / 8 =
187,500), so that a bigger county is more towns of the same kind rather than ever larger
towns and grids; ``--residents-per-town 0`` keeps the context's 8 towns at every size.

Prints a markdown table (residents, towns, cases, wall, cases/s, peak RSS) and, per
scenario and pooled, the least-squares line wall ≈ a + b·cases with R² and the largest
relative residual: with cost linear in cases the points lie on the line.

    python benchmarks/scaling.py [--sizes 0.2M,0.5M,1.5M,3M] [--days 365]
                                 [--scenarios baseline,reform] [--residents-per-town 187500]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WUJIANG_PER_TOWN = 1_500_000 // 8


def parse_size(text: str) -> int:
    """``0.2M``, ``500k`` or ``1500000`` as a number of residents."""
    t = text.strip().lower().replace("_", "")
    scale = {"m": 1_000_000, "k": 1_000}.get(t[-1:], 1)
    return int(round(float(t.rstrip("mk")) * scale))


def towns_for(residents: int, per_town: int) -> int | None:
    """Towns for a size (None: keep the context's)."""
    return max(1, round(residents / per_town)) if per_town > 0 else None


def child(scenario: str, residents: int, towns: int | None, days: int) -> None:
    """One timed run in this (fresh) process; prints a JSON record."""
    import sim

    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT or cache load
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    overrides: dict[str, int] = {"population.residents": residents}
    if towns is not None:
        overrides["population.towns"] = towns
    params = sim.load_scenario(scenario, context="wujiang", overrides=overrides)
    t0 = time.perf_counter()
    res = sim.run(params, seed=0, days=days)
    wall = time.perf_counter() - t0
    rec = {
        "scenario": scenario,
        "residents": params.population.residents,
        "towns": params.population.towns,
        "cases": len(res.cases),
        "wall": wall,
        "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "warm_gb": rss_before,
    }
    print("RESULT " + json.dumps(rec), flush=True)


def measure(scenario: str, residents: int, towns: int | None, days: int) -> dict:
    cmd = [sys.executable, __file__, "--child", scenario, str(residents), str(towns or 0), str(days)]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{scenario} at {residents:,}: exit {out.returncode}\n{out.stderr[-2000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def fit(recs: list[dict]) -> str:
    """The least-squares line wall = a + b·cases, R² and the largest relative residual."""
    x = np.array([r["cases"] for r in recs], dtype=float)
    y = np.array([r["wall"] for r in recs], dtype=float)
    if len(x) < 2 or np.ptp(x) == 0:
        return "too few sizes to fit"
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss_res, ss_tot = float(((y - pred) ** 2).sum()), float(((y - y.mean()) ** 2).sum())
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    worst = float(np.max(np.abs(y - pred) / y))
    return (
        f"wall ≈ {a:.3f} s + {b * 1e6:.3f} s per million cases  (R² = {r2:.4f}, "
        f"largest residual {worst:.1%} of wall, {len(x)} points)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="0.2M,0.5M,1.5M,3M", help="comma-separated residents (0.2M, 500k)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--scenarios", default="baseline,reform", help="comma-separated scenario names")
    ap.add_argument(
        "--residents-per-town",
        type=int,
        default=WUJIANG_PER_TOWN,
        help="towns = round(residents / this); 0 keeps the context's towns",
    )
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    print(f"one run per row, {args.days} days, seed 0, each in a fresh process (after a warm-up run)\n")
    print("| scenario | residents | towns | cases | wall s | cases/s | peak RSS GB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    recs: list[dict] = []
    for name in scenarios:
        for n in sizes:
            r = measure(name, n, towns_for(n, args.residents_per_town), args.days)
            recs.append(r)
            print(
                f"| {name} | {r['residents']:,} | {r['towns']} | {r['cases']:,} | {r['wall']:.2f} | "
                f"{r['cases'] / r['wall']:,.0f} | {r['peak_gb']:.2f} |",
                flush=True,
            )
    print()
    for name in scenarios:
        print(f"{name}: {fit([r for r in recs if r['scenario'] == name])}")
    if len(scenarios) > 1:
        print(f"pooled: {fit(recs)}")
    warm = max(r["warm_gb"] for r in recs)
    print(f"(peak RSS includes the interpreter, imports and warm-up: up to {warm:.2f} GB before the run)")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        _, _, scen, res_, towns_, days_ = sys.argv
        child(scen, int(res_), int(towns_) or None, int(days_))
    else:
        main()
