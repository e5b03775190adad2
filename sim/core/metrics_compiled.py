"""The KPIs' passes over a run's case columns, compiled (numba).

Loaded by :func:`sim.core.metrics.summary` when it runs, so that reading the metrics'
names and targets loads no numba.
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
