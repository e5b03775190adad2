"""One run of a design, as a worker process does it, and the status record it leaves.

:func:`execute` runs the model for one design row, writes the run's tables to the store
atomically (its summary: the design's KPIs and the steady-state verdict,
:data:`sim.core.steady.STEADY_COLUMNS`) and writes its ``status.json`` last: ``ok`` with the
files' hashes, or ``failed`` with the error and traceback. :func:`record_failure` writes the same record
from the parent when a run cannot report for itself (its worker died or timed out).
Every status carries the design hash and the code version that made it, so a store
never adopts a run of another design or, unless told, of other model code.
"""

from __future__ import annotations

import hashlib
import resource
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.core.steady import STEADY_COLUMNS
from sim.experiments.store import STATUS, Store, atomic_write_json, atomic_write_parquet

_MODEL_CODE = (Path(__file__).resolve().parents[1] / "core", Path(__file__).resolve())
"""What decides a run's tables: the model core and this module."""


@cache
def code_version() -> str:
    """A hash of the package version and the source of the model core (and of this module).

    Changes whenever code that decides a run's tables changes, committed or not; the
    CLI, presentation and docs do not count.
    """
    h = hashlib.sha256(sim.__version__.encode())
    core, this = _MODEL_CODE
    for f in [*sorted(core.rglob("*.py")), this]:
        h.update(f.relative_to(core.parent).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs (picklable, sent to workers)."""

    store: str
    design_hash: str
    run_id: str
    scenario: str
    context: str | None
    overrides: dict[str, Any]
    seed: int
    days: int
    warmup: int | str
    point: int
    replication: int
    kpis: tuple[str, ...]
    keep_daily: bool
    keep_cases: bool
    timeout: float
    """Seconds the run may take in a local worker process (0: no limit)."""

    def keys(self) -> dict[str, Any]:
        """The run's identity, as written into its status and summary."""
        return {
            "run_id": self.run_id,
            "scenario": Path(self.scenario).stem,
            "point": self.point,
            "replication": self.replication,
            "seed": self.seed,
        }


def now() -> str:
    """The time as ISO 8601 (UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run one design row and store its results; never raises for a model failure."""
    store = Store(spec.store)
    folder = store.run_dir(spec.run_id)
    store.clear_run(spec.run_id)
    keys = spec.keys()
    status: dict[str, Any] = {**keys, **_provenance(spec), "started_at": now()}
    t0 = time.perf_counter()
    try:
        res = sim.run(
            spec.scenario,
            seed=spec.seed,
            days=spec.days,
            context=spec.context,
            overrides=spec.overrides,
            warmup=spec.warmup,
        )
        files = {}
        summary = res.summary[[*spec.kpis, *STEADY_COLUMNS]].to_frame().T.reset_index(drop=True)
        summary = pd.concat([pd.DataFrame([keys]), summary], axis=1)
        files["summary.parquet"] = atomic_write_parquet(folder / "summary.parquet", summary)
        if spec.keep_daily:
            daily = res.daily.assign(run_id=spec.run_id)
            files["daily.parquet"] = atomic_write_parquet(folder / "daily.parquet", daily)
        if spec.keep_cases:
            cases = res.cases.assign(run_id=spec.run_id)
            files["cases.parquet"] = atomic_write_parquet(folder / "cases.parquet", cases)
        status.update(status="ok", files=files)
    except Exception as exc:  # a failed run is data: record it and let the batch go on
        status.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    status.update(
        finished_at=now(),
        seconds=round(time.perf_counter() - t0, 3),
        peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    atomic_write_json(folder / STATUS, status)
    return status


def record_failure(spec: RunSpec, error: str, started_at: str, seconds: float) -> dict[str, Any]:
    """Record a run that could not report for itself (its worker died or ran out of time).

    Whatever the run left is removed first; the caller has made sure its worker is gone.
    """
    store = Store(spec.store)
    store.clear_run(spec.run_id)
    status = {
        **spec.keys(),
        **_provenance(spec),
        "started_at": started_at,
        "status": "failed",
        "error": error,
        "finished_at": now(),
        "seconds": round(seconds, 3),
    }
    atomic_write_json(store.run_dir(spec.run_id) / STATUS, status)
    return status


def _provenance(spec: RunSpec) -> dict[str, Any]:
    return {"design_hash": spec.design_hash, "code_version": code_version()}
