"""The case ledger: one row per issue, held as growable column arrays; the owner of a
case's life cycle.

Columns are numpy arrays indexed by case id (ids are assigned in order of occurrence).
Besides the published columns (see :func:`sim.core.output.case_table`) the ledger
holds each case's working state: its ``stage``, the time of its next event
(``next_t``), the unit it is at, its pre-sampled growth times, and its route through
several units. Only the ids in ``active`` (cases not yet closed or dropped, in id
order) are touched each day.

A case's life is a walk through this diagram, and the named transitions below are the
only code that writes ``stage``, ``next_t``, ``closed`` and ``drop_reason``::

    (new) --occur--> LATENT --find--> DISPATCH --send--> TRANSIT --queue--> QUEUED
                                        |  ^                ^                 |
                                        |  +---redispatch---+-----------------+  (triaged,
                                        |                   +------send-------+   bounced,
                                       drop            drop (timed out)       |   escalated;
                                        v                   v                 |   next unit,
                                     DROPPED <------------drop----------------+   follow-up)
                                                                              |
                      CLOSED <--close-- CLOSING (verify_until) <--resolve-----+
                                          |
                                          +--reopen--> TRANSIT (back to its resolver)

:data:`TRANSITIONS` lists the edges; with ``trace`` on, the ledger records every edge a
run takes (a test checks them against the diagram). ``occur`` and ``close`` are methods
here (``close`` announces the event ``closed`` through the world's hooks,
:class:`sim.core.world.Hooks`); ``find`` (discovery's) and the edges the case flow takes
are the ledger's compiled transitions (:mod:`sim.core.ledger_flow`), over its columns as
:data:`Cases`, whose ``resolved`` and ``dropped`` the flow announces after the day's flow.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from collections.abc import Callable
from enum import IntEnum
from types import ModuleType

import numpy as np

from sim.core.rng import FLOW_STREAMS


class Stage(IntEnum):
    """Stages of a case's life."""

    LATENT = 0
    DISPATCH = 1
    TRANSIT = 2
    QUEUED = 3
    CLOSING = 4
    CLOSED = 5
    DROPPED = 6


NEW = -1
"""The stage of a row before it occurs (for the trace only)."""


class Outcome(IntEnum):
    """What a unit does with a case, fixed when the case arrives there."""

    WORK = 0
    ESCALATE = 1
    BOUNCE = 2
    TRIAGE = 3
    FOLLOW_UP = 4


class Channel(IntEnum):
    """How a case was discovered."""

    PATROL = 0
    VOLUNTEER = 1
    HOTLINE = 2
    APP = 3
    WALK_IN = 4
    INSPECTION = 5
    PROFESSIONAL = 6
    """Found by the patrol of a professional grid (public security, fire, safety; 001)."""
    POLICE = 7


class DropReason(IntEnum):
    """Why a case was dropped (NONE for every other case)."""

    NONE = 0
    LOST_IN_HANDOFF = 1
    BOUNCE_LIMIT = 2
    TIMED_OUT = 3
    """No unit took the case up within its patience: closed without a resolution."""


CHANNELS: tuple[str, ...] = tuple(c.name.lower() for c in Channel)
DROP_REASONS: tuple[str, ...] = ("",) + tuple(r.name.lower() for r in DropReason if r)
MAX_ROUTE = 4

TRANSITIONS: dict[str, tuple[tuple[int, int], ...]] = {
    "occur": ((NEW, Stage.LATENT),),
    "find": ((Stage.LATENT, Stage.DISPATCH),),
    "send": ((Stage.DISPATCH, Stage.TRANSIT), (Stage.QUEUED, Stage.TRANSIT)),
    "queue": ((Stage.TRANSIT, Stage.QUEUED),),
    "redispatch": ((Stage.QUEUED, Stage.DISPATCH),),
    "resolve": ((Stage.QUEUED, Stage.CLOSING),),
    "verify_until": ((Stage.CLOSING, Stage.CLOSING),),
    "reopen": ((Stage.CLOSING, Stage.TRANSIT),),
    "close": ((Stage.CLOSING, Stage.CLOSED),),
    "drop": ((Stage.DISPATCH, Stage.DROPPED), (Stage.TRANSIT, Stage.DROPPED), (Stage.QUEUED, Stage.DROPPED)),
}
"""The state diagram: each named transition and the (from, to) stage edges it may take."""

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
    "grow3": (np.float64, np.inf),
    "self_report_at": (np.float64, np.inf),
    "self_channel": (np.int8, -1),
    "channel": (np.int8, -1),
    "tier": (np.int8, -1),
    "resolver": (np.int32, -1),
    "escalations": (np.int16, 0),
    "bounces": (np.int16, 0),
    "on_site": (np.int8, -1),
    "item": (np.int32, -1),
    "drop_reason": (np.int8, DropReason.NONE),
    "stage": (np.int8, Stage.LATENT),
    "next_t": (np.float64, np.inf),
    "unit": (np.int32, -1),
    "outcome": (np.int8, Outcome.WORK),
    "at_layer": (np.int8, 0),
    "ignored": (np.bool_, False),
    "triaged": (np.bool_, False),
    "route_len": (np.int8, 0),
    "route_pos": (np.int8, 0),
    "followed": (np.bool_, False),
    "supervised": (np.bool_, False),
    "poor": (np.bool_, False),
    "reopened": (np.int16, 0),
}

Emit = Callable[..., None]

Cases = namedtuple("Cases", [*_COLUMNS, "route", "draws", "trace"])  # type: ignore[misc]
"""The ledger's columns, its routes, its counters of each case's random draws by
stream (:mod:`sim.core.draws`) and the compiled transitions' trace, as one tuple the
compiled case flow takes (:mod:`sim.core.ledger_flow`)."""

TRACE_SHAPE = (len(TRANSITIONS), len(Stage) + 1, len(Stage) + 1)
"""The compiled trace: (transition, from stage + 1, to stage + 1) edges taken."""


@functools.cache
def _compiled() -> ModuleType:
    """The ledger's compiled queries (:mod:`sim.core.ledger_select`), imported on first
    use, so that reading the ledger's names (stages, channels) loads no numba."""
    from sim.core import ledger_select

    return ledger_select


def time_order(t: np.ndarray) -> np.ndarray:
    """The order of times ``t``, ties in index order (a stable sort's), by a compiled
    bucket sort (:func:`sim.core.ledger_select.time_order`)."""
    return _compiled().time_order(t)


FILL_ROWS = 1 << 16
"""Rows of the columns of other defaults than zero given their defaults at a time, as the
cases reach them (:meth:`Ledger.occur`)."""


def _column(n: int, dtype: type, fill: float | int) -> np.ndarray:
    """Room for a column of ``n`` values that default to ``fill``. A column of zeros is
    allocated zeroed (``np.zeros``): the system then provides its pages only when they are
    written, which a column that few cases change (bounces, reopenings) mostly never is.
    Another is allocated empty and given its default a block of rows at a time, as the
    cases reach them (:meth:`Ledger._fill`): rows never used are never written, and those
    used are written just before the run writes them again (a county-year's ledger is
    hundreds of MB, and memory used for the first time is slow to get on some machines,
    ``benchmarks/county_year.py --warm-memory``)."""
    return np.zeros(n, dtype=dtype) if fill == 0 else np.empty(n, dtype=dtype)


class Ledger:
    """Growable columns of case state, changed in stage only through named transitions.

    Args:
        capacity: rows to allocate at first (grows by doubling).
        max_level: the highest level each category can grow to (by category code).
        emit: called as ``emit(event, *args)`` by the transitions that announce themselves.
    """

    def __init__(self, capacity: int, max_level: np.ndarray, emit: Emit) -> None:
        self.n = 0
        self._cap = max(int(capacity), 16)
        self.cols: dict[str, np.ndarray] = {
            k: _column(self._cap, dt, fill) for k, (dt, fill) in _COLUMNS.items()
        }
        self.route = np.empty((self._cap, MAX_ROUTE), dtype=np.int32)
        self._filled_to = 0
        """Rows given their defaults so far (:meth:`_fill`)."""
        self.draws = np.zeros((self._cap, len(FLOW_STREAMS)), dtype=np.int16)
        self.active = np.empty(0, dtype=np.int64)
        self.max_level = max_level
        self._emit = emit
        self.trace: set[tuple[str, int, int]] | None = None
        """Set to an empty set to record every (transition, from, to) a run takes."""
        self._flow_trace = np.zeros(TRACE_SHAPE, dtype=np.bool_)
        self._cases: Cases | None = None

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name]
        raise AttributeError(name)

    # ------------------------------------------------------------------ queries
    def due_between(self, first: int, last: int, before: float) -> tuple[np.ndarray, np.ndarray]:
        """Active ids at a stage from ``first`` to ``last`` whose next event is before
        ``before``, and those times, in time then id order (one compiled call,
        :func:`sim.core.ledger_select.due`)."""
        c = self.cols
        return _compiled().due(self.active, c["stage"], c["next_t"], int(first), int(last), float(before))

    def column(self, name: str) -> np.ndarray:
        """The first ``n`` values of a column (a view)."""
        return self.cols[name][: self.n]

    def open_in(self, *stages: int) -> np.ndarray:
        """Active ids at any of ``stages``."""
        if len(stages) == 1:
            return _compiled().at_stage(self.active, self.cols["stage"], int(stages[0]))
        a, st = self.active, self.cols["stage"][self.active]
        return a[np.isin(st, stages)]

    def undiscovered(self) -> np.ndarray:
        """Active ids of issues no one has found yet."""
        return self.open_in(Stage.LATENT)

    def found_unresolved(self) -> np.ndarray:
        """Active ids found and not yet resolved: awaiting dispatch, on the way, or at a unit."""
        return self.open_in(Stage.DISPATCH, Stage.TRANSIT, Stage.QUEUED)

    def queued(self) -> np.ndarray:
        """Active ids booked at a unit (their ``unit``), waiting or being worked on."""
        return self.open_in(Stage.QUEUED)

    def stage_counts(self, unit_kind: np.ndarray, n_kinds: int) -> tuple[np.ndarray, np.ndarray]:
        """Active cases by stage, and those queued at a unit by the unit's kind
        (``unit_kind``, codes below ``n_kinds``)."""
        c = self.cols
        return _compiled().counts(
            self.active, c["stage"], len(Stage), int(Stage.QUEUED), c["unit"], unit_kind, n_kinds
        )

    def n_closed(self) -> int:
        """Cases closed so far (resolved and verified)."""
        return int(np.count_nonzero(self.column("stage") == Stage.CLOSED))

    def n_dropped(self) -> int:
        """Cases dropped so far (no one will handle them)."""
        return int(np.count_nonzero(self.column("stage") == Stage.DROPPED))

    # -------------------------------------------------------------- transitions
    def _move(self, name: str, ids: np.ndarray, to: int) -> None:
        st = self.cols["stage"]
        if self.trace is not None and ids.size:
            self.trace.update((name, int(s), int(to)) for s in np.unique(st[ids]))
        st[ids] = to

    def occur(self, self_report_at: np.ndarray) -> np.ndarray:
        """New latent cases, next event their resident's own report; returns their ids."""
        n = self_report_at.size
        if self.n + n > self._cap:
            self._grow(self.n + n)
        if self.n + n > self._filled_to:
            self._fill(self.n + n)
        ids = np.arange(self.n, self.n + n, dtype=np.int64)
        self.n += n
        self.active = np.concatenate([self.active, ids])
        if self.trace is not None and n:
            self.trace.add(("occur", NEW, Stage.LATENT))
        self.cols["self_report_at"][ids] = self_report_at
        self.cols["next_t"][ids] = self_report_at
        return ids

    def close_due(self, before: float) -> None:
        """Close the cases whose verification ends before ``before``, at their ``next_t``,
        in time then id order (hook ``closed``), and drop every closed or dropped case from
        the active set: one compiled pass over it (:func:`sim.core.ledger_select.closing`)."""
        c, stages = self.cols, (int(Stage.CLOSING), int(Stage.CLOSED), int(Stage.DROPPED))
        ids, self.active = _compiled().closing(self.active, c["stage"], c["next_t"], *stages, before)
        self._move("close", ids, Stage.CLOSED)
        c["closed"][ids] = c["next_t"][ids]
        self._emit("closed", ids)

    def cases(self) -> Cases:
        """The columns, routes and trace as :data:`Cases`, for the compiled transitions
        (:mod:`sim.core.ledger_flow`) that the case flow takes: the same tuple until the
        ledger grows (its columns are then new arrays)."""
        if self._cases is None:
            more = {"route": self.route, "draws": self.draws, "trace": self._flow_trace}
            self._cases = Cases(**self.cols, **more)
        return self._cases

    def absorb_trace(self) -> None:
        """Add the compiled transitions' edges to ``trace`` (when it is on)."""
        if self.trace is None or not self._flow_trace.any():
            return
        names = list(TRANSITIONS)
        for k, a, b in zip(*np.nonzero(self._flow_trace), strict=True):
            self.trace.add((names[k], int(a) - 1, int(b) - 1))
        self._flow_trace[:] = False

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        for k, (dt, fill) in _COLUMNS.items():
            new = _column(cap, dt, fill)
            new[: self._filled_to] = self.cols[k][: self._filled_to]
            self.cols[k] = new
        route = np.empty((cap, MAX_ROUTE), dtype=np.int32)
        route[: self._filled_to] = self.route[: self._filled_to]
        draws = np.zeros((cap, len(FLOW_STREAMS)), dtype=np.int16)
        draws[: self.n] = self.draws[: self.n]
        self.route, self.draws, self._cap = route, draws, cap
        self._cases = None

    def _fill(self, need: int) -> None:
        """Give the rows up to at least ``need`` their defaults, :data:`FILL_ROWS` at a
        time (at most to the capacity): the columns of other defaults than zero and the
        routes (the others were allocated zeroed, :func:`_column`)."""
        a, b = self._filled_to, min(max(need, self._filled_to + FILL_ROWS), self._cap)
        for k, (_, fill) in _COLUMNS.items():
            if fill != 0:
                self.cols[k][a:b] = fill
        self.route[a:b] = -1
        self._filled_to = b
