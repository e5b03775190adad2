"""Benchmark: where the compiled kernels spend their time, instruction by instruction.

Runs one scenario in a child process under Linux ``perf record`` (sampling, no
instrumentation), with the numba kernels compiled afresh into a temporary cache. The
child finds each kernel's machine code at its address (from the object code that numba
caches, by its symbol), and only the samples of its timed runs are kept (after a
warm-up run, by perf's monotonic clock). For each kernel this prints its share of all
samples and the instructions that take the most, each with the one before it: a load
that misses the caches shows as the next instruction waiting for it.

    python benchmarks/perf_kernels.py [SCENARIO] [--context town] [--runs 4]
        [--kernels mechanisms.flow.run_day,mechanisms.discovery._find] [--top 12]

Needs ``perf`` (Debian's ``linux-perf``), binutils' ``nm`` and ``objdump``, and
``/proc/sys/kernel/perf_event_paranoid`` at most 2 (sampling one's own processes).
The first step compiles every kernel (about a minute and a half).
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

KERNELS = "mechanisms.flow.run_day,mechanisms.discovery._find,ledger_select.due,ledger_select.closing"


def elf_of(cache: Path, kernel: str) -> bytes:
    """The object code numba cached for ``kernel`` (``module.function`` under ``sim.core``)."""
    module, name = kernel.rsplit(".", 1)
    files = sorted(cache.glob(f"*/{module.rsplit('.', 1)[-1]}.{name}-*.nbc"))
    if not files:
        raise SystemExit(f"no cached code for {kernel} in {cache}")

    def find(obj: Any) -> bytes | None:
        if isinstance(obj, bytes) and obj[:4] == b"\x7fELF":
            return obj
        if isinstance(obj, (tuple, list)):
            for x in obj:
                if (found := find(x)) is not None:
                    return found
        return None

    found = find(pickle.loads(files[-1].read_bytes()))
    if found is None:
        raise SystemExit(f"no object code in {files[-1]}")
    return found


def tool(*cmd: str) -> list[str]:
    """The lines a command prints (it must succeed)."""
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()


def symbol(obj: Path, name: str) -> tuple[str, int, int]:
    """The kernel's own function in an object file: (symbol, value, size)."""
    mangled = f"{len(name)}{name}B"  # numba's: ..._ZN3sim4core...<len><name>B<abi tags>
    for line in tool("nm", "-S", "--defined-only", str(obj)):
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT" and parts[3].startswith("_ZN3sim") and mangled in parts[3]:
            return parts[3], int(parts[0], 16), int(parts[1], 16)
    raise SystemExit(f"no symbol for {name} in {obj}")


def child(args: argparse.Namespace) -> None:
    """In the sampled process: warm up, write where each kernel is, run, write the window."""
    import sim

    work = Path(args.work)
    params = sim.load_scenario(args.scenario, context=args.context)
    sim.run(params, seed=0, days=args.days)  # loads (or compiles) every kernel
    where = {}
    for kernel in args.kernels.split(","):
        module, name = kernel.rsplit(".", 1)
        fn = getattr(importlib.import_module(f"sim.core.{module}"), name)
        if not fn.overloads:  # loaded from the cache only within its callers' machine code
            sys.exit(f"{kernel}: not a kernel called from Python; its samples are its callers'")
        obj = work / f"{kernel}.o"
        obj.write_bytes(elf_of(work / "cache", kernel))
        sym, value, size = symbol(obj, name)
        address = next(iter(fn.overloads.values())).library.get_pointer_to_function(sym)
        where[kernel] = (address, size, value)
    start = time.clock_gettime(time.CLOCK_MONOTONIC)
    for _ in range(args.runs):
        sim.run(params, seed=0, days=args.days)
    window = (start, time.clock_gettime(time.CLOCK_MONOTONIC))
    (work / "where.json").write_text(json.dumps({"kernels": where, "window": window}))


def report(work: Path, top: int) -> None:
    """Read the samples of the timed window and print each kernel's hot instructions."""
    info = json.loads((work / "where.json").read_text())
    lo, hi = info["window"]
    ips = []
    for line in tool("perf", "script", "-i", str(work / "perf.data"), "-F", "time,ip"):
        parts = line.replace(":", " ").split()
        if len(parts) >= 2 and lo <= float(parts[0]) <= hi:
            ips.append(int(parts[1], 16))
    print(f"{len(ips)} samples in the timed runs")
    for kernel, (address, size, value) in info["kernels"].items():
        hits = Counter(ip - address + value for ip in ips if address <= ip < address + size)
        n = sum(hits.values())
        print(f"\n{kernel}: {n} samples, {n / max(len(ips), 1):.1%} of all")
        asm = tool("objdump", "-d", "--no-show-raw-insn", str(work / f"{kernel}.o"))
        at = (re.match(r"\s+([0-9a-f]+):\s", line) for line in asm)
        rows = [(int(m.group(1), 16), k) for k, m in enumerate(at) if m]
        starts = [a for a, _ in rows]
        per: Counter[int] = Counter()
        for offset, count in hits.items():
            per[bisect.bisect_right(starts, offset) - 1] += count
        for k, count in per.most_common(top):
            line = rows[k][1]
            before, this = asm[line - 1].strip()[:60], asm[line].strip()[:50]
            print(f"  {count:6d} {count / n:6.1%}  after {before:60s} | {this}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="baseline")
    ap.add_argument("--context", default="town")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--kernels", default=KERNELS, help="module.function under sim.core, comma-separated")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--child", metavar="WORK", dest="work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.work:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(work / "cache")}
        me = [sys.executable, __file__, args.scenario, "--context", args.context, "--days", str(args.days)]
        me += ["--kernels", args.kernels, "--child", str(work)]
        print("compiling the kernels into a fresh cache ...", file=sys.stderr)
        _run([*me, "--runs", "0"], env)
        record = ["perf", "record", "-q", "-F", "4000", "-k", "CLOCK_MONOTONIC"]
        record += ["-o", str(work / "perf.data")]
        print(f"sampling {args.runs} runs ...", file=sys.stderr)
        _run([*record, "--", *me, "--runs", str(args.runs)], env)
        report(work, args.top)


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run a step; if it fails, stop with its exit status (it has said why)."""
    code = subprocess.run(command, env=env, check=False).returncode
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
