"""Benchmark: cold and warm start of ``govsim run reform --days 30``.

The model's numba kernels are compiled with ``@njit(cache=True)``: the first process that
calls a kernel compiles it and writes the machine code to numba's cache, and every later
process loads it from there instead of compiling again (the cache is checked against the
kernel's source file, so it is rebuilt only when that changes). By default the cache lives
in ``__pycache__`` beside the sources; the environment variable ``NUMBA_CACHE_DIR``
moves it.

This script runs the command line twice, each time in a new process, with
``NUMBA_CACHE_DIR`` pointing at the same fresh, empty temporary folder (so the package's
own ``__pycache__`` caches are not used):

1. *cold*: the compile cache is empty, as on a fresh install; the kernels are compiled
   and cached;
2. *warm*: the same cache folder again, so the kernels are loaded, not compiled.

It also times ``govsim --help`` (interpreter start and the CLI's imports, no model) as
the floor both include. Python's own bytecode caches are left alone: a pip install
writes those at install time.

With ``--kernels N`` it then compiles the model once more, in a process of its own with a
fresh cache (``sim.run`` of the same scenario and days: numba keeps its timers in the
compiling process only), and lists the N kernels that took longest, by numba's own
timers: the seconds under numba's compiler lock, and of those in LLVM. A kernel's time
includes the kernels it calls that compiled with it (the case flow's rules are inlined
into ``run_day``).

    python benchmarks/cold_start.py [--scenario reform] [--days 30] [--repeat 1] [--kernels 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of a command in a new process (raises if it fails)."""
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}\n{out.stderr[-2000:]}")
    return wall


def cache_files(folder: Path) -> int:
    return sum(1 for f in folder.rglob("*") if f.suffix in (".nbi", ".nbc"))


def kernel_times(scenario: str, days: int) -> list[tuple[str, float, float]]:
    """Run ``scenario`` for ``days`` in this process and return each compiled kernel of the
    package that it used, with numba's timers of its compilation (seconds under the
    compiler lock, of which in LLVM), slowest first."""
    from numba.core.registry import CPUDispatcher

    import sim

    sim.run(scenario, days=days)
    rows = []
    for module in [m for name, m in sys.modules.items() if name.startswith("sim.")]:
        for name, fn in vars(module).items():
            if isinstance(fn, CPUDispatcher) and fn.__module__ == module.__name__:
                for compiled in fn.overloads.values():
                    timers = (compiled.metadata or {}).get("timers", {})
                    label = f"{module.__name__}.{name}"
                    rows.append((label, timers.get("compiler_lock", 0.0), timers.get("llvm_lock", 0.0)))
    return sorted(rows, key=lambda r: -r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="reform")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=1, help="cold/warm pairs, each with its own fresh cache")
    ap.add_argument("--kernels", type=int, default=0, help="list the N kernels slowest to compile")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:  # a process of its own with a fresh cache: the kernels' timers as JSON
        print(json.dumps(kernel_times(args.scenario, args.days)))
        return
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    govsim = [sys.executable, "-m", "sim"]
    rows: list[tuple[str, float, int]] = []
    kernels: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="govsim-cold-") as tmp:
        for i in range(args.repeat):
            cache = Path(tmp) / f"numba-cache-{i}"
            cache.mkdir()
            env = {**os.environ, "PYTHONPATH": pythonpath, "NUMBA_CACHE_DIR": str(cache)}
            run = [
                *govsim, "run", args.scenario, "--days", str(args.days),
                "--out", str(Path(tmp) / f"out-{i}"), "--force",
            ]  # fmt: skip
            if i == 0:
                imports = timed([*govsim, "--help"], env)
                rows.append(("govsim --help (imports only)", imports, cache_files(cache)))
            rows.append(("cold (empty compile cache)", timed(run, env), cache_files(cache)))
            rows.append(("warm (same cache again)", timed(run, env), cache_files(cache)))
        if args.kernels:  # numba keeps its timers in the compiling process only: one more cold run
            cache = Path(tmp) / "numba-cache-kernels"
            cache.mkdir()
            env = {**os.environ, "PYTHONPATH": pythonpath, "NUMBA_CACHE_DIR": str(cache)}
            worker = [sys.executable, __file__, "--worker", "--scenario", args.scenario]
            worker += ["--days", str(args.days)]
            got = subprocess.run(worker, capture_output=True, text=True, env=env, check=True)
            kernels = json.loads(got.stdout.strip().splitlines()[-1])
    print(f"govsim run {args.scenario} --days {args.days}, each in a new process\n")
    print("| start | wall s | numba cache files after |")
    print("|---|---:|---:|")
    for name, wall, files in rows:
        print(f"| {name} | {wall:.2f} | {files} |")
    if args.kernels:
        print(f"\nthe {args.kernels} kernels slowest to compile, in a cold run of their own\n")
        print("| kernel | compile s | of which LLVM s |")
        print("|---|---:|---:|")
        for name, total, llvm in kernels[: args.kernels]:
            print(f"| {name} | {total:.1f} | {llvm:.1f} |")


if __name__ == "__main__":
    main()
