"""What :class:`~sim.core.mesa_model.MesaGovModel` reports to Mesa's ``DataCollector``.

Model reporters, one value per day: the columns of the daily table
(:func:`sim.core.output.daily_table`, the day's row as it stands at the day's end, which
is its final value) and the run summary's KPIs and steady-state verdict
(:data:`sim.core.metrics.KPIS`, :data:`sim.core.steady.STEADY_COLUMNS`; NaN until the
horizon, then the run's summary). Agent
reporters, one row per unit and day (:data:`UNIT_COLUMNS`): its kind, the cases queued
at it, its utilisation and its hours by activity.

The day's values are computed once per day, as arrays over units (a county has about
2,000 grid teams); each reporter reads its value from them.
"""

from __future__ import annotations

from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.core.agents import KINDS
from sim.core.kinds import LEVELS
from sim.core.ledger import Stage
from sim.core.metrics import KPIS
from sim.core.model import SNAPSHOT_COLUMNS
from sim.core.steady import STEADY_COLUMNS

if TYPE_CHECKING:
    from sim.core.mesa_model import MesaGovModel

FLOW_COLUMNS = ("occurred", "discovered", *(f"resolved_{k}" for k in LEVELS), "closed", "dropped")
"""Cases entering each stage on the day (by the time of the event)."""
DAILY_COLUMNS = ("day", *FLOW_COLUMNS, *SNAPSHOT_COLUMNS, *(f"utilisation_{k}" for k in KINDS))
"""The daily table's columns, in its order."""
UNIT_COLUMNS = (
    "kind",
    "unit_backlog",
    "unit_utilisation",
    "unit_handling_hours",
    "unit_overtime_hours",
    "unit_patrol_hours",
)
"""What each unit reports each day: its kind; the cases queued at it at the day's end;
its regular hours on jobs starting that day (cases and requests: work, assessment,
travel) over its staff's shift hours (0 on days off); those hours; its overtime hours
on jobs starting that day (the centre's deadline watch); the patrol hours of its grids
(grid teams; 0 for other units). Named ``unit_*`` so that no column shares a name with
the model reporters (``batch_run`` merges a unit's row into the model's)."""


def day_row(model: MesaGovModel, touched: np.ndarray) -> dict[str, float]:
    """The daily table's row of the day just stepped.

    Args:
        model: the model, at the end of a day.
        touched: every case an event of the day can concern (the cases active at the
            day's start and those that occurred in it).
    """
    d, c = model.day, model.ledger.cols
    stage = c["stage"][touched]

    def on_day(column: str) -> np.ndarray:
        t = c[column][touched]
        return (t >= d) & (t < d + 1)

    row: dict[str, float] = {
        "day": d,
        "occurred": int(on_day("occurred").sum()),
        "discovered": int(on_day("discovered").sum()),
    }
    resolved, tier = on_day("resolved"), c["tier"][touched]
    for i, name in enumerate(LEVELS):
        row[f"resolved_{name}"] = int((resolved & (tier == i)).sum())
    ended = on_day("closed")
    row["closed"] = int((ended & (stage == Stage.CLOSED)).sum())
    row["dropped"] = int((ended & (stage == Stage.DROPPED)).sum())
    for k, v in model.snapshots.items():
        row[k] = v[-1]
    busy = model.world.work.busy[:, d]
    for i, k in enumerate(KINDS):
        cap = model.kind_staff[i] * model.shift_hours[i, d]
        row[f"utilisation_{k}"] = float(busy[i] / cap) if cap > 0 else 0.0
    return row


def unit_day(model: MesaGovModel) -> dict[str, list[Any]]:
    """Each unit's values of :data:`UNIT_COLUMNS` for the day just stepped, by unit index."""
    d, w, U, L = model.day, model.world, model.units, model.ledger
    n = U.kind.size
    a = L.active
    queued = L.unit[a[L.stage[a] == Stage.QUEUED]]
    busy, overtime = w.work.unit_busy, w.work.unit_overtime
    assert busy is not None and overtime is not None, "the model tracks hours by unit (Work.track_units)"
    hours = busy[:, d]
    cap = U.staff * model.shift_hours[U.kind, d]
    return {
        "kind": model.unit_kinds,
        "unit_backlog": np.bincount(queued, minlength=n).tolist(),
        "unit_utilisation": np.divide(hours, cap, out=np.zeros(n), where=cap > 0).tolist(),
        "unit_handling_hours": hours.tolist(),
        "unit_overtime_hours": overtime[:, d].tolist(),
        "unit_patrol_hours": np.bincount(U.grid_unit, weights=w.patrol_hours, minlength=n).tolist(),
    }


def _today(name: str, model: MesaGovModel) -> float:
    return model.today[name]


def _kpi(name: str, model: MesaGovModel) -> float:
    return float("nan") if model.summary is None else float(model.summary[name])


def _unit(name: str, agent: mesa.Agent) -> Any:
    return agent.model.units_today[name][agent.index]


class DayCollector(mesa.DataCollector):
    """Mesa's ``DataCollector``, collecting once at the end of each day and keyed by the day.

    Model values are its lists (entry ``d`` is day ``d``, like the daily table's rows);
    agent records are keyed and stamped by the day, not by ``model.steps`` (``d + 1``),
    so that both line up, and so that ``mesa.batch_run``, which reads the entry and the
    records of step ``model.steps - 1`` (Mesa 3.3, mesa/mesa#2514), gets the last day.
    The agent records are built from the day's unit arrays at once; each equals what its
    reporter (the ``agent_reporters``) returns for that agent.
    """

    def collect(self, model: MesaGovModel) -> None:
        """Record the day's model values and, if there are agent reporters, each unit's."""
        for name, reporter in self.model_reporters.items():
            self.model_vars[name].append(reporter(model))
        if self.agent_reporters:
            values = (model.units_today[k] for k in self.agent_reporters)
            records = zip(repeat(model.day), model.unit_ids, *values, strict=False)
            self._agent_records[model.day] = list(records)


def day_collector(agents: bool) -> DayCollector:
    """The collector of the daily table's columns and the KPIs; with ``agents``, also each unit's day."""
    model = {k: partial(_today, k) for k in DAILY_COLUMNS}
    model |= {k: partial(_kpi, k) for k in (*KPIS, *STEADY_COLUMNS)}
    units = {k: partial(_unit, k) for k in UNIT_COLUMNS} if agents else None
    return DayCollector(model_reporters=model, agent_reporters=units)
