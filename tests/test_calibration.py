"""Calibration of the shared context: the targets' roles, the emulators and the posterior,
the identifiability check, and the command end to end (resumable, writes its products)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.core.scenarios import builtin_scenarios
from sim.errors import ScenarioError
from sim.experiments.calibration import FitParameter, Target, context_values, distance, load_calibration
from sim.experiments.calibration_check import effects
from sim.experiments.calibration_fit import fit_table, identification
from sim.experiments.calibration_runs import jobs_at
from sim.experiments.emulator import (
    Fit,
    Observation,
    cross_check,
    fit_emulator,
    latin_hypercube,
    log_likelihood,
    not_ruled_out,
    sample_posterior,
)
from sim.experiments.posterior import load_posterior

ROOT = Path(__file__).resolve().parents[1]


def _t(direction: str, value: float = 0.7, tol: float = 0.05, role: str = "calibrate") -> Target:
    return Target.model_validate(
        {
            "id": "x",
            "metric": "tier_share_grid",
            "scenario": "reform",
            "value": value,
            "tolerance": tol,
            "direction": direction,
            "role": role,
            "reading": "observation",
            "denominator": "issues",
            "source": "001",
        }
    )


def test_distance_is_zero_inside_tolerance_and_grows_outside() -> None:
    assert distance(_t("eq"), 0.72) == 0 and distance(_t("eq"), 0.80) == pytest.approx(1.0)
    assert distance(_t("at_least"), 0.99) == 0 and distance(_t("at_least"), 0.60) == pytest.approx(1.0)
    assert distance(_t("at_most", 0.10, 0.02), 0.05) == 0
    assert distance(_t("at_most", 0.10, 0.02), 0.16) == pytest.approx(2.0)


def test_the_built_in_targets_are_read_as_the_brief_says() -> None:
    config, targets, _ = load_calibration(ROOT / "experiments" / "calibration.yaml")
    by = {t.id: t for t in targets}
    # no input is a target: the house-building steps are set by the scenarios
    assert not any(t.metric == "one_thing_steps_mean" for t in targets)
    # 70/20/10 is a plan, counted with the village, never fitted
    plan = [t for t in targets if t.metric.startswith("plan_share")]
    assert len(plan) == 3 and all(t.role == "plan" and t.reading == "plan" for t in plan)
    # no figure both calibrated and validated; every figure says what it is of
    roles = {t.id: t.role for t in targets}
    assert len(roles) == len(targets) and all(t.denominator for t in targets)
    assert {r for r in roles.values()} == {"calibrate", "validate", "plan"}
    # the 78% has an unknown denominator: a wide tolerance; 84.33% is of comprehensive enforcement
    assert by["patrol_share_after"].tolerance >= 0.1 and "unstated" in by["patrol_share_after"].denominator
    assert "comprehensive enforcement" in by["on_site_after"].denominator
    # MODEL.md §2b's before/after figures where the model has the KPI
    assert {"resolution_rate", "completion_within_deadline_rate"} <= {t.metric for t in targets}
    after = [t for t in targets if t.source == "beijing" and t.scenario != "baseline"]
    assert after and all(t.role == "validate" for t in after)
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


TARGET = (
    "targets:\n  - {id: a, metric: tier_share_grid, scenario: reform, value: 0.7, tolerance: 0.1, "
    "source: '001', role: calibrate, reading: observation, denominator: issues}\n"
)


@pytest.mark.parametrize(
    ("text", "targets", "words"),
    [
        ("targets: t.yaml\nparameters:\n  - {name: a, paths: [grid.separation], low: 0, high: 1}\n", TARGET,
         "matches no context"),
        ("targets: t.yaml\nparameters: []\n", TARGET, "parameters"),
        ("targets: t.yaml\nparameters:\n"
         "  - {name: a, paths: ['categories.*.initial_level'], low: 0, high: 1}\n",
         TARGET, "can only be scaled"),
        ("targets: t.yaml\nbudget: 3\nparameters:\n"
         "  - {name: a, paths: [service_requests.processing_days], low: 0, high: 1}\n", TARGET, "budget"),
        ("targets: t.yaml\nparameters:\n  - {name: a, paths: [service_requests.processing_days], low: 0.1, "
         "high: 1}\n", TARGET.replace("tier_share_grid", "happiness"), "happiness"),
        ("targets: t.yaml\nparameters:\n  - {name: a, paths: [service_requests.processing_days], low: 0.1, "
         "high: 1}\n", TARGET.replace("tier_share_grid", "tier_share_grd"),
         "'tier_share_grd' is not a KPI (did you mean 'tier_share_grid'?)"),
        ("targets: t.yaml\nparameters:\n  - {name: a, paths: [service_requests.processing_days], low: 0.1, "
         "high: 1}\n", TARGET.replace("role: calibrate", "role: fit"), "role"),
    ],
)  # fmt: skip
def test_bad_calibration_files(tmp_path: Path, text: str, targets: str, words: str) -> None:
    (tmp_path / "t.yaml").write_text(targets)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ScenarioError, match=re.escape(words)):
        load_calibration(cfg)


def test_fit_table_reports_unreachable_targets_honestly() -> None:
    t = [_t("eq"), _t("at_most", 0.1, 0.02).model_copy(update={"id": "y"})]
    fit = fit_table(t, {"x": [0.71, 0.69, 0.70], "y": [0.5, 0.5, 0.5]})
    assert list(fit["within"]) == [True, False]
    assert fit.loc[0, "sim_lo"] <= 0.70 <= fit.loc[0, "sim_hi"] and not fit.loc[1, "covered"]


def test_one_sided_figures_penalise_only_the_wrong_side() -> None:
    obs = Observation(0.7, 0.04, "at_least")
    mu, sd = np.array([0.60, 0.70, 0.90]), np.zeros(3)
    ll = log_likelihood(obs, mu, sd)
    assert ll[0] < ll[1] < 0 and ll[2] == pytest.approx(0.0, abs=1e-6)


def test_the_emulator_posterior_recovers_known_parameters() -> None:
    """A synthetic simulator with two identified parameters and one it ignores: the truth
    lies inside the 95% posterior, the ignored one stays as wide as its prior."""
    rng = np.random.default_rng(1)
    lo, hi = np.zeros(3), np.ones(3)

    def simulate(x: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal((len(x), 2)) * [0.02, 0.01]
        return np.c_[2 * x[:, 0], x[:, 0] * x[:, 1]] + noise

    truth = np.array([0.3, 0.6, 0.5])
    obs = (Observation(0.6, 0.04), Observation(0.18, 0.02))
    x = latin_hypercube(lo, hi, 40, 0)
    y = simulate(x)
    fit = Fit(tuple(fit_emulator(x, y[:, i], lo, hi) for i in range(2)), obs, lo, hi)
    x2, share = not_ruled_out(fit, 30, 1)
    assert 0 < share < 0.5  # history matching rules most of the box out
    x, y = np.vstack([x, x2]), np.vstack([y, simulate(x2)])
    fit = Fit(tuple(fit_emulator(x, y[:, i], lo, hi) for i in range(2)), obs, lo, hi)
    post = sample_posterior(fit, 400, 2)
    q = np.quantile(post.draws, [0.025, 0.975], axis=0)
    assert np.all((q[0, :2] <= truth[:2]) & (truth[:2] <= q[1, :2]))
    ident = identification(["a", "b", "c"], post.draws, (lo, hi))
    assert list(ident["verdict"]) == ["identified", "identified", "not identified"]
    assert post.ess > 100


def test_replicates_teach_the_emulator_the_run_noise() -> None:
    """Three runs of each point, noise of known size: the white kernel finds about that
    noise, and the latent mean is the smooth function, not one run's draw."""
    rng = np.random.default_rng(4)
    lo, hi = np.zeros(2), np.ones(2)
    x = np.repeat(latin_hypercube(lo, hi, 40, 0), 3, axis=0)
    y = np.sin(3 * x[:, 0]) + x[:, 1] + 0.05 * rng.standard_normal(len(x))
    em = fit_emulator(x, y, lo, hi)
    assert 0.5 * 0.05**2 < em.noise < 2.0 * 0.05**2
    probe = latin_hypercube(lo, hi, 50, 9)
    mu, _ = em.predict(probe)
    assert np.max(np.abs(mu - (np.sin(3 * probe[:, 0]) + probe[:, 1]))) < 0.05


def test_the_emulator_check_holds_out_a_points_replicates_together() -> None:
    """A KPI that jumps from point to point (no smooth model): held out alone, a run is
    predicted by its own point's other runs; held out with them, it cannot be."""
    rng = np.random.default_rng(5)
    lo, hi = np.zeros(2), np.ones(2)
    points = latin_hypercube(lo, hi, 40, 1)
    at = np.repeat(np.arange(40), 3)
    y = rng.standard_normal(40)[at] + 0.01 * rng.standard_normal(at.size)
    leaky = cross_check(points[at], y, lo, hi)
    honest = cross_check(points[at], y, lo, hi, groups=at)
    assert leaky["r2"] > 0.9 and honest["r2"] < 0.3


def test_each_run_of_a_point_has_its_own_seed_shared_by_its_scenarios() -> None:
    config, _, _ = load_calibration(ROOT / "experiments" / "calibration.yaml")
    x = latin_hypercube(
        *(np.array([[p.low for p in config.parameters], [p.high for p in config.parameters]])), 4, 0
    )
    jobs = jobs_at(config, "w", x, ["baseline", "reform"], config.evaluation, ["resolution_rate"], 100, 3)
    assert len(jobs) == 4 * 3 * 2
    by_seed: dict[int, set[tuple[int, str]]] = {}
    for j in jobs:
        by_seed.setdefault(j.seed, set()).add((j.point, j.scenario))
    assert sorted(by_seed) == list(range(100, 112))
    assert all(len({p for p, _ in v}) == 1 and len(v) == 2 for v in by_seed.values())


def test_the_check_finds_which_parameters_move_a_figure() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((30, 3))
    y = 4 * x[:, 0] + 0.01 * rng.standard_normal(30)
    beta, se = effects(x, y, np.zeros(3), np.ones(3))
    assert beta[0] == pytest.approx(4, abs=0.05) and abs(beta[1]) < 2 * se[1] + 0.05


TINY = """name: tiny
targets: targets.yaml
base_context: town
context_out: ctx/calibrated_tiny.yaml
docs_out: calibration.md
evaluation: {residents: 20000, days: 90}
waves: {first: 12, second: 6, third: 4, seed: 3, replicates: 2}
posterior_draws: 200
predictive: {draws: 2, residents: 20000, days: 90}
check: {points: 8, residents: 20000, days: 60}
parameters:
  - {name: approval_processing_days, paths: ["service_requests.processing_days"], low: 0.5, high: 4.0}
"""


def test_calibrate_recovers_a_known_parameter_of_the_model_and_resumes(tmp_path: Path) -> None:
    """A target made by the model itself at a known processing time (2 days; the mean over
    8 seeds, as the calibration fits the expected KPI): the posterior holds it; the command
    writes the context, its draws and the page, and a rerun does no run."""
    over = {"population.residents": 20000, "service_requests.processing_days": 2.0}
    mean = np.mean(
        [
            sim.run("baseline", seed=100 + k, days=90, context="town", overrides=over).summary[
                "approval_days_mean"
            ]
            for k in range(8)
        ]
    )
    (tmp_path / "targets.yaml").write_text(
        "targets:\n"
        f"  - {{id: approval, role: calibrate, reading: observation, metric: approval_days_mean, "
        f"scenario: baseline, value: {mean:.4f}, tolerance: 1.0, "  # one run's sd is about 0.8 days
        "source: x, denominator: a}\n"
        "  - {id: after, role: validate, reading: claim, metric: approval_days_mean, scenario: reform, "
        "value: 3.0, tolerance: 1.0, source: y, denominator: a}\n"
    )
    (tmp_path / "ctx").mkdir()
    (tmp_path / "cal.yaml").write_text(TINY)
    (tmp_path / "calibration.md").write_text(
        "PREVIOUS-PAGE\n<!-- draws:start -->\nkept\n<!-- draws:end -->\n"
    )
    args = ["calibrate", str(tmp_path / "cal.yaml"), "--workers", "1", "--out", str(tmp_path / "out")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    post = load_posterior(tmp_path / "ctx" / "calibrated_tiny.yaml")
    lo, hi = np.quantile(post.values[:, 0], [0.025, 0.975])
    assert lo <= 2.0 <= hi and hi - lo < 1.5  # narrower than the prior (3.5 wide)
    assert post.overrides[0]["service_requests.processing_days"] == pytest.approx(post.values[0, 0], abs=1e-5)
    assert sim.load_scenario("baseline", context=str(tmp_path / "ctx" / "calibrated_tiny.yaml"))
    page = (tmp_path / "calibration.md").read_text()
    assert "Validation: held-back figures" in page and "kept" in page and "PREVIOUS-PAGE" not in page
    runs = (tmp_path / "out" / "runs.jsonl").read_text().splitlines()
    assert len(runs) == (12 + 6 + 4) * 2 + 2 * 2  # baseline twice at each point; predictive: both scenarios
    seeds = {json.loads(x)["key"].split(":")[-1] for x in runs[: (12 + 6 + 4) * 2]}
    assert len(seeds) == (12 + 6 + 4) * 2  # every run of the design with its own seed
    assert sum(json.loads(x)["stage"] == "wave3" for x in runs) == 4 * 2
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and (tmp_path / "out" / "runs.jsonl").read_text().splitlines() == runs


def test_stability_refits_with_other_seeds_and_reports_which_verdicts_hold(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  - {id: approval, role: calibrate, reading: observation, metric: approval_days_mean, "
        "scenario: baseline, value: 3, tolerance: 0.5, source: x, denominator: a}\n"
    )
    (tmp_path / "ctx").mkdir()
    small = TINY.replace(
        "first: 12, second: 6, third: 4, seed: 3, replicates: 2",
        "first: 8, second: 0, third: 0, seed: 3, replicates: 1",
    )
    (tmp_path / "cal.yaml").write_text(small.replace("days: 90", "days: 60"))
    args = [
        "calibrate",
        str(tmp_path / "cal.yaml"),
        "--stability",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "out"),
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    first = [json.loads(x) for x in (tmp_path / "out" / "runs.jsonl").read_text().splitlines()]
    second = [json.loads(x) for x in (tmp_path / "out" / "rerun" / "runs.jsonl").read_text().splitlines()]
    assert len(first) == len(second) == 8 + 2
    assert {x["key"] for x in first}.isdisjoint(x["key"] for x in second)  # other seeds, same points
    assert [x["key"].split(":")[:3] for x in first] == [x["key"].split(":")[:3] for x in second]
    par = pd.read_csv(tmp_path / "out" / "stability_parameters.csv")
    assert list(par["parameter"]) == ["approval_processing_days"]
    assert par["same"].iloc[0] == (par["verdict_a"].iloc[0] == par["verdict_b"].iloc[0])
    tgt = pd.read_csv(tmp_path / "out" / "stability_targets.csv")
    assert list(tgt["target"]) == ["approval"]
    assert (tgt["same"] == (tgt["within_a"] == tgt["within_b"])).all()
    page = (tmp_path / "calibration.md").read_text()
    assert "## Robust to the model's random numbers?" in page and "1,000,000" in page


def test_a_failed_run_is_recorded_and_the_check_goes_on(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  - {id: approval, role: calibrate, reading: observation, metric: approval_days_mean, "
        "scenario: baseline, value: 8, tolerance: 1, source: x, denominator: a}\n"
    )
    (tmp_path / "ctx").mkdir()
    # a processing time of 0 is refused by the model: runs at points below 0 fail
    (tmp_path / "cal.yaml").write_text(TINY.replace("low: 0.5, high: 4.0", "low: -3.0, high: 4.0"))
    r = CliRunner().invoke(app, ["calibrate", str(tmp_path / "cal.yaml"), "--check", "--workers", "1",
                                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert r.exit_code == 0, r.output
    recs = [json.loads(x) for x in (tmp_path / "out" / "check" / "runs.jsonl").read_text().splitlines()]
    failed = [x for x in recs if x["status"] == "failed"]
    assert len(recs) == 8 and 0 < len(failed) < 8 and "processing_days" in failed[0]["error"]
    assert "approval_processing_days" in r.output


def _at(p: sim.Params, path: str) -> object:
    node: object = p
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return node


def test_the_main_job_runs_on_the_calibrated_context_over_its_posterior_draws() -> None:
    """The README's first command compares on the shipped scenarios' own context, which is
    the calibrated one, over its posterior draws; the calibrated context holds the
    posterior median of the draws that `govsim calibrate` wrote beside it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    main = re.search(r"```bash\n(python3 -m venv [^\n]*govsim compare[^\n]*)\n```", readme)
    assert main is not None
    command = main.group(1)
    assert "--context" not in command and "--draws" in command
    assert all(sim.load_scenario(name).context == "calibrated" for name in builtin_scenarios())
    assert (
        sim.load_scenario("baseline", context="wujiang").categories
        == sim.load_scenario("baseline").categories
    )
    config, _, _ = load_calibration(ROOT / "experiments" / "calibration.yaml")
    post = load_posterior("calibrated")
    draws = re.search(r"--draws (\d+)", command)
    assert draws is not None and len(post) >= int(draws.group(1))
    assert post.parameters == tuple(p.name for p in config.parameters)
    median = np.median(post.values, axis=0)
    expected = context_values(
        sim.load_scenario("baseline", context=config.base_context), config.parameters, median
    )
    shipped = sim.load_scenario("baseline")
    for path, value in expected.items():
        got = _at(shipped, path)
        if isinstance(value, list):  # initial levels: the grid keeps the rest
            assert list(got)[1:] == pytest.approx(value[1:], abs=1e-5)  # type: ignore[call-overload]
        else:
            assert got == pytest.approx(value, rel=1e-5, abs=1e-6), path


def test_the_page_says_what_an_empty_region_means_and_names_what_spreads() -> None:
    """With nothing left by history matching, the page names the missed figures and the
    parameters whose posterior spreads wider than the prior; with a region left, it says nothing."""
    from types import SimpleNamespace

    from sim.presentation.calibration_doc import _conflict

    predictive = pd.DataFrame(
        {
            "target": ["a", "b", "c"],
            "role": ["calibrate", "calibrate", "validate"],
            "within": [True, False, False],
        }
    )
    ident = pd.DataFrame({"parameter": ["p", "q"], "sd_ratio": [1.3, 0.4]})
    empty = SimpleNamespace(nroy_share=0.0, predictive=predictive, identification=ident)
    text = _conflict(empty)  # type: ignore[arg-type]
    assert "missed: `b`)" in text and "`p` spreads wider" in text and "`q`" not in text
    assert _conflict(SimpleNamespace(nroy_share=0.2, predictive=predictive, identification=ident)) == ""  # type: ignore[arg-type]
