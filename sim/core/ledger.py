"""The case ledger: one row per issue, held as growable column arrays.

Columns are numpy arrays indexed by case id (ids are assigned in order of occurrence).
Besides the published columns (see :func:`sim.core.output.case_table`) the ledger holds each
case's working state: its ``stage`` and the time of its next event (``next_t``), the
unit it is at, its pre-sampled growth times, and its route through several units.
Only the ids in ``active`` (cases not yet closed or dropped) are touched each day.
"""

from __future__ import annotations

import numpy as np

# stages of a case's life
LATENT, DISPATCH, TRANSIT, QUEUED, CLOSING, CLOSED, DROPPED = range(7)
# outcome of a job at a unit, fixed when the case arrives there
WORK, ESCALATE, BOUNCE, TRIAGE, FOLLOW_UP = range(5)
# channels of discovery
CHANNELS = ("patrol", "volunteer", "hotline", "app", "walk_in", "inspection")
PATROL, VOLUNTEER, HOTLINE, APP, WALK_IN, INSPECTION = range(6)
# reasons a case is dropped
DROP_REASONS = ("", "lost_in_handoff", "bounce_limit")
LOST, BOUNCE_LIMIT = 1, 2
MAX_ROUTE = 4

_COLUMNS: dict[str, tuple[type, float | int]] = {
    "category": (np.int16, -1),
    "resident": (np.int32, -1),
    "grid": (np.int32, -1),
    "occurred": (np.float64, np.nan),
    "discovered": (np.float64, np.nan),
    "dispatched": (np.float64, np.nan),
    "started": (np.float64, np.nan),
    "resolved": (np.float64, np.nan),
    "closed": (np.float64, np.nan),
    "level0": (np.int8, 0),
    "level": (np.int8, -1),
    "grow1": (np.float64, np.inf),
    "grow2": (np.float64, np.inf),
    "self_report_at": (np.float64, np.inf),
    "self_channel": (np.int8, -1),
    "channel": (np.int8, -1),
    "tier": (np.int8, -1),
    "resolver": (np.int32, -1),
    "escalations": (np.int16, 0),
    "bounces": (np.int16, 0),
    "on_site": (np.int8, -1),
    "drop_reason": (np.int8, 0),
    "stage": (np.int8, LATENT),
    "next_t": (np.float64, np.inf),
    "unit": (np.int32, -1),
    "outcome": (np.int8, WORK),
    "at_layer": (np.int8, 0),
    "ignored": (np.bool_, False),
    "triaged": (np.bool_, False),
    "route_len": (np.int8, 0),
    "route_pos": (np.int8, 0),
    "followed": (np.bool_, False),
    "supervised": (np.bool_, False),
}


class Ledger:
    """Growable columns of case state.

    Args:
        capacity: rows to allocate at first (grows by doubling).
    """

    def __init__(self, capacity: int) -> None:
        self.n = 0
        self._cap = max(int(capacity), 16)
        self.cols: dict[str, np.ndarray] = {
            k: np.full(self._cap, fill, dtype=dt) for k, (dt, fill) in _COLUMNS.items()
        }
        self.route = np.full((self._cap, MAX_ROUTE), -1, dtype=np.int32)
        self.active = np.empty(0, dtype=np.int64)

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name]
        raise AttributeError(name)

    def add(self, n: int) -> np.ndarray:
        """Append ``n`` rows with default values; returns their ids (also made active)."""
        if self.n + n > self._cap:
            self._grow(self.n + n)
        ids = np.arange(self.n, self.n + n, dtype=np.int64)
        self.n += n
        self.active = np.concatenate([self.active, ids])
        return ids

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        for k, (dt, fill) in _COLUMNS.items():
            new: np.ndarray = np.full(cap, fill, dtype=dt)
            new[: self.n] = self.cols[k][: self.n]
            self.cols[k] = new
        route = np.full((cap, MAX_ROUTE), -1, dtype=np.int32)
        route[: self.n] = self.route[: self.n]
        self.route, self._cap = route, cap

    def due(self, stage: int, before: float, among: np.ndarray | None = None) -> np.ndarray:
        """Active ids at ``stage`` whose next event is before ``before``, in time then id order.

        ``among`` narrows the search to a subset of active ids (e.g. those due today).
        """
        a = self.active if among is None else among
        ids = a[(self.cols["stage"][a] == stage) & (self.cols["next_t"][a] < before)]
        return ids[np.lexsort((ids, self.cols["next_t"][ids]))]

    def compact(self) -> None:
        """Drop closed and dropped cases from the active set."""
        st = self.cols["stage"][self.active]
        self.active = self.active[(st != CLOSED) & (st != DROPPED)]

    def column(self, name: str) -> np.ndarray:
        """The first ``n`` values of a column (a view)."""
        return self.cols[name][: self.n]
