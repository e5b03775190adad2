"""The cluster's joint meetings (片区组团, 八联工作法: 事务联商、会议联席; 002).

With the cluster's own centre (``clusters.centre``) the staff of a cluster's villages
serve one queue at the cluster centre (:func:`sim.core.units.plan_units`), and the
cluster's communities settle together, at a joint meeting every ``clusters.meeting_days``
days, the cross-community matters that would otherwise go up to a department: the
issues of the categories on ``clusters.joint_settles`` (:func:`sim.core.catalogue.joint_levels`).

Rule: dispatch puts such a case on the agenda of the next meeting (:func:`next_meeting`):
it reaches the cluster centre when the meeting opens (meetings are held on days
``0, meeting_days, 2·meeting_days, …`` at the office's opening hour), so every case
waiting for a meeting is booked there at once, in report order, on the centre's shared
staff — a batch. Each case takes the hours of its level (a department's work, without the
county's travel). The meeting itself costs ``clusters.meeting_hours`` of one delegate per
community of the cluster, booked on the centre's servers before the day's cases
(:meth:`ClusterMeetings.step`), whatever the agenda holds. A longer cadence therefore
means fewer meeting hours and longer waits (and more cases given up before their meeting:
patience, :mod:`sim.core.mechanisms.handling`); nothing else is set. A case that grows to
need enforcement while it waits is passed up on arrival, as at any unit.

Assumptions: the cadence (weekly) and the delegates' hours; 002 gives neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.core.jit import njit
from sim.core.kinds import Kind
from sim.core.queues import serve

if TYPE_CHECKING:
    from sim.core.world import World


@njit(cache=True)
def next_meeting(t, meeting_days, opening_hour):  # type: ignore[no-untyped-def,unused-ignore]
    """The opening of the first joint meeting at or after each time ``t`` (days; an
    array or one time)."""
    opening = opening_hour / 24.0
    k = np.maximum(np.ceil((t - opening) / meeting_days - 1e-12), 0.0)
    return k * meeting_days + opening


class ClusterMeetings:
    """Holds the joint meetings of every cluster centre: books the delegates' hours."""

    def __init__(self, world: World) -> None:
        self.world = world
        p, U = world.params, world.units
        on = p.clusters.centre
        self.centres = np.array([u.index for u in U.units if on and u.kind == Kind.VILLAGE], dtype=np.int64)
        self.delegates = np.array([len(U.units[i].villages) for i in self.centres], dtype=np.int64)
        self.hours_held = 0.0
        """Delegates' hours of the meetings held so far (all clusters)."""

    def step(self, day: int) -> None:
        """On a meeting day, each cluster centre books ``meeting_hours`` for one delegate per
        community, at the meeting's opening, before the day's cases."""
        p = self.world.params
        if self.centres.size == 0 or day % p.clusters.meeting_days:
            return
        U = self.world.units
        unit = np.repeat(self.centres, self.delegates)
        opening = next_meeting(
            np.full(unit.size, float(day)), p.clusters.meeting_days, p.calendar.office.start_hour
        )
        hours = np.full(unit.size, p.clusters.meeting_hours)
        start, _ = serve(U.free_at, U.heap, U.first, U.staff, U.calendar, U.calendars, unit, opening, hours)
        self.world.work.record(unit, start, hours)
        self.hours_held += float(hours.sum())
