"""Running an experiment design: in local worker processes or on a Dask cluster.

Each run is done by :func:`sim.experiments.runs.execute` in a worker: it runs the model,
writes the run's tables to the store atomically and writes its ``status.json`` last.
The parent only collects small status records, so its memory does not grow with the
number of runs. Runs are seeded from the design, so results are the same whichever
backend runs them and however many workers it has.

A batch holds the store's lock while it runs. Running the same design again resumes:
finished runs (this design's, verified by their file hashes) are kept, everything else
is run again; runs made by other model code are refused unless ``mixed_versions``.
SIGINT and SIGTERM stop the batch cleanly: workers are stopped, unfinished runs leave
nothing behind, the manifest says ``interrupted`` and :class:`BatchInterrupted` carries
what was kept.

On Dask, runs go in *chunks*: one task runs several specs one after the other, so that
the scheduling cost of a task (submitting it, sending it and its result: about 5 ms on a
local cluster of the project's 2-core machine, more on a remote one;
``benchmarks/dask_overhead.py``) is shared by the runs of the chunk when one run is short. Each run still
stores its own tables and status, and the batch still gets one status per run (those of a
chunk when the chunk ends). A chunk whose task fails (its worker died) keeps the runs it
had finished and tries the others again one per task, so that only the run at fault is
recorded failed. See :func:`chunk_size`.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import sim
from sim.core.scenarios import load_scenario
from sim.errors import GovsimError
from sim.experiments.design import (
    Design,
    design_draws,
    design_hash,
    expand,
    load_design,
    run_overrides,
    scenario_key,
    to_json,
)
from sim.experiments.paths import RESULTS, slug
from sim.experiments.pool import WorkerPool
from sim.experiments.replicate import replicate_iter
from sim.experiments.runs import RunSpec, code_version, execute, now, record_failure
from sim.experiments.store import Store, git_commit


@dataclass
class BatchReport:
    """What a batch did."""

    store: Path
    total: int
    skipped: int
    ok: int
    failed: int
    seconds: float
    failures: list[dict[str, Any]]


class BatchInterrupted(Exception):
    """SIGINT or SIGTERM stopped a batch; the store is consistent and resumable.

    Attributes:
        signal: the signal's number.
        report: what the batch had done when it stopped.
    """

    def __init__(self, signum: int, report: BatchReport | None = None) -> None:
        self.signal, self.report = signum, report
        super().__init__(f"stopped by {signal.Signals(signum).name}")


def default_timeout(residents: int, days: int) -> float:
    """The time limit of a run: 60 s plus 1 s per million resident-days.

    A town-year (190,000 residents) takes about 2.3 s on the project's machine and gets
    129 s; a county-year (1.5 million) takes about 14 s and gets 608 s.
    """
    return 60.0 + residents * days / 1e6


def plan(design: Design, store: Store, digest: str, timeout: float | None = None) -> list[RunSpec]:
    """The runs of a design, in design order.

    Args:
        timeout: seconds each run may take (0: no limit); default the design's, else
            :func:`default_timeout` of the run's residents and horizon.
    """
    given = {scenario_key(s): s for s in design.scenarios}
    limit = timeout if timeout is not None else design.timeout
    residents = {
        key: load_scenario(s, context=design.context, overrides=design.overrides).population.residents
        for key, s in given.items()
    }
    draws = design_draws(design)
    specs = []
    for row in expand(design).to_dict("records"):
        overrides = run_overrides(design, row, draws)
        size = int(overrides.get("population.residents", residents[row["scenario"]]))
        specs.append(
            RunSpec(
                store=str(store.root),
                design_hash=digest,
                run_id=row["run_id"],
                scenario=given[row["scenario"]],
                context=design.context,
                overrides=overrides,
                seed=int(row["seed"]),
                days=design.days,
                warmup=design.warmup,
                point=int(row["point"]),
                replication=int(row["replication"]),
                kpis=design.kpis,
                keep_daily=design.keep.daily,
                keep_cases=design.keep.cases,
                timeout=limit if limit is not None else default_timeout(size, design.days),
            )
        )
    return specs


def run_batch(
    design: Design | str | Path,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    local_cluster: bool = False,
    fresh: bool = False,
    timeout: float | None = None,
    mixed_versions: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    chunk: int | str = "auto",
) -> BatchReport:
    """Run (or resume) a design.

    Args:
        design: a :class:`Design` or the path of a design file.
        out: the store folder (default ``results/<design name>``).
        workers: worker processes (with ``local_cluster``, Dask workers).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``).
        local_cluster: start a Dask LocalCluster of ``workers`` processes.
        fresh: discard earlier results in the store.
        timeout: seconds a run may take in a local worker (see :func:`plan`).
        mixed_versions: keep finished runs made by other model code.
        progress: called with each finished run's status.
        on_plan: called with (runs to do, runs already finished) before starting.
        chunk: on Dask, runs per task: a number, or ``"auto"`` (:func:`chunk_size`);
            local worker processes take one run at a time whatever it says.

    Raises:
        GovsimError: the store is busy, holds another design, or (unless
            ``mixed_versions``) runs of other model code.
        BatchInterrupted: SIGINT or SIGTERM stopped the batch (in the main thread).
    """
    d = design if isinstance(design, Design) else load_design(design)
    slug(d.name, "design name")
    chunk = check_chunk(chunk)
    store = Store(out or RESULTS / d.name)
    digest = design_hash(d)
    table = expand(d)
    with store.lock(), _signals_raise():
        store.prepare(to_json(d), table, digest, fresh)
        specs = plan(d, store, digest, timeout)
        done = {s.run_id: st for s in specs if (st := store.finished(s.run_id, digest)) is not None}
        _check_versions(store, done, mixed_versions)
        todo = [s for s in specs if s.run_id not in done]
        if on_plan is not None:
            on_plan(len(todo), len(done))
        session = _Session(store, d, digest, table, specs, workers, scheduler, local_cluster)
        if not todo and session.intact():
            return BatchReport(store.root, len(specs), len(done), 0, 0, 0.0, [])
        ok, failures = 0, []
        try:
            session.write("running")
            for st in _map(todo, workers, scheduler, local_cluster, chunk):
                if st["status"] == "ok":
                    ok += 1
                else:
                    failures.append({k: st[k] for k in ("run_id", "error")})
                if progress is not None:
                    progress(st)
            session.write("complete" if not failures else "complete_with_failures")
        except BaseException as exc:  # the manifest must not say "running" after we are gone
            session.write("interrupted")
            if isinstance(exc, BatchInterrupted):
                raise BatchInterrupted(exc.signal, session.report(len(done), ok, failures)) from None
            raise
        return session.report(len(done), ok, failures)


def _check_versions(store: Store, done: dict[str, dict[str, Any]], mixed_versions: bool) -> None:
    """Refuse finished runs made by other model code, unless told to keep them."""
    mine = code_version()
    other = sorted({str(st.get("code_version")) for st in done.values()} - {mine})
    if other and not mixed_versions:
        n = sum(st.get("code_version") != mine for st in done.values())
        raise GovsimError(
            f"{store.root}: {n} finished runs were made by other model code (code version "
            f"{', '.join(other)}; this code is {mine}); run them all again with --fresh (compare: "
            "--force), or keep them with --mixed-versions"
        )


class _Session:
    """One batch on a store: its manifest, written when it starts and when it ends."""

    def __init__(
        self,
        store: Store,
        design: Design,
        digest: str,
        table: pd.DataFrame,
        specs: list[RunSpec],
        workers: int,
        scheduler: str | None,
        local_cluster: bool,
    ) -> None:
        self.store, self.specs, self.t0, self.seconds = store, specs, time.perf_counter(), 0.0
        old = store.manifest() or {}
        self.old = old if old.get("design_hash") == digest else {}
        self.manifest: dict[str, Any] = {
            "experiment": design.name,
            "package_version": sim.__version__,
            "git_commit": git_commit(),
            "code_version": code_version(),
            "design_hash": digest,
            "root_seed": design.seed,
            "replication_seeds": replication_seed_list(table),
            "runs": len(specs),
            "backend": _backend_name(workers, scheduler, local_cluster),
        }

    def intact(self) -> bool:
        """Whether the stored manifest already tells the truth about a finished batch."""
        return bool(self.old) and str(self.old.get("status", "")).startswith("complete")

    def write(self, status: str) -> None:
        """Write the manifest: status, timings and each run's status as recorded now."""
        statuses = [self.store.status(s.run_id) or {} for s in self.specs]
        ok = [st for st in statuses if st.get("status") == "ok"]
        starts = [st["started_at"] for st in statuses if st.get("started_at")]
        ends = [st["finished_at"] for st in statuses if st.get("finished_at")]
        self.seconds = time.perf_counter() - self.t0
        self.manifest.update(
            status=status,
            started_at=min(starts, default=now()),
            finished_at=max(ends, default=None) if status != "running" else None,
            seconds=round(float(self.old.get("seconds") or 0) + self.seconds, 3),
            code_versions=sorted({str(st.get("code_version")) for st in ok}),
            run_status={
                s.run_id: st.get("status", "missing") for s, st in zip(self.specs, statuses, strict=True)
            },
            run_seconds={s.run_id: st.get("seconds") for s, st in zip(self.specs, statuses, strict=True)},
        )
        self.store.write_manifest(self.manifest)

    def report(self, skipped: int, ok: int, failures: list[dict[str, Any]]) -> BatchReport:
        return BatchReport(
            self.store.root, len(self.specs), skipped, ok, len(failures), self.seconds, failures
        )


@contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into :class:`BatchInterrupted` and ignore the rest.

    Only in the main thread (where Python runs signal handlers); elsewhere a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handled = (signal.SIGINT, signal.SIGTERM)

    def stop(signum: int, _frame: Any) -> None:
        for s in handled:  # let the clean-up finish whatever arrives meanwhile
            signal.signal(s, signal.SIG_IGN)
        raise BatchInterrupted(signum)

    old = {s: signal.signal(s, stop) for s in handled}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def replication_seed_list(table: Any) -> list[int]:
    """The replication seeds of a design table, by replication."""
    first = table.drop_duplicates("replication").sort_values("replication")
    return [int(x) for x in np.asarray(first["seed"])]


def _backend_name(workers: int, scheduler: str | None, local_cluster: bool) -> str:
    if scheduler:
        return f"dask:{scheduler}"
    if local_cluster:
        return f"dask-local:{workers}"
    return f"processes:{max(workers, 1)}"


def _map(
    specs: list[RunSpec], workers: int, scheduler: str | None, local_cluster: bool, chunk: int | str = "auto"
) -> Iterable[dict[str, Any]]:
    """Run specs on the chosen backend, yielding statuses as runs finish."""
    if not specs:
        return
    if scheduler or local_cluster:
        yield from _dask(specs, workers, scheduler, chunk)
    else:
        yield from replicate_iter(execute, specs, WorkerPool(max(workers, 1)))


TASKS_PER_WORKER = 4
"""``auto`` chunks leave at least this many tasks per Dask worker (load balance)."""
CHUNK_RESIDENT_DAYS = 5e8
"""``auto`` chunks hold at most about this many resident-days of runs: about 7 town-years
(190,000 residents × 365 days), i.e. a task of ~2 s at issue 12's 0.3 s per town-year and
~16 s with the engine of early 2026 (2.3 s). A county-year (1.5M residents) is a chunk of
its own."""


def check_chunk(chunk: int | str) -> int | str:
    """``chunk`` as :func:`run_batch` takes it: ``"auto"`` or a whole number >= 1."""
    if chunk == "auto":
        return chunk
    try:
        n = int(chunk)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(n) != str(chunk).strip():
        raise GovsimError(f"--chunk: {chunk!r} is not allowed; use a whole number >= 1 or auto")
    return n


def chunk_size(specs: list[RunSpec], workers: int, chunk: int | str = "auto") -> int:
    """Runs per Dask task.

    A number is taken as it is. ``auto`` is the smaller of

    - ``ceil(runs / (workers × TASKS_PER_WORKER))``: every worker still gets several
      tasks, so the last tasks do not leave workers idle for long, and
    - ``CHUNK_RESIDENT_DAYS / resident-days of a run`` (the median run, at least 1): a
      task of short runs lasts a few seconds, long enough that its scheduling cost is a
      small share, short enough that progress moves and a lost worker loses little.

    So long runs (a county-year) go one per task as before, and a sweep of many short
    runs in chunks of up to a few town-years.
    """
    if chunk != "auto":
        return int(chunk)
    if not specs:
        return 1
    balance = math.ceil(len(specs) / (max(workers, 1) * TASKS_PER_WORKER))
    per_run = float(np.median([_resident_days(s) for s in specs]))
    by_size = max(1, int(CHUNK_RESIDENT_DAYS // max(per_run, 1.0)))
    return max(1, min(balance, by_size))


def _resident_days(spec: RunSpec) -> float:
    """A run's residents × days (its cost, roughly): residents from its overrides, else
    its scenario's."""
    try:
        residents = float(spec.overrides["population.residents"])
    except (KeyError, TypeError, ValueError):
        residents = _scenario_residents(spec.scenario, spec.context)
    return residents * spec.days


@cache
def _scenario_residents(scenario: str, context: str | None) -> float:
    """A scenario's residents (a town's, 190,000, if it does not load)."""
    try:
        return float(load_scenario(scenario, context=context).population.residents)
    except GovsimError:
        return 190_000.0


def chunks(specs: list[RunSpec], size: int) -> list[list[RunSpec]]:
    """Specs in design order, cut into consecutive chunks of ``size``."""
    return [specs[i : i + size] for i in range(0, len(specs), max(size, 1))]


def run_chunk(fn: Callable[[RunSpec], dict[str, Any]], specs: list[RunSpec]) -> list[dict[str, Any]]:
    """One Dask task: ``fn`` (:func:`execute`) over a chunk's specs, one after the other.

    A run that fails is recorded failed (``execute`` does so itself; anything it lets
    through is recorded here) and the chunk goes on with the next.
    """
    out = []
    for spec in specs:
        started, t0 = now(), time.perf_counter()
        try:
            out.append(fn(spec))
        except Exception as exc:
            out.append(
                record_failure(spec, f"{type(exc).__name__}: {exc}", started, time.perf_counter() - t0)
            )
    return out


def _finished(spec: RunSpec) -> dict[str, Any] | None:
    """A run's status if it is stored finished and intact (see :meth:`Store.finished`)."""
    return Store(spec.store).finished(spec.run_id, spec.design_hash)


def _salvage(specs: list[RunSpec], exc: BaseException) -> list[dict[str, Any]]:
    """The statuses of runs whose task failed: those finished as stored, the rest failed."""
    out = []
    for spec in specs:
        st = _finished(spec)
        if st is None:
            st = record_failure(
                spec,
                f"{type(exc).__name__}: the Dask task running it failed: {exc}",
                now(),
                0.0,
            )
        out.append(st)
    return out


@dataclass(frozen=True)
class _DaskCompleted:
    """A Dask client as an executor for :func:`replicate_iter`: results as runs finish.

    Runs go ``chunk`` to a task (:func:`run_chunk`); the statuses of a chunk's runs are
    yielded one by one when its task ends. When a task of several runs fails (its worker
    died: a run crashed it, or it shared a worker with one that did), the runs it finished
    are kept and the others are tried again one run per task, so that the run at fault
    fails alone (:func:`_salvage`) — unless Dask, as without chunks, also blames runs that
    were on the worker each time it died (``distributed.scheduler.allowed-failures``).
    """

    client: Any
    chunk: int = 1

    def map(
        self, fn: Callable[[RunSpec], dict[str, Any]], specs: Iterable[RunSpec], /
    ) -> Iterator[dict[str, Any]]:
        from dask.distributed import as_completed

        def submit(part: list[RunSpec]) -> Any:
            key = f"govsim-{part[0].run_id}-{part[0].seed}-{len(part)}"
            return self.client.submit(run_chunk, fn, part, key=key, pure=False)

        futures = {submit(part): part for part in chunks(list(specs), self.chunk)}
        pending = as_completed(list(futures))
        for fut in pending:
            part = futures.pop(fut)
            try:
                statuses = fut.result()
            except Exception as exc:  # the task itself failed (e.g. its worker died, KilledWorker)
                if len(part) == 1:
                    statuses = _salvage(part, exc)
                else:
                    kept = {s.run_id: _finished(s) for s in part}
                    statuses = [st for st in kept.values() if st is not None]
                    for spec in part:
                        if kept[spec.run_id] is None:
                            again = submit([spec])
                            futures[again] = [spec]
                            pending.add(again)
            yield from statuses
            fut.release()


def _dask(
    specs: list[RunSpec], workers: int, scheduler: str | None, chunk: int | str = "auto"
) -> Iterable[dict[str, Any]]:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=max(workers, 1), threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        slots = sum(client.nthreads().values()) or max(workers, 1)
        size = chunk_size(specs, slots, chunk)
        yield from replicate_iter(execute, specs, _DaskCompleted(client, size))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
