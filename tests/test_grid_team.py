"""The whole "4+N" grid team (001): the grid police officer and the grid supervisor.

Small worlds (20,000 residents, Wujiang's programme), the same seed and issues in each
pair, so differences are the mechanism's.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.core.catalogue import settling_tiers
from sim.core.kinds import Tier
from tests.conftest import REFERENCE, SMALL

DAYS = 150
POLICE = {"grid.police_per_grid": 1, "grid.police_categories": ["neighbour_dispute"]}
NO_TEAM = {"grid.police_per_grid": 0, "grid.supervisors_per_grid": 0}


def _poor(p: float) -> dict[str, float]:
    names = sim.load_scenario("baseline").category_names
    return {f"categories.{c}.poor_resolution_probability": p for c in names}


def _run(**over: object) -> sim.RunResult:
    over = {**SMALL, **NO_TEAM, **over}
    return sim.run("wujiang_grid_linkage", seed=3, days=DAYS, context=REFERENCE, overrides=over)


@pytest.fixture(scope="module")
def police() -> tuple[sim.RunResult, sim.RunResult]:
    return _run(), _run(**POLICE)


@pytest.fixture(scope="module")
def supervisor() -> tuple[sim.RunResult, sim.RunResult]:
    return _run(**_poor(0.15)), _run(**_poor(0.15), **{"grid.supervisors_per_grid": 1})


def _disputes(res: sim.RunResult) -> object:
    c = res.cases
    return c[(c["category"] == "neighbour_dispute") & c["resolved_at"].notna()]


def test_the_police_officer_settles_public_security_issues_in_the_grid(police) -> None:
    off, on = police
    d_off, d_on = _disputes(off), _disputes(on)
    grid_off = (d_off["tier"] == "grid").mean()
    grid_on = (d_on["tier"] == "grid").mean()
    assert grid_on > grid_off + 0.05  # village-level disputes stay in the grid
    assert (d_on["tier"] == "village").mean() < 0.5 * (d_off["tier"] == "village").mean()
    by_police = d_on["resolver"].astype(str).str.startswith("police:")
    assert by_police.mean() > 0.8 and (d_off["resolver"].astype(str).str.startswith("police:")).sum() == 0
    others = on.cases[on.cases["category"] != "neighbour_dispute"]
    assert not others["resolver"].astype(str).str.startswith("police:").any()
    assert (
        d_on["resolved_at"].sub(d_on["occurred_at"]).mean()
        < d_off["resolved_at"].sub(d_off["occurred_at"]).mean()
    )


def test_the_police_officer_reports_through_his_own_channel(police) -> None:
    off, on = police
    assert off.summary["police_reported_share"] == 0.0
    assert on.summary["police_reported_share"] > 0.01
    found = on.cases[on.cases["channel"] == "police"]
    assert set(found["category"].astype(str)) == {"neighbour_dispute"}
    assert on.summary["staff_hours"] > off.summary["staff_hours"]  # the officers are paid


def test_the_police_list_moves_village_level_to_the_grid_only_with_officers() -> None:
    p = sim.load_scenario("wujiang_grid_linkage", overrides=POLICE)
    i = p.category_names.index("neighbour_dispute")
    assert settling_tiers(p)[i, Tier.VILLAGE] == Tier.GRID
    off = sim.load_scenario("wujiang_grid_linkage", overrides={**POLICE, "grid.police_per_grid": 0})
    assert settling_tiers(off)[i, Tier.VILLAGE] == Tier.VILLAGE


def test_the_supervisor_reopens_poor_resolutions_and_residents_gain(supervisor) -> None:
    off, on = supervisor
    s_off, s_on = off.summary, on.summary
    assert s_off["reopened_share"] == 0.0
    assert s_on["reopened_share"] > 0.05
    assert s_off["poor_closed_share"] > 0.1
    assert s_on["poor_closed_share"] < 0.5 * s_off["poor_closed_share"]
    assert s_on["satisfaction_mean"] > s_off["satisfaction_mean"]
    assert s_on["staff_hours"] > s_off["staff_hours"]  # the supervisors' hours
    assert s_on["delay_total_mean_days"] > s_off["delay_total_mean_days"]  # the rework takes time
    assert s_on["cases_closed"] + s_on["cases_open"] + s_on["cases_dropped"] == s_on["cases_created"]
    closed = on.cases[on.cases["status"] == "closed"]
    assert (closed["resolved_at"] <= closed["closed_at"]).all()  # the last resolution, then closure
    reopened = on.cases[on.cases["reopened"] > 0]
    assert (reopened["status"] != "dropped").mean() > 0.95  # reworked, not given up


def test_supervisors_with_little_time_catch_less() -> None:
    scarce = _run(**_poor(0.15), **{"grid.supervisors_per_grid": 1, "grid.check_hours": 4.0})
    ample = _run(**_poor(0.15), **{"grid.supervisors_per_grid": 1})
    assert scarce.summary["reopened_share"] < ample.summary["reopened_share"]


def test_without_poor_resolutions_the_supervisor_reopens_nothing() -> None:
    res = _run(**{"grid.supervisors_per_grid": 1}, **_poor(0.0))
    assert res.summary["reopened_share"] == 0.0 and res.summary["poor_closed_share"] == 0.0


@pytest.mark.parametrize("scenario", ["baseline", "reform"])
def test_the_team_switched_off_changes_nothing(scenario: str) -> None:
    """Default parameters give the same run as the posts explicitly off."""
    a = sim.run(scenario, seed=2, days=60, overrides=SMALL)
    b = sim.run(
        scenario,
        seed=2,
        days=60,
        overrides={**SMALL, **NO_TEAM, "grid.police_categories": ["neighbour_dispute"]},
    )
    assert a.summary.to_dict() == pytest.approx(b.summary.to_dict(), nan_ok=True)
    assert np.array_equal(
        a.cases["resolved_at"].to_numpy(), b.cases["resolved_at"].to_numpy(), equal_nan=True
    )
