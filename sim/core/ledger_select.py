"""The ledger's daily queries over its active set, compiled (numba): one pass each.

A day asks the ledger a few questions about its open cases (which are due, which are
latent, which have closed, how many are at each stage); each is one loop over
``active`` (open ids, in id order) instead of a chain of numpy masks and gathers, whose
per-call cost dominates at a town's few thousand open cases. The answers are exactly
those of the numpy expressions they replace: ids stay in id order.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import njit


@njit(cache=True)
def due(active, stage, next_t, lo, hi, before):  # type: ignore[no-untyped-def,unused-ignore]
    """Active ids at a stage in ``lo..hi`` whose next event is before ``before``, in id
    order, and those times."""
    ids = np.empty(active.size, np.int64)
    t = np.empty(active.size)
    m = 0
    for k in range(active.size):
        i = active[k]
        if lo <= stage[i] <= hi and next_t[i] < before:
            ids[m], t[m] = i, next_t[i]
            m += 1
    return ids[:m], t[:m]


@njit(cache=True)
def at_stage(active, stage, s):  # type: ignore[no-untyped-def,unused-ignore]
    """Active ids at stage ``s``, in id order."""
    out = np.empty(active.size, np.int64)
    m = 0
    for k in range(active.size):
        if stage[active[k]] == s:
            out[m] = active[k]
            m += 1
    return out[:m].copy()


@njit(cache=True)
def closing(active, stage, next_t, closing, closed, dropped, before):  # type: ignore[no-untyped-def,unused-ignore]
    """The active ids at ``closing`` whose next event is before ``before`` and those times,
    and the other active ids at neither ``closed`` nor ``dropped`` (the active set once
    the first have closed), each in id order."""
    due = np.empty(active.size, np.int64)
    t = np.empty(active.size)
    rest = np.empty(active.size, np.int64)
    m = r = 0
    for k in range(active.size):
        i = active[k]
        s = stage[i]
        if s == closing and next_t[i] < before:
            due[m], t[m] = i, next_t[i]
            m += 1
        elif s != closed and s != dropped:
            rest[r] = i
            r += 1
    return due[:m], t[:m], rest[:r].copy()


@njit(cache=True)
def counts(active, stage, n_stages, queued, unit, unit_kind, n_kinds):  # type: ignore[no-untyped-def,unused-ignore]
    """Active cases by stage, and those at stage ``queued`` by the kind of their unit."""
    by_stage = np.zeros(n_stages, np.int64)
    by_kind = np.zeros(n_kinds, np.int64)
    for k in range(active.size):
        i = active[k]
        s = stage[i]
        by_stage[s] += 1
        if s == queued:
            by_kind[unit_kind[unit[i]]] += 1
    return by_stage, by_kind


@njit(cache=True)
def order_ties(t, order):  # type: ignore[no-untyped-def,unused-ignore]
    """Put each run of equal times in ``order`` (an order that sorts ``t``) in index
    order, in place: a short run by insertion, a long one by a sort. Each time is read
    once; a time without equal (most) costs a comparison."""
    if order.size == 0:
        return
    start, prev = 0, t[order[0]]
    for k in range(1, order.size + 1):
        if k < order.size:
            now = t[order[k]]
            if now == prev:
                continue  # the run order[start:k] goes on
            prev = now
        if k - start > 16:
            order[start:k] = np.sort(order[start:k])
        elif k - start > 1:
            _insertion_sort(order, start, k)
        start = k


@njit(cache=True, inline="always")
def _insertion_sort(a, lo, hi):  # type: ignore[no-untyped-def,unused-ignore]
    """Sort ``a[lo:hi]`` in place."""
    for j in range(lo + 1, hi):
        x = a[j]
        m = j - 1
        while m >= lo and a[m] > x:
            a[m + 1] = a[m]
            m -= 1
        a[m + 1] = x
