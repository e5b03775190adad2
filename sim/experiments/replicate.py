"""Replications: the one way experiments run many paired runs, on any executor.

Replication ``r`` of every variant (scenario, coalition, candidate) uses the same seed,
spawned from the root seed (:func:`sim.core.rng.replication_seeds`), so variants that
share a context meet the same issues (common random numbers) and differences are
policy, not noise. :func:`paired_runs` lays the runs out; :func:`replicate` runs a
function over them on an executor — anything with a ``map(fn, jobs)``: ``None`` (this
process), a ``concurrent.futures.ProcessPoolExecutor`` (:func:`local_executor`), a Dask
client's ``get_executor()``, or the batch's fault-tolerant worker pool
(:class:`sim.experiments.pool.WorkerPool`) — and returns the results in run order;
:func:`replicate_iter` yields them as the executor gives them (the batch's pool and its
Dask path: as runs finish, so that each is stored at once). Used by ``compare``,
``attribute``, ``calibrate`` and ``batch`` (which keeps its store and resumption on
top). :func:`interval` is the t-interval every table reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd
from scipy import stats

from sim.core.rng import replication_seeds

R = TypeVar("R")
J = TypeVar("J")


@dataclass(frozen=True)
class Run:
    """One run to do: a variant's key and parameters (anything the run function takes),
    the replication number, its seed, the horizon and the warm-up (days or ``"auto"``)."""

    key: Any
    params: Any
    replication: int
    seed: int
    days: int
    warmup: int | str = "auto"


def paired_runs(
    variants: Mapping[Any, Any], reps: int, seed: int, days: int, warmup: int | str = "auto"
) -> list[Run]:
    """Every variant × ``reps`` replications, replication ``r`` with the same seed everywhere."""
    seeds = replication_seeds(seed, reps)
    return [Run(k, p, r, s, days, warmup) for k, p in variants.items() for r, s in enumerate(seeds)]


class Mapper(Protocol):
    """An executor as :func:`replicate` uses it: something that maps a function over jobs."""

    def map(self, fn: Callable[[Any], Any], jobs: Iterable[Any], /) -> Iterable[Any]: ...


def replicate_iter(fn: Callable[[J], R], jobs: Sequence[J], executor: Mapper | None = None) -> Iterator[R]:
    """``fn`` over ``jobs`` on ``executor`` (None: in this process), results in the order
    the executor gives them (job order for a ``concurrent.futures`` executor)."""
    return iter(map(fn, jobs) if executor is None else executor.map(fn, jobs))


def replicate(
    fn: Callable[[J], R],
    jobs: Sequence[J],
    executor: Mapper | None = None,
    progress: Callable[[], None] | None = None,
) -> list[R]:
    """``fn`` over ``jobs`` on ``executor`` (None: in this process), results in job order.

    ``fn`` must be a module-level function (it is pickled to other processes);
    ``progress`` is called after each result.
    """
    out = []
    for r in replicate_iter(fn, jobs, executor):
        out.append(r)
        if progress is not None:
            progress()
    return out


@contextmanager
def local_executor(workers: int) -> Iterator[Executor | None]:
    """A process pool of ``workers`` processes, or None (this process) for one worker."""
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(workers) as pool:
        yield pool


def interval(values: pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of ``values`` (NaN bounds with fewer than 2 values)."""
    v = values.dropna().to_numpy(dtype=float)
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return (m, m - half, m + half)
