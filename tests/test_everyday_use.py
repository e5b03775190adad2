"""The everyday path (issue 13): what a user meets when running the main job and its siblings.

Numbers out of range are refused in one plain line; attribution has the same cap on runs as
compare; the main job opens with sentences that follow its data.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import sim
import sim.core.limits
from sim.cli import app
from sim.errors import GovsimError
from sim.experiments.attribution import attribute

runner = CliRunner()
TINY_RUN = ["--days", "1", "--set", "population.residents=1000"]


# ------------------------------------------------------- numbers out of range: one plain line
@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["run", "baseline", "--days", "0"], "--days: 0 is not allowed: at least 1 day"),
        (["compare", "baseline", "reform", "--days", "-3"], "--days: -3 is not allowed: at least 1 day"),
        (["compare", "baseline", "reform", "--reps", "0"], "--reps: 0 is not allowed: at least 1"),
        (["compare", "baseline", "reform", "--workers", "0"], "--workers: 0 is not allowed: at least 1"),
        (["attribute", "baseline", "reform", "--reps", "1"], "--reps: 1 is not allowed: at least 2"),
        (["attribute", "baseline", "reform", "--days", "0"], "--days: 0 is not allowed: at least 1 day"),
        (["batch", "x.yaml", "--timeout", "-1"], "--timeout: -1 is not allowed: at least 0"),
        (["sensitivity", "x.yaml", "--workers", "0"], "--workers: 0 is not allowed: at least 1"),
        (["analyze", "x", "--precision", "-0.5"], "--precision: -0.5 is not allowed: at least 0.0001"),
        (["report", "x", "--precision", "0"], "--precision: 0 is not allowed: at least 0.0001"),
        (["calibrate", "--workers", "0"], "--workers: 0 is not allowed: at least 1"),
        (["dashboard", "--port", "70000"], "--port: 70000 is not allowed: from 0 to 65535"),
        (["dashboard", "--days", "0"], "--days: 0 is not allowed: at least 1"),
    ],
)
def test_a_number_out_of_range_is_refused_in_one_plain_line(args: list[str], allowed: str) -> None:
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert lines == [f"error: {allowed}"], res.stderr  # no usage box, no "Try --help"


# ---------------------------------------------------------------- attribution's cap on runs
def test_attribute_refuses_too_many_runs_before_running() -> None:
    res = runner.invoke(app, ["attribute", "baseline", "reform", "--reps", "5000", *TINY_RUN])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    assert "runs (coalitions × replications, with the equal-cost control) is more than 100,000" in lines[0]
    assert "GOVSIM_ALLOW_LARGE=1" in lines[0]


def test_attributions_cap_is_lifted_by_the_same_override(monkeypatch: pytest.MonkeyPatch) -> None:
    a = sim.load_scenario("baseline", overrides={"population.residents": 6000})
    b = sim.load_scenario("reform", overrides={"population.residents": 6000})
    monkeypatch.setattr(sim.core.limits, "MAX_RUNS", 10)  # a tiny attribution is then "too many"
    with pytest.raises(GovsimError, match=r"runs \(coalitions × replications.*GOVSIM_ALLOW_LARGE=1"):
        attribute(a, b, ["tier_share_grid"], reps=2, days=5)
    monkeypatch.setenv("GOVSIM_ALLOW_LARGE", "1")
    res = attribute(a, b, ["tier_share_grid"], reps=2, days=5)
    assert len(res.runs) > 10
