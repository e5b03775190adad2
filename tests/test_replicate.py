"""The replication primitive: paired seeds, and the same results on any executor."""

from __future__ import annotations

import pytest

import sim
from sim.experiments.pool import WorkerPool
from sim.experiments.replicate import Run, local_executor, paired_runs, replicate
from tests.conftest import SMALL


def _summary(r: Run) -> tuple[object, int, float]:
    s = sim.run(r.params, seed=r.seed, days=r.days).summary
    return r.key, r.replication, float(s["delay_total_mean_days"])


def test_runs_are_paired_and_results_do_not_depend_on_the_executor() -> None:
    variants = {n: sim.load_scenario(n, overrides=SMALL) for n in ("baseline", "reform")}
    runs = paired_runs(variants, reps=2, seed=7, days=20)
    assert [r.seed for r in runs[:2]] == [r.seed for r in runs[2:]]  # common random numbers
    ticks: list[int] = []
    here = replicate(_summary, runs, None, progress=lambda: ticks.append(1))
    with local_executor(2) as pool:
        there = replicate(_summary, runs, pool)
    assert here == there and len(ticks) == len(runs)
    assert [(k, r) for k, r, _ in here] == [(r.key, r.replication) for r in runs]


def test_the_batch_pool_runs_only_the_store_writing_run() -> None:
    with pytest.raises(TypeError, match="execute only"):
        WorkerPool(1).map(_summary, [])
