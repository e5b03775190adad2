"""The ledger's daily queries over its active set, compiled (numba): one pass each.

A day asks the ledger a few questions about its open cases (which are due, which are
latent, which have closed, how many are at each stage); each is one loop over
``active`` (open ids, in id order) instead of a chain of numpy masks and gathers, whose
per-call cost dominates at a town's few thousand open cases. The answers are exactly
those of the numpy expressions they replace: ids stay in id order, and the events due
(to the flow, to closure) come in time then id order, sorted in the same call.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import njit


@njit(cache=True)
def due(active, stage, next_t, lo, hi, before):  # type: ignore[no-untyped-def,unused-ignore]
    """Active ids at a stage in ``lo..hi`` whose next event is before ``before``, and those
    times, in time then id order (:func:`time_order`)."""
    ids = np.empty(active.size, np.int64)
    t = np.empty(active.size)
    m = 0
    for k in range(active.size):
        i = active[k]
        if lo <= stage[i] <= hi and next_t[i] < before:
            ids[m], t[m] = i, next_t[i]
            m += 1
    order = time_order(t[:m])
    return ids[order], t[order]


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
    """The active ids at ``closing`` whose next event is before ``before``, in time then id
    order (:func:`time_order`), and the other active ids at neither ``closed`` nor
    ``dropped`` (the active set once the first have closed), in id order."""
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
    return due[time_order(t[:m])], rest[:r].copy()


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
def time_order(t):  # type: ignore[no-untyped-def,unused-ignore]
    """The order of times ``t``, ties in index order: a stable sort's, found by buckets.

    The span of ``t`` is cut into about one bucket per four times; a counting pass puts
    each index and its time in the time's bucket (in index order), and each bucket is
    then sorted by time, stably: a short one by insertion, a long one (ties, mostly) by
    merge sort. The bucket of a time does not decrease as the time grows (correctly
    rounded arithmetic is monotone), so the buckets in turn give the stable order. A due
    list's times fill its day fairly evenly, so most buckets hold a few: on a county's due
    list this takes a quarter of the time of numpy's (unstable) ``argsort`` in a loop, and
    under half within a run. Times of infinite span are merge sorted whole."""
    n = t.size
    if n < 2:
        return np.argsort(t, kind="mergesort")
    lo, hi = _bounds(t)
    if not np.isfinite(hi - lo):  # an infinite time, or NaN
        return np.argsort(t, kind="mergesort")
    span = hi - lo
    nb = 1
    while nb * 4 < n:
        nb *= 2
    scale = nb / span if span > 0 else 0.0
    bucket = np.empty(n, np.int64)
    start = np.zeros(nb + 1, np.int64)
    for k in range(n):
        b = min(int((t[k] - lo) * scale), nb - 1)
        bucket[k] = b
        start[b + 1] += 1
    for b in range(nb):
        start[b + 1] += start[b]
    at = start[:nb].copy()
    order, key = np.empty(n, np.int64), np.empty(n)
    for k in range(n):
        j = at[bucket[k]]
        order[j], key[j] = k, t[k]
        at[bucket[k]] = j + 1
    for b in range(nb):
        lo_b, hi_b = start[b], start[b + 1]
        if hi_b - lo_b > 32:
            part = order[lo_b:hi_b].copy()
            order[lo_b:hi_b] = part[np.argsort(key[lo_b:hi_b], kind="mergesort")]
        elif hi_b - lo_b > 1:
            _insertion_sort(order, key, lo_b, hi_b)
    return order


@njit(cache=True, inline="always")
def _bounds(t):  # type: ignore[no-untyped-def,unused-ignore]
    """The least and the greatest of times ``t`` (not empty) in one pass, or NaN for both
    when one is NaN: what ``t.min()`` and ``t.max()`` give, without their two passes."""
    lo = hi = t[0]
    for k in range(1, t.size):
        x = t[k]
        if x != x:
            return np.nan, np.nan
        lo, hi = min(lo, x), max(hi, x)
    return lo, hi


@njit(cache=True, inline="always")
def _insertion_sort(a, key, lo, hi):  # type: ignore[no-untyped-def,unused-ignore]
    """Sort ``a[lo:hi]`` and ``key[lo:hi]`` in place by ``key``, stably."""
    for j in range(lo + 1, hi):
        x, kx = a[j], key[j]
        m = j - 1
        while m >= lo and key[m] > kx:
            a[m + 1], key[m + 1] = a[m], key[m]
            m -= 1
        a[m + 1], key[m + 1] = x, kx
