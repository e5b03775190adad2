"""Local worker processes that survive what a run can do to them.

Each worker is a long-lived process that takes one run at a time from the parent over
its own pipe, so the parent always knows which run each
process holds. That makes every fault attributable to one run:

- a worker that dies (killed, out of memory, a crash in compiled code) is replaced and
  its run is tried again on the fresh worker; if it dies again the run is recorded as
  failed and the batch goes on;
- a run that passes its time limit has its worker killed and replaced, and is recorded
  as failed (a run that hung once would hang again, so it is not retried);
- workers ignore Ctrl-C (the parent decides what happens) and exit when the parent
  dies, however it dies (``PR_SET_PDEATHSIG`` on Linux, a watchdog thread elsewhere).

Workers are forked from a fork server that has imported the model once (so a fresh
worker starts in milliseconds, and nothing is forked from a parent with threads); the
fork server exits with the parent, and the workers with it.

Leaving the pool early (an exception, an interrupt) kills the workers still running and
removes what their runs left, so nothing half-written stays behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from sim.experiments.runs import RunSpec, execute, now, record_failure
from sim.experiments.store import Store

_CTX = mp.get_context("forkserver")
_CTX.set_forkserver_preload(["sim.core.runner", "sim.experiments.runs"])
PR_SET_PDEATHSIG = 1
RETRIES = 1
"""Times a run whose worker died is tried again before it is recorded as failed."""


def _exit_with_parent(main: int) -> None:
    """Make this worker exit as soon as its parent (the fork server) is gone.

    The fork server exits when the main process ``main`` does, however it ends.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:  # no death signal: poll for being orphaned

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    try:
        os.kill(main, 0)
    except ProcessLookupError:  # the main process died before the death signal was armed
        os._exit(1)


def _serve(conn: Connection, main: int) -> None:
    """A worker's life: run the specs the main process sends, one at a time, until told to
    stop; after the first, :func:`settle`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(main)
    settled = False
    while True:
        try:
            spec = conn.recv()
        except EOFError:
            return
        if spec is None:
            return
        conn.send(execute(spec))
        if not settled:
            settle()
            settled = True


def settle() -> None:
    """Take what a worker holds for good out of the garbage collector's sight: once its
    first run has loaded the model's modules and compiled kernels (a couple of hundred
    thousand objects), collect, then freeze every object left (``gc.freeze``). The
    collector's full passes, which come every few runs (after so many allocations), then
    visit only the objects made since, instead of spending about a tenth of a second on
    those that never change (``benchmarks/gc_passes.py``)."""
    gc.collect()
    gc.freeze()


@dataclass
class _Worker:
    process: Any
    conn: Connection
    spec: RunSpec | None = None
    started: float = 0.0
    started_at: str = ""

    @classmethod
    def start(cls) -> _Worker:
        mine, theirs = _CTX.Pipe()
        process = _CTX.Process(target=_serve, args=(theirs, os.getpid()), daemon=True, name="govsim-worker")
        process.start()
        theirs.close()
        return cls(process, mine)

    def give(self, spec: RunSpec) -> None:
        self.spec, self.started, self.started_at = spec, time.monotonic(), now()
        with contextlib.suppress(OSError):  # a worker already dead is found out by the next wait
            self.conn.send(spec)

    def deadline(self) -> float:
        assert self.spec is not None
        return self.started + self.spec.timeout if self.spec.timeout > 0 else float("inf")

    def kill(self) -> int | None:
        """Kill the process (if still alive) and return its exit code."""
        self.process.kill()
        self.process.join()
        self.conn.close()
        return int(self.process.exitcode) if self.process.exitcode is not None else None

    def stop(self) -> None:
        """Ask an idle worker to exit; kill it if it does not."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=5)
        self.kill()


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def run_in_workers(specs: Iterable[RunSpec], workers: int) -> Iterator[dict[str, Any]]:
    """Run specs in ``workers`` processes, yielding each run's status as it is recorded."""
    pending = deque(specs)
    deaths: Counter[str] = Counter()
    pool = [_Worker.start() for _ in range(min(workers, len(pending)))]
    try:
        while pending or any(w.spec is not None for w in pool):
            for w in pool:
                if w.spec is None and pending:
                    w.give(pending.popleft())
            busy = [w for w in pool if w.spec is not None]
            until = min(w.deadline() for w in busy) - time.monotonic()
            ready = set(wait([h for w in busy for h in (w.conn, w.process.sentinel)], _wait(until)))
            for i, w in enumerate(pool):
                if w.spec is None:
                    continue
                spec = w.spec
                if w.conn in ready or w.process.sentinel in ready:
                    try:
                        status = w.conn.recv()
                    except (EOFError, OSError):
                        code = w.kill()
                        pool[i] = _Worker.start()
                        deaths[spec.run_id] += 1
                        if deaths[spec.run_id] <= RETRIES:
                            pending.appendleft(spec)  # try it again, on the fresh worker
                            continue
                        status = record_failure(
                            spec,
                            f"WorkerDied: the worker process died ({_death(code)}) "
                            f"{deaths[spec.run_id]} times while running it",
                            w.started_at,
                            time.monotonic() - w.started,
                        )
                    w.spec = None
                    yield status
                elif time.monotonic() >= w.deadline():
                    w.kill()
                    pool[i] = _Worker.start()
                    yield record_failure(
                        spec,
                        f"TimeoutError: no result after {spec.timeout:g} s (the run's time limit; "
                        "raise it with timeout: in the design or --timeout)",
                        w.started_at,
                        time.monotonic() - w.started,
                    )
    finally:
        for w in pool:
            if w.spec is None:
                w.stop()
            else:  # leaving early: its run is unfinished, and must leave nothing half-done
                w.kill()
                Store(w.spec.store).clear_run(w.spec.run_id)


def _wait(seconds: float) -> float | None:
    """A timeout for :func:`multiprocessing.connection.wait` (None: no limit)."""
    return None if seconds == float("inf") else max(seconds, 0.0)


@dataclass(frozen=True)
class WorkerPool:
    """The workers as an executor for :func:`sim.experiments.replicate.replicate_iter`:
    maps :func:`sim.experiments.runs.execute` over run specs, yielding each run's status as
    it is recorded (in the order runs finish)."""

    workers: int

    def map(
        self, fn: Callable[[RunSpec], dict[str, Any]], specs: Iterable[RunSpec], /
    ) -> Iterator[dict[str, Any]]:
        if fn is not execute:  # a failure is recorded in the run's store, which only execute writes
            raise TypeError("WorkerPool runs sim.experiments.runs.execute only")
        return run_in_workers(specs, self.workers)
