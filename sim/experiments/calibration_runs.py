"""The calibration's model runs: one record per (stage, point, scenario), kept so that an
interrupted calibration resumes without redoing or corrupting what is done.

Every finished run is appended, as one JSON line, to ``runs.jsonl`` in the calibration's
folder, keyed by its place in the design and a digest of what sets it (written and
flushed as each result arrives); a run that raised is recorded with its error and counts
as missing (NaN) in the fit. On a restart the records are read back and only the missing
runs are done. Each run of a point has its own seed (:func:`jobs_at`); the scenarios of one
run share it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.runner import run
from sim.core.scenarios import load_scenario
from sim.experiments.calibration import Budget, CalibrationConfig, context_values
from sim.experiments.replicate import local_executor, replicate_iter

Progress = Callable[[int, int], None]
"""Called with (runs done, runs in the stage)."""


@dataclass(frozen=True)
class Job:
    """One run: a scenario at a parameter point."""

    stage: str
    point: int
    scenario: str
    context: str
    overrides: dict[str, Any]
    seed: int
    days: int
    metrics: tuple[str, ...]

    @cached_property
    def key(self) -> str:
        """The run's identity: its place in the design and everything that sets it, so a
        changed configuration or posterior never reuses an old record."""
        what = json.dumps([self.context, self.overrides, self.seed, self.days, self.metrics], sort_keys=True)
        return f"{self.stage}:{self.point}:{self.scenario}:{hashlib.sha256(what.encode()).hexdigest()[:12]}"


def _one(job: Job) -> dict[str, Any]:
    """Run a job; its KPIs, or its error (a failed run must not stop the others)."""
    record: dict[str, Any] = {
        "key": job.key,
        "stage": job.stage,
        "point": job.point,
        "scenario": job.scenario,
    }
    try:
        s = run(
            job.scenario, seed=job.seed, days=job.days, context=job.context, overrides=job.overrides
        ).summary
        return {**record, "status": "ok", "kpis": {m: float(s[m]) for m in job.metrics}}
    except Exception as exc:  # noqa: BLE001 - recorded, and the calibration goes on
        return {**record, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


class RunLog:
    """The runs of one calibration folder (``runs.jsonl``)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "runs.jsonl"
        self.records: dict[str, dict[str, Any]] = {}
        self.added = 0
        """Runs done by this process (the others were resumed from the log)."""
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by an interruption: that run is redone
                self.records[rec["key"]] = rec

    @contextmanager
    def _appending(self) -> Iterator[Callable[[dict[str, Any]], None]]:
        with self.path.open("a", encoding="utf-8") as fh:

            def add(rec: dict[str, Any]) -> None:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                self.records[rec["key"]] = rec
                self.added += 1

            yield add

    def run(self, jobs: Sequence[Job], workers: int, progress: Progress | None = None) -> None:
        """Do the jobs not yet recorded, recording each as it finishes."""
        todo = [j for j in jobs if j.key not in self.records]
        done = len(jobs) - len(todo)
        if progress is not None:
            progress(done, len(jobs))
        if not todo:
            return
        with local_executor(workers) as pool, self._appending() as add:
            for rec in replicate_iter(_one, todo, pool):
                add(rec)
                done += 1
                if progress is not None:
                    progress(done, len(jobs))

    def values(self, jobs: Sequence[Job], metric: str) -> np.ndarray:
        """``metric`` of each job (NaN where it failed or is missing)."""
        out = np.full(len(jobs), np.nan)
        for i, j in enumerate(jobs):
            rec = self.records.get(j.key)
            if rec is not None and rec["status"] == "ok":
                out[i] = rec["kpis"].get(metric, np.nan)
        return out

    def failures(self) -> list[dict[str, Any]]:
        """The runs that raised, with their errors."""
        return [r for r in self.records.values() if r["status"] == "failed"]


def jobs_at(
    config: CalibrationConfig,
    stage: str,
    points: np.ndarray,
    scenarios: Sequence[str],
    budget: Budget,
    metrics: Sequence[str],
    first_seed: int,
    replicates: int = 1,
) -> list[Job]:
    """``replicates`` jobs per point and scenario: the context values of the point at the
    budget's size. Point ``i``'s replicate ``r`` has seed ``first_seed + i * replicates + r``
    in every scenario (the scenarios of a replicate are paired: common random numbers);
    jobs are in point, then replicate, then scenario order."""
    base = load_scenario("baseline", context=config.base_context)
    jobs = []
    for i, x in enumerate(points):
        over = {**context_values(base, config.parameters, x), "population.residents": budget.residents}
        for r in range(replicates):
            seed = first_seed + i * replicates + r
            for s in scenarios:
                jobs.append(Job(stage, i, s, config.base_context, over, seed, budget.days, tuple(metrics)))
    return jobs


__all__ = ["Job", "Progress", "RunLog", "jobs_at"]
