"""The cluster's own centre and its joint meetings (片区组团, 八联; 002): the cluster's
villages' staff serve one queue at the cluster centre; the joint meetings settle the
listed cross-community matters at the cluster instead of sending them up to a
department, at a regular rhythm whose cadence trades the cases' wait against the
delegates' meeting hours; and with the centre off nothing changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.kinds import Kind
from sim.core.mechanisms.meetings import next_meeting
from sim.core.model import GovModel
from sim.core.output import case_table
from sim.errors import ScenarioError
from tests.conftest import REFERENCE, SMALL

CENTRE = {"clusters.centre": True, "clusters.joint_settles": ["neighbour_dispute"]}
"""The cluster centre with neighbour disputes on the joint meetings' list (as ningbo_cluster)."""
OFF = {"clusters.centre": False, "clusters.joint_settles": []}
"""Neither."""


def _model(
    days: int = 200, scenario: str = "ningbo_cluster", **over: object
) -> tuple[GovModel, pd.DataFrame]:
    p = sim.load_scenario(scenario, context=REFERENCE, overrides={**SMALL, **over})
    m = GovModel(p, seed=2, days=days)
    for _ in range(days):
        m.step()
    return m, case_table(m)


def _disputes(cases: pd.DataFrame) -> pd.DataFrame:
    """Neighbour disputes that needed a department when they occurred, and were resolved."""
    d = cases[(cases["category"] == "neighbour_dispute") & (cases["need"] == "department")]
    return d[d["resolved_at"].notna()]


def test_next_meeting_is_the_first_opening_at_or_after_a_time() -> None:
    t = np.array([0.0, 0.3, 0.4, 6.9, 7.354, 7.4])
    got = next_meeting(t, 7, 8.5)
    opening = 8.5 / 24
    assert got == pytest.approx(
        [opening, opening, 7 + opening, 7 + opening, 7 + opening, 14 + opening], abs=1e-3
    )


def test_the_cluster_centre_pools_the_staff_of_its_villages() -> None:
    alone, _ = _model(days=1, scenario="baseline", **{"clusters.villages_per_cluster": 3})
    pooled, _ = _model(
        days=1, scenario="baseline", **{"clusters.villages_per_cluster": 3, "clusters.centre": True}
    )
    a, p = alone.units, pooled.units
    va, vp = a.kind == Kind.VILLAGE, p.kind == Kind.VILLAGE
    assert va.sum() == alone.places.n_villages > vp.sum() == -(-alone.places.n_villages // 3)
    assert a.staff[va].sum() == p.staff[vp].sum()  # the same staff, one queue per cluster
    assert len(set(p.route[1, 0].tolist())) == vp.sum()  # every grid's village tier is its cluster's centre
    single, _ = _model(days=1, scenario="baseline", **{"clusters.centre": True})  # a cluster of one village
    assert (single.units.kind == Kind.VILLAGE).sum() == single.places.n_villages


def test_joint_meetings_settle_at_the_cluster_what_went_up_to_a_department() -> None:
    _, off = _model(**OFF)
    _, on = _model(**CENTRE)
    d_off, d_on = _disputes(off), _disputes(on)
    assert (d_off["tier"] == "department").mean() > 0.5
    assert (d_on["tier"] == "village").all() and len(d_on) > 50
    s_off = off.loc[off["resolved_at"].notna(), "tier"].value_counts(normalize=True)
    s_on = on.loc[on["resolved_at"].notna(), "tier"].value_counts(normalize=True)
    assert s_on["department"] < s_off["department"] - 0.02
    assert s_on["village"] > s_off["village"] + 0.02

    # joint cases are worked in batches from a meeting's opening (behind the queue there);
    # without the meetings, work on them starts on any day of the week
    def after_meeting(d: pd.DataFrame) -> float:
        return float(np.mean((d["handling_started_at"].to_numpy() - 8.5 / 24) % 7 < 2.0))

    assert after_meeting(d_on) > 0.95 and after_meeting(d_off) < 0.6


def test_the_cadence_trades_the_wait_for_a_meeting_against_meeting_hours() -> None:
    daily, d_cases = _model(**CENTRE, **{"clusters.meeting_days": 1})
    fortnightly, f_cases = _model(**CENTRE, **{"clusters.meeting_days": 14})
    wait = {
        k: (c["handling_started_at"] - c["dispatched_at"]).mean()
        for k, c in (("daily", _disputes(d_cases)), ("fortnightly", _disputes(f_cases)))
    }
    assert wait["fortnightly"] > wait["daily"] + 3.0
    held = {
        "daily": daily.mechanisms["meetings"].hours_held,
        "fortnightly": fortnightly.mechanisms["meetings"].hours_held,
    }
    assert held["daily"] > 10 * held["fortnightly"] > 0
    # the meetings' hours are work of the cluster centres
    village = int(Kind.VILLAGE)
    assert daily.world.work.busy[village].sum() > fortnightly.world.work.busy[village].sum()


def test_with_the_centre_off_nothing_changes() -> None:
    """The meetings' parameters act only through the centre: with it off, changing them
    changes nothing, and the defaults are off."""
    for scenario, off in (("baseline", {}), ("ningbo_cluster", OFF)):
        base = sim.run(scenario, seed=4, days=150, overrides={**SMALL, **off})
        moved = {**SMALL, **off, "clusters.meeting_days": 3, "clusters.meeting_hours": 5.0}
        other = sim.run(scenario, seed=4, days=150, overrides=moved)
        assert base.summary.equals(other.summary)
        assert base.cases.equals(other.cases) and base.daily.equals(other.daily)
    assert sim.load_scenario("baseline").clusters.centre is False


def test_joint_settles_needs_the_centre_and_known_categories() -> None:
    with pytest.raises(ScenarioError, match="joint_settles"):
        sim.load_scenario("baseline", overrides={"clusters.joint_settles": ["neighbour_dispute"]})
    with pytest.raises(ScenarioError, match="joint_settles"):
        sim.load_scenario(
            "baseline", overrides={"clusters.centre": True, "clusters.joint_settles": ["nothing"]}
        )
