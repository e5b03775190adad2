"""Benchmark: the speed of this tree against another revision, in one sitting (A/B).

The machines here are shared and noisy: one timing of each revision, minutes apart, can
differ by 20 % for nothing. So this alternates: round after round, each revision runs
each scenario ``--reps`` times in a fresh subprocess (after a short warm-up run that loads
the compiled kernels), old then new, and the ratio new / old is taken of the medians of
all their runs, with the ratio of the minima beside it (the least disturbed runs).

    python benchmarks/speed_ab.py --base REV [--scenarios baseline,reform] [--context wujiang]
        [--residents N] [--days 365] [--rounds 4] [--reps 3] [--clock wall|cpu] [--part run|flow|ACT]

``--base`` is exported with ``git archive`` into a temporary folder (deleted afterwards)
and run with ``PYTHONPATH`` pointing at it; its numba kernels compile on its first run,
which the warm-up absorbs (about a minute). ``--part flow`` times only the compiled case
flow's calls (:func:`sim.core.mechanisms.flow.run_day`, called as the flow calls it, past
numba's dispatcher: :class:`sim.core.jit.Pinned`) inside the runs instead of the whole
``sim.run``; ``--part ACT``, an act of the day
(:data:`sim.core.model.DAY_ORDER`: ``discovery``, ``closure`` …), the calls of that act's
method (a mechanism's ``step``, say), the Python around its kernels included.
``--clock cpu`` uses the process's CPU time instead of wall time. ``--residents N``
runs the context at N residents instead of its own size: at a few thousand, a run is
mostly its fixed cost a year (the Python that steps the day's mechanisms,
``benchmarks/cost_per_case.py``), which whole town-years hide in their noise. Progress
goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_equality import describe, export_rev

from sim.core.mechanisms import REGISTRY
from sim.core.model import DAY_ORDER, GovModel

ROOT = Path(__file__).resolve().parents[1]


def worker(args: argparse.Namespace) -> None:
    """Time ``--reps`` runs of one scenario in this process; print their times as JSON."""
    import sim
    import sim.core.mechanisms.flow as flow

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    spent = [0.0]

    def timer(fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: object) -> Any:
            t0 = clock()
            out = fn(*a)
            spent[0] += clock() - t0
            return out

        return timed

    if args.part == "flow":  # the kernel as the flow calls it: past numba's dispatcher (Pinned)

        class Timed(flow.Pinned):
            def __call__(self, *a: object) -> Any:
                return timer(super().__call__)(*a)

        flow.Pinned = Timed  # type: ignore[misc]
    elif args.part != "run":
        act = next(a for a in DAY_ORDER if a.name == args.part)
        owner = GovModel if act.owner == "model" else REGISTRY[act.owner]
        setattr(owner, act.method, timer(getattr(owner, act.method)))
    size = {"population.residents": args.residents} if args.residents else None
    params = sim.load_scenario(args.scenario, context=args.context, overrides=size)
    sim.run(params, seed=1, days=5)  # loads (or compiles) the kernels
    times = []
    for _ in range(args.reps):
        spent[0] = 0.0
        t0 = clock()
        sim.run(params, seed=1, days=args.days)
        times.append(clock() - t0 if args.part == "run" else spent[0])
    print(json.dumps(times))


def timings(tree: Path, scenario: str, args: argparse.Namespace) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOVSIM_SCENARIOS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(tree)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--scenario", scenario]
    cmd += ["--days", str(args.days), "--reps", str(args.reps), "--clock", args.clock, "--part", args.part]
    if args.context:
        cmd += ["--context", args.context]
    if args.residents:
        cmd += ["--residents", str(args.residents)]
    proc = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{tree}: {scenario} failed:\n" + "\n".join(proc.stderr.strip().splitlines()[-8:]))
    return [float(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])]


def main(args: argparse.Namespace) -> None:
    scenarios = args.scenarios.split(",")
    with tempfile.TemporaryDirectory(prefix="speed_ab_") as tmp:
        base = export_rev(ROOT, args.base, Path(tmp) / "base")
        trees = {"base": base, "new": ROOT}
        got: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for side, tree in trees.items():
                for name in scenarios:
                    print(f"round {r + 1}/{args.rounds}: {side} {name}", file=sys.stderr, flush=True)
                    got.setdefault((side, name), []).extend(timings(tree, name, args))
        what = {"flow": "case flow", "run": "run"}.get(args.part, f"act {args.part}")
        size = f" at {args.residents:,} residents" if args.residents else ""
        print(
            f"{what}, {args.days} days, context {args.context or 'town'}{size}, {args.clock} clock, "
            f"{args.rounds} rounds x {args.reps} runs alternated"
        )
        print(f"base {describe(base, args.base)}; new {describe(ROOT)}\n")
        head = ("scenario", "base median (s)", "new median (s)", "new / base, medians")
        head += ("base min", "new min", "new / base, minima")
        print("| " + " | ".join(head) + " |")
        print("|---" * len(head) + "|")
        for name in scenarios:
            b, n = got[("base", name)], got[("new", name)]
            mb, mn = statistics.median(b), statistics.median(n)
            print(
                f"| {name} | {mb:.3f} | {mn:.3f} | {mn / mb:.3f} | {min(b):.3f} | {min(n):.3f} | "
                f"{min(n) / min(b):.3f} |"
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="the revision to compare against (default HEAD)")
    ap.add_argument("--scenarios", default="baseline,reform")
    ap.add_argument("--context", default=None, help="a context (default: the scenario's, a town)")
    ap.add_argument("--residents", type=int, default=0, help="the context's residents instead (0: its own)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--part", choices=("run", "flow", *(a.name for a in DAY_ORDER)), default="run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--scenario", help=argparse.SUPPRESS)
    parsed = ap.parse_args()
    if parsed.worker:
        worker(parsed)
    else:
        main(parsed)
