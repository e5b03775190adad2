"""The world the mechanisms act on, and the hooks through which they affect each other.

A mechanism (:mod:`sim.core.mechanisms`) receives a :class:`World`: the parameters,
the case ledger, the units, the places, the catalogue, the run's random streams and
the work accounts — not the model. One mechanism's effect on another goes through
:class:`Hooks`: the case flow announces a case that is resolved or dropped, work that
starts and a case bounced (after the day's flow, in order), the ledger a case closed, and
whoever cares subscribes. Within the compiled case flow the rules call each other's
compiled functions directly where a hook would be (enforcement's follow-up when a
squad's work is done, closure's verification and supervision's check on a resolution;
:mod:`sim.core.mechanisms.flow`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.core.catalogue import Catalogue
from sim.core.jit import njit
from sim.core.kinds import Kind
from sim.core.ledger import Ledger
from sim.core.params import Params
from sim.core.places import Places
from sim.core.rng import stream
from sim.core.units import UnitTable

if TYPE_CHECKING:
    from sim.core.mechanisms.powers import Powers

EVENTS = {
    "resolved": "(ids, t) cases resolved at times t (stage CLOSING)",
    "closed": "(ids,) cases verified and closed",
    "dropped": "(ids,) cases dropped (lost in a hand-off, or past the bounce limit)",
    "work_started": "(ids, unit, start) first job of work on a case at a unit",
    "served": "(residents, days) residents served (an approval in hand) after `days`",
    "bounced": "(ids, unit) cases a wrong unit sent back to the layer that sent them",
}
"""The events mechanisms may emit and subscribe to, with their arguments."""


class Hooks:
    """Subscribers by event, called in the order they subscribed."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Callable[..., None]]] = {e: [] for e in EVENTS}

    def subscribe(self, event: str, fn: Callable[..., None]) -> None:
        """Call ``fn`` on every ``event`` (one of :data:`EVENTS`)."""
        self._subs[event].append(fn)

    def heard(self, event: str) -> bool:
        """Whether ``event`` has subscribers (an emitter may skip preparing it if not)."""
        return bool(self._subs[event])

    def emit(self, event: str, *args: Any) -> None:
        """Call the subscribers of ``event`` with ``args``."""
        for fn in self._subs[event]:
            fn(*args)


@dataclass
class Work:
    """Hours worked: by kind and day (``busy``), and overtime by kind.

    With :meth:`track_units`, also by unit and day (``unit_busy``, ``unit_overtime``), for
    readers that report on each unit (:mod:`sim.core.mesa_model`); plain runs skip it.
    """

    days: int
    unit_kind: np.ndarray
    busy: np.ndarray = field(init=False)
    overtime_hours: np.ndarray = field(init=False)
    unit_busy: np.ndarray | None = field(init=False, default=None)
    unit_overtime: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.busy = np.zeros((len(Kind), self.days))
        self.overtime_hours = np.zeros(len(Kind))

    def track_units(self) -> None:
        """Also account hours by unit and day, from now on."""
        self.unit_busy = np.zeros((self.unit_kind.size, self.days))
        self.unit_overtime = np.zeros((self.unit_kind.size, self.days))

    def record(self, unit: np.ndarray, start: np.ndarray, hours: np.ndarray) -> None:
        """Add units' work hours to the day each job starts on (jobs past the horizon are left out)."""
        account(self.busy, self.by_unit(), self.unit_kind, unit, start, hours)

    def by_unit(self) -> np.ndarray:
        """The hours by unit and day, or a 0×0 array when they are not tracked."""
        return np.zeros((0, 0)) if self.unit_busy is None else self.unit_busy


@njit(cache=True)
def account(busy, unit_busy, unit_kind, unit, start, hours):  # type: ignore[no-untyped-def,unused-ignore]
    """Add each job's ``hours`` to the day it starts on, by its unit's kind (``busy``) and,
    when ``unit_busy`` has rows, by unit; jobs starting outside the horizon are left out.
    Jobs are added in order (as ``np.add.at`` does), so the sums do not depend on the caller."""
    for j in range(unit.size):
        d = np.floor(start[j])
        if 0 <= d < busy.shape[1]:
            busy[unit_kind[unit[j]], int(d)] += hours[j]
            if unit_busy.shape[0]:
                unit_busy[unit[j], int(d)] += hours[j]


@dataclass
class World:
    """What the mechanisms see of a run.

    Attributes:
        params, seed, days: the scenario, the run's seed and its horizon.
        catalogue, places, units, ledger: the issue categories, the places, the units
            (as arrays) and the cases.
        hooks: events between mechanisms.
        work: hours worked by kind and day, and overtime.
        patrol_hours: patrol hours each grid puts in today (the grid teams' decision).
        report_probability: the chance, per grid, that its patrol reports an issue the
            grid's workers would have to fix themselves (the grid teams' decision).
        unit_response, town_response: per unit and per town, the chance that the side
            answers its two-way assessment on a case it would fail (0 without it;
            :mod:`sim.core.mechanisms.assessment` sets them).
        powers: the squads' powers as items (:mod:`sim.core.mechanisms.powers`), or None
            when domains are held whole (``powers.items`` off).
    """

    params: Params
    seed: int
    days: int
    catalogue: Catalogue
    places: Places
    units: UnitTable
    ledger: Ledger
    hooks: Hooks
    work: Work = field(init=False)
    patrol_hours: np.ndarray = field(init=False)
    report_probability: np.ndarray = field(init=False)
    unit_response: np.ndarray = field(init=False)
    town_response: np.ndarray = field(init=False)
    powers: Powers | None = field(init=False, default=None)
    _streams: dict[str, np.random.Generator] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.work = Work(self.days, self.units.kind)
        self.patrol_hours = np.zeros(self.places.n_grids)
        self.report_probability = np.ones(self.places.n_grids)
        self.unit_response = np.zeros(self.units.kind.size)
        self.town_response = np.zeros(self.places.towns)

    def stream(self, name: str) -> np.random.Generator:
        """The run's random stream ``name`` (one generator per name, see :mod:`sim.core.rng`)."""
        if name not in self._streams:
            self._streams[name] = stream(self.seed, name)
        return self._streams[name]
