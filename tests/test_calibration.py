"""Calibration of the shared context to the reported figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.errors import ScenarioError
from sim.experiments.calibration import (
    FitParameter,
    Target,
    context_values,
    distance,
    fit_table,
    load_calibration,
    loss,
)

ROOT = Path(__file__).resolve().parents[1]


def _t(direction: str, value: float = 0.7, tol: float = 0.05) -> Target:
    return Target(
        id="x",
        metric="tier_share_grid",
        scenario="reform",
        value=value,
        tolerance=tol,
        direction=direction,
        source="001",
    )  # type: ignore[arg-type]


def test_distance_is_zero_inside_tolerance_and_grows_outside() -> None:
    assert distance(_t("eq"), 0.72) == 0 and distance(_t("eq"), 0.80) == pytest.approx(1.0)
    assert distance(_t("at_least"), 0.99) == 0 and distance(_t("at_least"), 0.60) == pytest.approx(1.0)
    assert distance(_t("at_most", 0.10, 0.02), 0.05) == 0 and distance(
        _t("at_most", 0.10, 0.02), 0.16
    ) == pytest.approx(2.0)
    assert loss([_t("eq")], {"x": 0.7}) == 0 and loss([_t("eq")], {"x": 0.8}) > 1


def test_the_built_in_targets_cover_the_reported_figures() -> None:
    config, targets, _ = load_calibration(ROOT / "experiments" / "calibration.yaml")
    metrics = {(t.metric, t.scenario) for t in targets}
    for needed in [
        ("plan_share_grid", "suzhou_1_4_n"),  # the 70/20/10 plan counts the village in the grid
        ("plan_share_department", "suzhou_1_4_n"),
        ("plan_share_enforcement", "suzhou_1_4_n"),
        ("on_site_disposal_rate", "suzhou_1_4_n"),
        ("patrol_reported_share", "suzhou_1_4_n"),
        ("approval_days_mean", "baseline"),
        ("approval_days_mean", "suzhou_1_4_n"),
        ("approval_completion_rate", "suzhou_1_4_n"),
        ("raised_from_below_share", "suzhou_1_4_n"),
        ("one_thing_steps_mean", "baseline"),
        ("one_thing_days_mean", "baseline"),
        ("one_thing_steps_mean", "quzhou_county_town"),
        ("one_thing_days_mean", "quzhou_county_town"),
    ]:
        assert needed in metrics
    assert {t.value for t in targets} >= {0.70, 0.8433, 0.78, 8.0, 3.0, 0.9951, 0.998, 7}
    # only context parameters are fitted
    assert all(
        p.split(".")[0] in ("categories", "service_requests") for fp in config.parameters for p in fp.paths
    )


def test_context_values_scale_every_category_and_cap_probabilities() -> None:
    base = sim.load_scenario("baseline")
    fp = [
        FitParameter(name="s", paths=("categories.*.self_report_probability",), scale=True, low=0.1, high=3),
        FitParameter(name="d", paths=("service_requests.processing_days",), low=0.1, high=4),
    ]
    vals = context_values(base, fp, [2.0, 1.5])
    assert vals["service_requests.processing_days"] == 1.5
    for name, cat in base.categories.items():
        assert vals[f"categories.{name}.self_report_probability"] == pytest.approx(
            min(1.0, 2 * cat.self_report_probability)
        )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "targets: t.yaml\nparameters:\n  - {name: a, paths: [grid.separation], low: 0, high: 1}\n",
            "matches no context",
        ),
        ("targets: t.yaml\nparameters: []\n", "parameters"),
        (
            "targets: t.yaml\nparameters:\n"
            "  - {name: a, paths: ['categories.*.initial_level'], low: 0, high: 1}\n",
            "can only be scaled",
        ),
        (
            "targets: t.yaml\nbudget: 3\nparameters:\n"
            "  - {name: a, paths: [service_requests.processing_days], low: 0, high: 1}\n",
            "budget",
        ),
    ],
)
def test_bad_calibration_files(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "t.yaml").write_text(
        "targets:\n  - {id: a, metric: tier_share_grid, scenario: reform, value: 0.7, "
        "tolerance: 0.1, source: '001'}\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ScenarioError, match=words):
        load_calibration(cfg)


def test_bad_target_metric(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "targets:\n  - {id: a, metric: happiness, scenario: reform, value: 1, "
        "tolerance: 0.1, source: '001'}\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "targets: t.yaml\nparameters:\n  - {name: a, paths: [service_requests.processing_days], "
        "low: 0.1, high: 1}\n"
    )
    with pytest.raises(ScenarioError, match="happiness"):
        load_calibration(cfg)


def test_fit_table_reports_unreachable_targets_honestly() -> None:
    t = [_t("eq"), _t("at_most", 0.1, 0.02)]
    t[1] = t[1].model_copy(update={"id": "y"})
    fit = fit_table(t, {"x": [0.71, 0.69, 0.70], "y": [0.5, 0.5, 0.5]})
    assert list(fit["within"]) == [True, False]
    assert fit.loc[0, "sim_lo"] < 0.70 < fit.loc[0, "sim_hi"]


def test_calibrate_command_end_to_end(tmp_path: Path) -> None:
    targets = ROOT / "experiments" / "targets" / "reported.yaml"
    cfg = tmp_path / "cal.yaml"
    cfg.write_text(f"""
name: tiny
targets: {targets}
context_out: calibrated_test.yaml
evaluation: {{residents: 4000, days: 40, replications: 1}}
final: {{residents: 4000, days: 40, replications: 2}}
optimiser: {{maxiter: 1, popsize: 1, seed: 1}}
parameters:
  - {{name: detect, paths: ["categories.*.detectability"], scale: true, low: 0.5, high: 2.0}}
  - {{name: processing, paths: [service_requests.processing_days], low: 0.2, high: 3.0}}
  - {{name: levels, paths: ["categories.*.initial_level"], scale: true, low: 0.5, high: 1.5}}
""")
    r = CliRunner().invoke(app, ["calibrate", str(cfg), "--workers", "2", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    fit = pd.read_csv(tmp_path / "out" / "fit.csv")
    assert len(fit) == 13 and set(fit.columns) >= {"reported", "sim_mean", "sim_lo", "sim_hi", "within"}
    ctx = tmp_path / "calibrated_test.yaml"
    assert ctx.is_file()
    # every scenario runs on the one calibrated context, which differs from town only in fitted values
    a = sim.load_scenario("baseline", context=str(ctx))
    b = sim.load_scenario("reform", context=str(ctx))
    assert a.categories == b.categories and a.service_requests == b.service_requests
    town = sim.load_scenario("baseline")
    assert a.population == town.population and a.categories != town.categories


def test_initial_level_scale_moves_weight_between_the_grid_and_above() -> None:
    base = sim.load_scenario("baseline")
    fp = [FitParameter(name="lv", paths=("categories.*.initial_level",), scale=True, low=0.3, high=3)]
    for v in (0.5, 2.5):
        vals = context_values(base, fp, [v])
        for name, cat in base.categories.items():
            new = vals[f"categories.{name}.initial_level"]
            assert sum(new) == pytest.approx(1.0) and min(new) >= 0
            above = sum(cat.initial_level[1:])
            assert sum(new[1:]) == pytest.approx(min(1.0, v * above))
            if above and v * above <= 1:  # the ratio between department and enforcement is kept
                assert new[1] == pytest.approx(v * cat.initial_level[1])
        sim.load_scenario("baseline", overrides=vals)  # a valid scenario
