"""Benchmark: where one run's time goes, by daily step and by result-building step.

Runs one scenario under cProfile (after a warm-up run that loads the compiled kernels)
and prints the cumulative seconds of each act of the day (``sim.core.model.DAY_ORDER``),
of building the model, and of the result tables and KPIs. Times under the profiler are
somewhat above plain ones; compare them as shares.

    python benchmarks/profile_run.py [SCENARIO] [--context wujiang] [--days 365]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

import sim
from sim.core.model import DAY_ORDER


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="reform")
    ap.add_argument("--context", default="wujiang")
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT
    params = sim.load_scenario(args.scenario, context=args.context)
    prof = cProfile.Profile()
    prof.enable()
    sim.run(params, seed=0, days=args.days)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    cum: dict[tuple[str, str], float] = {}
    for (path, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        key = (path.rsplit("/", 1)[-1], name)
        cum[key] = cum.get(key, 0.0) + ct
    total = cum.get(("runner.py", "run"), 0.0)
    print(f"{args.scenario} on {args.context}, {args.days} days: {total:.2f} s under the profiler")
    rows = [("building the model", ("model.py", "__init__"))]
    for act in DAY_ORDER:  # the model's own acts are in model.py, each mechanism's in its module
        rows.append((f"day: {act.name}", (f"{act.owner}.py", act.method)))
    rows += [
        ("the case table", ("output.py", "case_table")),
        ("the daily table", ("output.py", "daily_table")),
        ("the summary (KPIs)", ("metrics.py", "summary")),
    ]
    for label, key in rows:
        print(f"  {label:28s} {cum.get(key, 0.0):6.2f} s")


if __name__ == "__main__":
    main()
