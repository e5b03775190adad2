"""Benchmark: where one run's time goes, by daily step and by result-building step.

Runs one scenario (after a warm-up run that loads the compiled kernels) and prints the
seconds of each act of the day (``sim.core.model.DAY_ORDER``), of building the model,
and of the result tables and KPIs. By default under cProfile (cumulative seconds; times
under the profiler are somewhat above plain ones, more so for steps of many small Python
calls: compare them as shares). With ``--plain``, each part is timed with a clock around
it instead, no profiler, and the fastest of ``--runs`` runs is shown.

    python benchmarks/profile_run.py [SCENARIO] [--context wujiang] [--days 365]
        [--plain [--runs 3]]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from typing import Any

import sim
import sim.core.runner as runner
from sim.core.model import DAY_ORDER, GovModel

TABLES = (
    ("the daily table", "daily_table"),
    ("the case table", "case_table"),
    ("the summary (KPIs)", "summary"),
)
"""The result-building steps: label, and the function's name in ``sim.core.runner``."""


def profiled(params: Any, days: int) -> tuple[float, dict[str, float]]:
    """One run under cProfile: its time, and each part's cumulative seconds."""
    prof = cProfile.Profile()
    prof.enable()
    sim.run(params, seed=0, days=days)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    cum: dict[tuple[str, str], float] = {}
    for (path, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
        key = (path.rsplit("/", 1)[-1], name)
        cum[key] = cum.get(key, 0.0) + ct
    keys = {"building the model": ("model.py", "__init__")}
    for act in DAY_ORDER:  # the model's own acts are in model.py, each mechanism's in its module
        keys[f"day: {act.name}"] = (f"{act.owner}.py", act.method)
    keys.update({label: (f"{'metrics' if fn == 'summary' else 'output'}.py", fn) for label, fn in TABLES})
    return cum.get(("runner.py", "run"), 0.0), {label: cum.get(k, 0.0) for label, k in keys.items()}


def plain(params: Any, days: int) -> tuple[float, dict[str, float], int]:
    """One run with a clock around each part (the day's acts, the model's building, the
    tables): its time, each part's seconds, and its number of cases."""
    spent: dict[str, float] = {}

    def timed(label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*a, **k)
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
            return out

        return call

    init, step = GovModel.__init__, GovModel.step
    saved = {fn: getattr(runner, fn) for _, fn in TABLES}

    def stepped(model: GovModel) -> None:
        for act, fn in zip(DAY_ORDER, model._day, strict=True):
            timed(f"day: {act.name}", fn)(model.day)

    GovModel.__init__ = timed("building the model", init)  # type: ignore[method-assign]
    GovModel.step = stepped  # type: ignore[method-assign]
    for label, fn in TABLES:
        setattr(runner, fn, timed(label, saved[fn]))
    try:
        t0 = time.perf_counter()
        cases = len(sim.run(params, seed=0, days=days).cases)
        return time.perf_counter() - t0, spent, cases
    finally:
        GovModel.__init__, GovModel.step = init, step  # type: ignore[method-assign]
        for fn, f in saved.items():
            setattr(runner, fn, f)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="reform")
    ap.add_argument("--context", default="wujiang")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--plain", action="store_true", help="time each part with a clock, no profiler")
    ap.add_argument("--runs", type=int, default=3, help="with --plain: runs, the fastest shown")
    args = ap.parse_args()
    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT
    params = sim.load_scenario(args.scenario, context=args.context)
    if args.plain:
        runs = (plain(params, args.days) for _ in range(max(args.runs, 1)))
        total, parts, _ = min(runs, key=lambda r: r[0])
        how = f"{total:.2f} s, the fastest of {max(args.runs, 1)} runs, timed plainly"
    else:
        total, parts = profiled(params, args.days)
        how = f"{total:.2f} s under the profiler"
    print(f"{args.scenario} on {args.context}, {args.days} days: {how}")
    for label, seconds in parts.items():
        print(f"  {label:28s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
