"""The ledger's calendar: which cases have an event on which day.

A day's case flow and its closing need the cases due that day. A pass over every open
case finds them, but reads each one's stage and time at a scattered place in the
ledger, and in a county most open cases are not due (latent, waiting in a queue, in
verification). The calendar instead keeps lists of cases by day: for each of its lists
(:data:`sim.core.ledger.FLOW_LIST`, ``CLOSE_LIST``, ``DROP_LIST``) and each day, the ids of
the cases put on it for that day and their times, in chunks of :data:`CHUNK` side by
side, so that a day's list is read a chunk at a time and no ledger row is read to find it.

A case is on at most one list at a time: the ledger's transitions put it on one
(:func:`sim.core.ledger_select.put`) when its next event falls on a later day, and
taking a day's list (:func:`sim.core.ledger_select.take`) empties it; while a case is on
a list its stage and time of next event do not change (only its own events change
them; a test holds each day's lists to a pass over the open cases). The last day's
list also holds every case due at or after the horizon, and times that are not finite.

The arrays (:class:`Calendar`): ``slots[c]`` and ``times[c]``, chunk ``c``'s ids and
times; ``chunks[c]``, its next chunk and its count of ids; ``ends[0, list, day]`` and
``ends[1, list, day]``, the first and last chunk of a day's list (−1 when empty);
``free[0]``, the number of free chunks, and ``free[1 : free[0] + 1]``, them. Each id on a
list is a distinct case and only a list's last chunk is not full, so
:func:`chunks_for` chunks always suffice.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

CHUNK = 32
"""Ids per chunk."""


class Calendar(NamedTuple):
    """A calendar's arrays (see the module's description)."""

    slots: np.ndarray  # (chunks, CHUNK) int64: case ids
    times: np.ndarray  # (chunks, CHUNK) float64: their times
    chunks: np.ndarray  # (chunks, 2) int64: the next chunk, the count of ids
    ends: np.ndarray  # (2, lists, days + 1) int64: a list's first chunk, its last
    free: np.ndarray  # (chunks + 1,) int64: the count of free chunks, then them

    @staticmethod
    def empty(lists: int, days: int, cases: int) -> Calendar:
        """A calendar of ``lists`` lists for each of ``days`` days and the horizon's, with
        chunks for ``cases`` cases."""
        n = chunks_for(cases, lists, days)
        free = np.empty(n + 1, dtype=np.int64)
        free[0], free[1:] = n, np.arange(n - 1, -1, -1)
        ends = np.full((2, lists, max(int(days), 0) + 1), -1, dtype=np.int64)
        slots, times = np.empty((n, CHUNK), dtype=np.int64), np.empty((n, CHUNK))
        return Calendar(slots, times, np.empty((n, 2), dtype=np.int64), ends, free)

    def grown(self, cases: int) -> Calendar:
        """The calendar with chunks for ``cases`` cases (itself if it has them)."""
        old = self.chunks.shape[0]
        n = chunks_for(cases, self.ends.shape[1], self.ends.shape[2] - 1)
        if n <= old:
            return self
        slots, times = np.empty((n, CHUNK), dtype=np.int64), np.empty((n, CHUNK))
        chunks = np.empty((n, 2), dtype=np.int64)
        slots[:old], times[:old], chunks[:old] = self.slots, self.times, self.chunks
        k = int(self.free[0])
        free = np.empty(n + 1, dtype=np.int64)
        free[1 : k + 1] = self.free[1 : k + 1]
        free[k + 1 : k + 1 + n - old] = np.arange(n - 1, old - 1, -1)
        free[0] = k + n - old
        return Calendar(slots, times, chunks, self.ends, free)


def chunks_for(cases: int, lists: int, days: int) -> int:
    """Chunks enough for ``cases`` ids on ``lists`` lists of ``days + 1`` days: the full
    ones, and a last one for each list of each day."""
    return -(-int(cases) // CHUNK) + lists * (max(int(days), 0) + 1)
