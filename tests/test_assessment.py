"""Two-way assessment (004 雙向考核): towns and county units rate each other, and a poor
score is answered — fewer bounces, fewer late cases, at the cost of overtime."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.core.kinds import Kind, Layer
from sim.core.ledger import Outcome
from sim.core.mechanisms.dispatch import misroute
from sim.core.model import GovModel
from tests.conftest import REFERENCE, SMALL

DAYS = 240
ON = {"assessment.enabled": True}


def _run(seed: int, **over: object) -> sim.RunResult:
    return sim.run("baseline", seed=seed, days=DAYS, context=REFERENCE, overrides={**SMALL, **over})


@pytest.fixture(scope="module")
def pairs() -> list[tuple[pd.Series, pd.Series]]:
    """Baseline without and with the assessment, seeds 1-2 (same issues per pair)."""
    return [(_run(s).summary, _run(s, **ON).summary) for s in (1, 2)]


def test_fewer_bounces_and_late_cases_at_an_overtime_cost(pairs: list[tuple[pd.Series, ...]]) -> None:
    for off, on in pairs:
        assert off["overtime_hours"] == 0 and on["overtime_hours"] > 0  # answering costs hours
        assert on["bounces_per_case"] < 0.8 * off["bounces_per_case"]
        assert on["completion_within_deadline_rate"] > off["completion_within_deadline_rate"]
        assert on["delay_handling_mean_days"] < off["delay_handling_mean_days"]
        assert on["delay_total_mean_days"] < off["delay_total_mean_days"]
        assert on["staff_hours"] > off["staff_hours"]


def test_off_changes_nothing_and_zero_response_changes_nothing() -> None:
    """Default params equal the switch explicitly off; on with no response (the rating is
    counted, its draws made on its own stream) gives the same ledger to the last bit."""
    base = _run(3, **{"assessment.enabled": False})
    pd.testing.assert_series_equal(_run(3).summary, base.summary)
    idle = _run(3, **ON, **{"assessment.response_per_failure": 0.0})
    pd.testing.assert_frame_equal(idle.cases, base.cases)
    pd.testing.assert_frame_equal(idle.daily, base.daily)


def _model(days: int = 60, **over: object) -> GovModel:
    p = sim.load_scenario("baseline", context=REFERENCE, overrides={**SMALL, **ON, **over})
    return GovModel(p, seed=4, days=days)


def test_the_rating_sets_bounded_responses_for_rated_units_and_towns() -> None:
    m = _model(**{"assessment.response_per_failure": 50.0, "assessment.max_response": 0.7})
    w, a = m.world, m.mechanisms["assessment"]
    for _ in range(29):
        m.step()
    assert not w.unit_response.any() and not w.town_response.any()  # nothing before the first rating
    failed, received = a.unit_failed.copy(), a.unit_received.copy()
    t_failed, t_received = a.town_failed.copy(), a.town_received.copy()
    m.step()  # day 29 ends the first period
    rated = np.isin(w.units.kind, (Kind.DEPARTMENT, Kind.ENFORCEMENT)) & (w.units.layer == Layer.COUNTY)
    assert received[rated].sum() > 0 and not received[~rated].any()
    assert not w.unit_response[~rated].any()
    assert 0 < w.unit_response.max() <= 0.7
    # the response follows the failure share (at or near the bound here), not a constant
    assert np.all(w.unit_response[rated & (received > 0) & (failed == 0)] == 0)
    assert np.all(w.unit_response[rated & (failed > 0)] > 0)
    assert t_failed.sum() > 0 and t_received.sum() >= t_failed.sum()
    np.testing.assert_allclose(w.town_response, np.minimum(0.7, 50.0 * t_failed / t_received))
    assert a.unit_received.sum() == 0  # counts restart each period


def test_a_town_that_answers_misroutes_less() -> None:
    m = _model(days=1)
    m.step()
    w, flow = m.world, m.mechanisms["flow"]
    dept = w.units.of_kind(Kind.DEPARTMENT)
    i = int(np.flatnonzero(w.places.town_of_grid[m.ledger.column("grid")] == 0)[0])  # a case of town 0

    def bounced(n: int = 3000) -> float:
        F = flow.state()
        return float(np.mean([misroute(F, i, dept[k % dept.size])[1] == Outcome.BOUNCE for k in range(n)]))

    careless = bounced()
    w.town_response[:] = 0.75
    careful = bounced()
    assert careless == pytest.approx(m.params.dispatch.misroute_probability, abs=0.02)
    assert careful == pytest.approx(0.25 * careless, abs=0.02)


def test_quzhou_switches_it_on() -> None:
    assert sim.load_scenario("quzhou_county_town").assessment.enabled
    assert not sim.load_scenario("baseline").assessment.enabled
