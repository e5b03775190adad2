"""The KPIs' and the daily table's passes over a run's case columns, compiled (numba).

Loaded by :func:`sim.core.metrics.summary` and :func:`sim.core.output.daily_table` when
they run, so that reading the metrics' names and targets loads no numba.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import njit


@njit(cache=True)
def masked_difference(a, b, among):  # type: ignore[no-untyped-def,unused-ignore]
    """``b[among] - a[among]`` in one pass: the same values in the same order, without the
    two gathered copies."""
    out = np.empty(np.count_nonzero(among))
    m = 0
    for k in range(among.size):
        if among[k]:
            out[m] = b[k] - a[k]
            m += 1
    return out


@njit(cache=True)
def counts_by_day(values, days, group, first, groups):  # type: ignore[no-untyped-def,unused-ignore]
    """Counts of the times ``values`` (days, none negative) that fall on each day (NaN and
    times past the horizon left out), by ``group - first`` (codes below ``groups``; others
    left out; an empty ``group``: all in group 0): groups × days, in one pass."""
    out = np.zeros((groups, days), np.int64)
    grouped = group.size > 0
    for k in range(values.size):
        v = values[k]
        if v < days:  # False for NaN
            g = np.int64(group[k]) - first if grouped else 0
            if 0 <= g < groups:
                out[g, np.int64(v)] += 1  # truncation is the floor of a time not negative
    return out
