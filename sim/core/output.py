"""Tidy tables of a finished run: the case ledger, the daily table, the requests.

Times are days since the start (floats, NaN where not reached). A case still moving at
the horizon has status ``open``; its later times are NaN even where the model had
already booked them (a queue slot beyond the horizon is not yet an event).

Every column is built as a fresh array, and the tables take them as they are (pandas'
``copy=False``: one block per column, no copy into consolidated blocks). At the end of a
run the case table may take the ledger's own columns instead (``consume``), and write
its new columns into the memory of the ledger's columns it does not show: a
county-year's ledger is hundreds of MB, and memory never used before is slow to get on
some machines (``benchmarks/county_year.py --warm-memory``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.core.agents import KIND_CALENDAR, KINDS
from sim.core.kinds import LEVELS, Tier
from sim.core.ledger import CHANNELS, DROP_REASONS, Stage
from sim.core.staffing import count_staff, paid_hours, village_task_hours

if TYPE_CHECKING:
    from sim.core.model import GovModel

TIME_COLUMNS = ("occurred", "discovered", "dispatched", "started", "resolved", "closed")


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical[str]:
    """Integer codes (-1 for missing) as a pandas categorical, which keeps ``codes`` itself
    when they are of the width it stores (int8 below 127 categories): pass the table's own."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories))


def case_table(model: GovModel, consume: bool = False) -> pd.DataFrame:
    """One row per case: place, channel, times, the level it needed at occurrence (``need``),
    the tier and unit that resolved it, escalations, bounces, status.

    ``consume``: the run is over; the table takes the ledger's columns where it can
    instead of copying them (its times set to NaN past the horizon in place), writes its
    new columns into the memory of the ledger's columns it does not show
    (:class:`_Spare`), and the model's ledger must not be used afterwards.
    """
    L, horizon = model.ledger, float(model.days)
    col = L.column
    own = (lambda a: a) if consume else np.copy
    new = _Spare(L, consume)
    times = {k: _before(col(k), horizon, consume) for k in TIME_COLUMNS}
    stage = col("stage")
    closed = (stage == Stage.CLOSED) & ~np.isnan(times["closed"])
    dropped = (stage == Stage.DROPPED) & ~np.isnan(times["closed"])
    status = new.array(np.int8)
    status.fill(1)
    status[closed], status[dropped] = 0, 2
    resolved, unfound = ~np.isnan(times["resolved"]), np.isnan(times["discovered"])
    grid = own(col("grid"))
    units = model.units.units
    resolver = [f"{KINDS[u.kind]}:{u.index}" for u in units]
    on_site = new.like(col("on_site"), np.float64)
    on_site[(col("tier") != Tier.ENFORCEMENT) | ~resolved] = np.nan
    return pd.DataFrame(
        {
            "case_id": new.ids(),
            "category": _categorical(own(col("category")), categories=list(model.catalogue.names)),
            "town": new.take(model.places.town_of_grid, grid),
            "village": new.take(model.places.village_of_grid, grid),
            "grid": grid,
            "channel": _categorical(_unless(own(col("channel")), unfound, -1), categories=list(CHANNELS)),
            "occurred_at": times["occurred"],
            "discovered_at": times["discovered"],
            "dispatched_at": times["dispatched"],
            "handling_started_at": times["started"],
            "resolved_at": times["resolved"],
            "closed_at": times["closed"],
            "need": _categorical(own(col("level0")), categories=list(LEVELS)),
            "tier": _categorical(_unless(own(col("tier")), ~resolved, -1), categories=list(LEVELS)),
            "resolver": _categorical(_unless(own(col("resolver")), ~resolved, -1), categories=resolver),
            "escalations": new.like(col("escalations"), np.int32),
            "bounces": new.like(col("bounces"), np.int32),
            "on_site": on_site,
            "status": _categorical(status, categories=["closed", "open", "dropped"]),
            "drop_reason": _categorical(_unless(own(col("drop_reason")), ~dropped, 0), list(DROP_REASONS)),
            "deadline_days": new.take(model.catalogue.deadline, col("category")),
            "supervised": own(col("supervised")),
            "reopened": new.like(col("reopened"), np.int32),
            "poor": _unless(own(col("poor")), ~resolved, False),
        },
        copy=False,
    )


SPARE_COLUMNS = ("next_t", "grow1", "grow2", "grow3", "self_report_at", "resident", "item", "unit")
"""The ledger's columns the case table does not show, whose memory a consumed ledger lends
to the table's new columns (with the ``route`` and ``draws`` arrays)."""


BLOCK = 1 << 16
"""Case ids written at a time by :meth:`_Spare.ids`: its temporaries stay small and in
cache, whatever the size of the run."""


class _Spare:
    """New columns of ``L.n`` values for the case table: carved out of the memory of the
    ledger's columns it does not show (:data:`SPARE_COLUMNS`, ``route``, ``draws``) when
    the ledger is consumed, else fresh arrays. A county-year's table needs about 130 MB of
    new columns, which this spares the machine (memory never used before is slow to get on
    some, ``benchmarks/county_year.py --warm-memory``)."""

    def __init__(self, L: Any, consume: bool) -> None:
        self.n, self.free = L.n, []
        if consume:
            spare = [L.cols[k][: L.n] for k in SPARE_COLUMNS] + [L.route[: L.n], L.draws[: L.n]]
            self.free = [a.reshape(-1).view(np.uint8) for a in spare]

    def array(self, dtype: Any) -> np.ndarray:
        """An uninitialised column of ``dtype``."""
        size = self.n * np.dtype(dtype).itemsize
        for k, buf in enumerate(self.free):
            if buf.size >= size:
                self.free[k] = buf[-(-size // 64) * 64 :]  # the rest, aligned to 64 bytes
                return buf[:size].view(dtype)
        return np.empty(self.n, dtype)

    def like(self, values: np.ndarray, dtype: Any) -> np.ndarray:
        """``values`` as a new column of ``dtype``."""
        out = self.array(dtype)
        np.copyto(out, values)
        return out

    def take(self, table: np.ndarray, index: np.ndarray) -> np.ndarray:
        """``table[index]`` as a new column (``index`` within the table: numpy's take into
        an array given checks each index first into a buffered copy, which ``wrap`` skips,
        three times faster on a county's cases; a negative index counts from the end in
        both)."""
        return np.take(table, index, out=self.array(table.dtype), mode="wrap")

    def ids(self) -> np.ndarray:
        """The case ids, 0 to ``n - 1`` (int64), written a block at a time."""
        out = self.array(np.int64)
        for lo in range(0, self.n, BLOCK):
            out[lo : lo + BLOCK] = np.arange(lo, min(lo + BLOCK, self.n))
        return out


def _unless(values: np.ndarray, where: np.ndarray, fill: Any) -> np.ndarray:
    """``values`` with ``fill`` where ``where`` (in place)."""
    values[where] = fill
    return values


def _before(t: np.ndarray, horizon: float, in_place: bool) -> np.ndarray:
    """Times ``t`` with those at or past ``horizon`` NaN (in ``t`` itself when ``in_place``)."""
    if not in_place:
        return np.where(t >= horizon, np.nan, t)
    t[t >= horizon] = np.nan
    return t


def request_table(model: GovModel) -> pd.DataFrame:
    """One row per service request: kind (``ordinary`` or ``one_thing``), submitted,
    completed, trips, steps, town."""
    t = model.mechanisms["one_window"].table()
    done = t["completed"] < model.days
    return pd.DataFrame(
        {
            "request_id": np.arange(t["submitted"].size),
            "kind": _categorical(t["kind"].astype(np.int64), categories=["ordinary", "one_thing"]),
            "town": t["town"].astype(np.int32),
            "steps": t["steps"].astype(np.int32),
            "submitted_at": t["submitted"],
            "completed_at": np.where(done, t["completed"], np.nan),
            "trips": np.where(done, t["trips"], np.nan),
        },
        copy=False,
    )


def _counts_by_day(
    values: np.ndarray, days: int, group: np.ndarray | None = None, groups: int = 1, first: int = 0
) -> np.ndarray:
    """Counts of the times ``values`` (days, none negative) that fall on each day (NaN and
    times past the horizon left out), by ``group - first`` (codes below ``groups``; others
    left out): groups × days, in one compiled pass
    (:func:`sim.core.metrics_compiled.counts_by_day`)."""
    from sim.core.metrics_compiled import counts_by_day

    return counts_by_day(values, int(days), np.empty(0, np.int8) if group is None else group, first, groups)


def staff_by_kind(model: GovModel) -> dict[str, int]:
    """Paid staff of each kind (grid counts patrollers and leaders)."""
    return count_staff(model.params, model.units.kind, model.units.staff, model.places.n_grids)


def daily_table(model: GovModel) -> pd.DataFrame:
    """One row per day: flows, day-end stocks, patrol hours and utilisation by kind."""
    days, L = model.days, model.ledger
    cols = {
        "day": np.arange(days),
        "occurred": _counts_by_day(L.column("occurred"), days)[0],
        "discovered": _counts_by_day(L.column("discovered"), days)[0],
    }
    resolved = _counts_by_day(L.column("resolved"), days, L.column("tier"), len(LEVELS))
    cols |= {f"resolved_{name}": resolved[i] for i, name in enumerate(LEVELS)}
    ended = _counts_by_day(L.column("closed"), days, L.column("stage"), 2, int(Stage.CLOSED))
    cols |= {"closed": ended[0], "dropped": ended[Stage.DROPPED - Stage.CLOSED]}
    cols |= {k: np.asarray(v)[:days] for k, v in model.snapshots.items()}
    hours = shift_hours(model)
    for i, k in enumerate(KINDS):
        cap = model.units.staff[model.units.kind == i].sum() * hours[i]
        cols[f"utilisation_{k}"] = np.divide(model.world.work.busy[i], cap, out=np.zeros(days), where=cap > 0)
    return pd.DataFrame(cols, copy=False)


def shift_hours(model: GovModel) -> np.ndarray:
    """Hours one server of each kind works on each day (kinds × days; 0 on days off):
    the capacity that utilisation divides by."""
    week_day = np.arange(model.days) % 7
    out = np.zeros((len(KINDS), model.days))
    for i, cal in enumerate(KIND_CALENDAR):
        shift = getattr(model.params.calendar, cal)
        out[i] = shift.hours_per_day * (week_day < shift.days_per_week)
    return out


def staff_hours(model: GovModel) -> float:
    """Paid staff-hours over the run (the cost): staff × shift hours × working days, grid
    tasks given to village staff, and overtime."""
    p, days = model.params, model.days
    paid = paid_hours(p, staff_by_kind(model), days) + village_task_hours(p, model.places.n_grids, days)
    return float(paid + model.world.work.overtime_hours.sum())
