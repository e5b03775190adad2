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

    python benchmarks/cold_start.py [--scenario reform] [--days 30] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="reform")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=1, help="cold/warm pairs, each with its own fresh cache")
    args = ap.parse_args()
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    govsim = [sys.executable, "-m", "sim"]
    rows: list[tuple[str, float, int]] = []
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
    print(f"govsim run {args.scenario} --days {args.days}, each in a new process\n")
    print("| start | wall s | numba cache files after |")
    print("|---|---:|---:|")
    for name, wall, files in rows:
        print(f"| {name} | {wall:.2f} | {files} |")


if __name__ == "__main__":
    main()
