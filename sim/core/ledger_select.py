"""The ledger's daily queries, compiled (numba).

A day asks the ledger which cases are due, to the flow and to closure (a day's list of
its calendar, :func:`take`, which the transitions fill with :func:`put`;
:mod:`sim.core.calendar`), and which are latent and how many are at each stage (one
loop over ``active``, open ids in id order, each), instead of a chain of numpy masks
and gathers, whose per-call cost dominates at a town's few thousand open cases. Ids
stay in id order, and the events due come in time then id order, sorted in the same call.
"""

from __future__ import annotations

import numpy as np

from sim.core.calendar import CHUNK
from sim.core.jit import njit


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
def without(active, gone):  # type: ignore[no-untyped-def,unused-ignore]
    """The ids of ``active`` not in ``gone`` (both in id order; an id of ``gone`` not in
    ``active`` is an error)."""
    out = np.empty(active.size, np.int64)
    m = g = 0
    for k in range(active.size):
        if g < gone.size and active[k] == gone[g]:
            g += 1
        else:
            out[m] = active[k]
            m += 1
    if g < gone.size:
        raise ValueError("a case left the active set that was not in it")
    return out[:m].copy()


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
    if n < 2 or not np.isfinite(t.max() - t.min()):
        return np.argsort(t, kind="mergesort")
    lo, span = t.min(), t.max() - t.min()
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
def _insertion_sort(a, key, lo, hi):  # type: ignore[no-untyped-def,unused-ignore]
    """Sort ``a[lo:hi]`` and ``key[lo:hi]`` in place by ``key``, stably."""
    for j in range(lo + 1, hi):
        x, kx = a[j], key[j]
        m = j - 1
        while m >= lo and key[m] > kx:
            a[m + 1], key[m + 1] = a[m], key[m]
            m -= 1
        a[m + 1], key[m + 1] = x, kx


@njit(cache=True, inline="always")
def put(K, i, which, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Put case ``i``, on no list, on list ``which`` of the calendar ``K`` for the day of
    ``t`` (``t ≥ 0``), with ``t``; for the last day if ``t`` is at or after it or not
    finite."""
    last = K.ends.shape[2] - 1
    d = int(t) if t < last else last
    c = K.ends[1, which, d]
    if c < 0 or K.chunks[c, 1] == CHUNK:  # a new last chunk
        n = K.free[0]
        new = K.free[n]
        K.free[0] = n - 1
        K.chunks[new, 0], K.chunks[new, 1] = -1, 0
        if c < 0:
            K.ends[0, which, d] = new
        else:
            K.chunks[c, 0] = new
        K.ends[1, which, d] = new
        c = new
    f = K.chunks[c, 1]
    K.slots[c, f], K.times[c, f] = i, t
    K.chunks[c, 1] = f + 1


@njit(cache=True)
def take(K, which, day):  # type: ignore[no-untyped-def,unused-ignore]
    """Empty list ``which`` of ``day`` in the calendar ``K``: its cases due before
    ``day + 1`` and their times, in time then id order. On the last day's list (a model
    stepped to or past its horizon) the cases not yet due go back on it."""
    d = min(day, K.ends.shape[2] - 1)
    n, c = 0, K.ends[0, which, d]
    while c >= 0:
        n += K.chunks[c, 1]
        c = K.chunks[c, 0]
    ids, t = np.empty(n, np.int64), np.empty(n)
    m, c = 0, K.ends[0, which, d]
    K.ends[0, which, d] = K.ends[1, which, d] = -1
    while c >= 0:
        for s in range(K.chunks[c, 1]):
            ids[m], t[m] = K.slots[c, s], K.times[c, s]
            m += 1
        nxt = K.chunks[c, 0]
        K.free[0] += 1
        K.free[K.free[0]] = c
        c = nxt
    m, before = 0, day + 1.0
    for k in range(n):
        if t[k] < before:
            ids[m], t[m] = ids[k], t[k]
            m += 1
        else:
            put(K, ids[k], which, t[k])
    order = time_order(t[:m])
    ids, t = ids[order], t[order]
    _ties_by_id(ids, t)
    return ids, t


@njit(cache=True)
def _ties_by_id(ids, t):  # type: ignore[no-untyped-def,unused-ignore]
    """Put each run of equal times ``t`` (sorted) in id order, in place."""
    n, a = t.size, 0
    while a < n:
        b = a + 1
        while b < n and t[b] == t[a]:
            b += 1
        if b - a > 1:
            ids[a:b] = np.sort(ids[a:b])
        a = b
