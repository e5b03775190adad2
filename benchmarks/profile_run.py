"""Benchmark: where one run's time goes, by daily step and by result-building step.

Runs one scenario (after a warm-up run that loads the compiled kernels) and prints the
seconds of each act of the day (``sim.core.model.DAY_ORDER``), of building the model,
and of the result tables and KPIs. By default under cProfile (cumulative seconds; times
under the profiler are somewhat above plain ones, more so for steps of many small Python
calls: compare them as shares), and then the run's time inside the compiled kernels
(numba) that Python calls, each kernel's own: the part of the run that no change to the
Python around them can take away (the profiler adds little to a kernel's call, which is
long). With ``--plain``, each part is timed with a clock around it instead, no profiler,
and the fastest of ``--runs`` runs is shown. With ``--kernels``, plain runs and profiled
runs in turn: the time inside the compiled kernels (the least of the profiled runs')
against the whole run's (the fastest plain run's).

    python benchmarks/profile_run.py [SCENARIO] [--context wujiang] [--days 365]
        [--plain | --kernels] [--runs 3]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from numba.core.dispatcher import Dispatcher

import sim
import sim.core.runner as runner
from sim.core.model import DAY_ORDER, GovModel

TABLES = (
    ("the daily table", "daily_table"),
    ("the case table", "case_table"),
    ("the summary (KPIs)", "summary"),
)
"""The result-building steps: label, and the function's name in ``sim.core.runner``."""


def kernels() -> tuple[set[tuple[str, int, str]], set[str]]:
    """The compiled kernels of the loaded ``sim`` modules, as cProfile names their calls:
    by their Python function's code (file, first line, name) when called through numba's
    dispatcher, and by module and name (``sim.core.x.f``) when called at their machine
    code (:class:`sim.core.jit.Pinned`)."""
    codes, names = set(), set()
    for module in [m for name, m in sys.modules.items() if name.startswith("sim.")]:
        for value in vars(module).values():
            if isinstance(value, Dispatcher) and value.py_func.__module__ == module.__name__:
                code = value.py_func.__code__
                codes.add((code.co_filename, code.co_firstlineno, code.co_name))
                names.add(f"{module.__name__}.{code.co_name}")
    return codes, names


def in_kernels(stats: dict[Any, Any]) -> dict[str, float]:
    """Each compiled kernel's own seconds in a profile's ``stats`` (those called from Python;
    a kernel that another calls is timed within its caller), largest first."""
    codes, names = kernels()
    out: dict[str, float] = {}
    for (path, line, name), (_cc, _nc, tt, _ct, _callers) in stats.items():
        qualified = name.removeprefix("<built-in method ").removesuffix(">")
        if (path, line, name) in codes or (path == "~" and qualified in names):
            label = ".".join(qualified.split(".")[-2:]) if path == "~" else f"{Path(path).stem}.{name}"
            out[label] = out.get(label, 0.0) + tt
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def profiled(params: Any, days: int) -> tuple[float, dict[str, float], dict[str, float]]:
    """One run under cProfile: its time, each part's cumulative seconds, and each compiled
    kernel's own seconds (:func:`in_kernels`)."""
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
    parts = {label: cum.get(k, 0.0) for label, k in keys.items()}
    return cum.get(("runner.py", "run"), 0.0), parts, in_kernels(stats)


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


def show_kernels(compiled: dict[str, float], total: float, of: str) -> None:
    """Print the seconds inside compiled kernels (:func:`in_kernels`), in all and each
    kernel's of at least 0.05 % of ``total``, the run's seconds (``of`` says which)."""
    inside = sum(compiled.values())
    print(f"inside compiled kernels called from Python: {inside:.2f} s ({inside / total:.0%} of {of})")
    for label, seconds in compiled.items():
        if seconds >= 0.0005 * total:
            print(f"  {label:28s} {seconds:6.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="reform")
    ap.add_argument("--context", default="wujiang")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--plain", action="store_true", help="time each part with a clock, no profiler")
    ap.add_argument(
        "--kernels",
        action="store_true",
        help="the seconds inside compiled kernels (the least of --runs profiled runs) against the "
        "run's (the fastest of --runs plain runs, taken in turn with them)",
    )
    ap.add_argument("--runs", type=int, default=3, help="with --plain or --kernels: runs, the fastest shown")
    args = ap.parse_args()
    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT
    params = sim.load_scenario(args.scenario, context=args.context)
    n = max(args.runs, 1)
    head = f"{args.scenario} on {args.context}, {args.days} days"
    if args.kernels:
        walls, inside = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            sim.run(params, seed=0, days=args.days)
            walls.append(time.perf_counter() - t0)
            inside.append(profiled(params, args.days)[2])
        print(f"{head}: {min(walls):.2f} s, the fastest of {n} runs, timed plainly")
        least = min(inside, key=lambda k: sum(k.values()))
        show_kernels(least, min(walls), "that run; the least of as many profiled runs")
        return
    if args.plain:
        total, parts, _ = min((plain(params, args.days) for _ in range(n)), key=lambda r: r[0])
        print(f"{head}: {total:.2f} s, the fastest of {n} runs, timed plainly")
    else:
        total, parts, compiled = profiled(params, args.days)
        print(f"{head}: {total:.2f} s under the profiler")
    for label, seconds in parts.items():
        print(f"  {label:28s} {seconds:6.2f} s")
    if not args.plain:
        show_kernels(compiled, total, "the profiled run")


if __name__ == "__main__":
    main()
