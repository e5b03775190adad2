"""The everyday path (issue 13): what a user meets when running the main job and its siblings.

Numbers out of range are refused in one plain line; attribution has the same cap on runs as
compare; the main job opens with sentences that follow its data; figures keep legends off
the data and titles within bounds; the brief of a sweep is titled by its question, opens
with a summary and prints without clipping.
"""

from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import sim
import sim.core.limits
from sim.cli import app
from sim.errors import GovsimError
from sim.experiments.attribution import attribute
from sim.experiments.batch import run_batch
from sim.experiments.calibration import Target
from sim.experiments.calibration_fit import fit_table
from sim.experiments.stats import paired_differences
from sim.presentation import plots
from sim.presentation.comparison import ROUGH_BELOW, headline, replication_warning, value_cell
from sim.presentation.findings import format_diff, format_value
from sim.presentation.report import build_report
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

runner = CliRunner()
TINY_RUN = ["--days", "1", "--set", "population.residents=1000"]
SMALL_RUN = ["--days", "20", "--set", "population.residents=6000"]


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


@pytest.mark.parametrize("seed", ["-1", str(2**64)])
def test_a_refused_run_leaves_no_output_folder(tmp_path: Path, seed: str) -> None:
    res = runner.invoke(app, ["run", "baseline", "--seed", seed, *TINY_RUN, "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and f"--seed: {seed} is not allowed" in res.stderr, res.output
    assert not (tmp_path / "out").exists()


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


# ------------------------------------------------------ the main job opens with sentences
def _summaries(grid_a: list[float], grid_b: list[float]) -> pd.DataFrame:
    """Hand-made run summaries of scenarios a and b, paired by replication."""
    rows = [
        {"scenario": s, "replication": i, "seed": i, "plan_share_grid": v, "staff_hours": 1000.0 + 10 * i}
        for s, values in (("a", grid_a), ("b", grid_b))
        for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def _headline(grid_a: list[float], grid_b: list[float]) -> list[str]:
    diffs = paired_differences(_summaries(grid_a, grid_b), ["plan_share_grid", "staff_hours"], reference="a")
    return headline(diffs)


def test_headline_sentences_follow_the_data() -> None:
    a, b = [0.60, 0.61, 0.62, 0.63, 0.64], [0.70, 0.70, 0.71, 0.73, 0.75]
    grid, cost = _headline(a, b)
    mean_a, mean_b = format_value("plan_share_grid", np.mean(a)), format_value("plan_share_grid", np.mean(b))
    noun = "the share of resolved issues settled in the grid or the village"
    assert grid.startswith(f"B raised {noun} from {mean_a} to {mean_b}")
    diff = format_diff("plan_share_grid", np.mean(b) - np.mean(a))
    assert f"paired difference {diff} percentage points, 95% interval" in grid
    assert "do not differ" not in cost and "identical results in all 5 replications" in cost
    # the other way round, the sentence says so
    assert _headline(b, a)[0].startswith(f"B cut {noun} from {mean_b} to {mean_a}")
    # a difference the replications cannot tell from noise is not claimed
    noisy = _headline([0.60, 0.70, 0.60, 0.70, 0.65], [0.70, 0.60, 0.70, 0.60, 0.66])[0]
    assert "is not distinguishable from zero with 5 replications" in noisy and "raised" not in noisy


def test_few_replications_are_warned_about() -> None:
    assert replication_warning(ROUGH_BELOW) is None
    assert "rough" in str(replication_warning(ROUGH_BELOW - 1))
    assert "no interval" in str(replication_warning(1))


def test_the_table_shows_shares_as_percentages_and_clips_intervals() -> None:
    row = {"mean": 0.995, "lo": 0.975, "hi": 1.02, "n": 3}
    assert value_cell("approval_completion_rate", row) == "99.5% [97.5%, 100.0%]"
    days = {"mean": 21.3, "lo": -4.98, "hi": 47.6, "n": 3}
    assert value_cell("one_thing_days_mean", days) == "21.3 [0, 47.6]"
    one = {"mean": 0.5, "lo": float("nan"), "hi": float("nan"), "n": 1}
    assert value_cell("tier_share_grid", one) == "50.0%"
    same = {"mean": 2419864.0, "lo": 2419864.0, "hi": 2419864.0, "n": 5}  # every replication alike
    assert value_cell("staff_hours", same) == "2,419,864"


def test_compare_opens_with_sentences_from_its_numbers(tmp_path: Path) -> None:
    args = ["compare", "baseline", "reform", "--reps", "3", *SMALL_RUN, "--out", str(tmp_path)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    stdout = " ".join(res.stdout.split())
    assert stdout.startswith("In short - ")
    kpis = pd.read_csv(tmp_path / "kpis.csv").set_index(["scenario", "kpi"])["mean"]
    grid = [format_value("plan_share_grid", kpis[(s, "plan_share_grid")]) for s in ("baseline", "reform")]
    first = stdout.split(" - ")[1]
    assert "share of resolved issues settled in the grid or the village" in first
    assert all(g in first for g in grid)
    # readable labels, shares in percent, no code names or scientific notation
    assert "escalations per case" in stdout and "cases dropped (count)" in stdout
    assert "tier_share_grid" not in stdout and "e+0" not in stdout
    assert f"{grid[0]} [" in stdout
    # three replications: a warning on stderr that the intervals are rough
    assert "warning: with 3 replications per scenario the 95% intervals are rough" in res.stderr


def test_compare_of_one_scenario_says_there_is_nothing_to_compare_it_with(tmp_path: Path) -> None:
    res = runner.invoke(app, ["compare", "baseline", "--reps", "2", *TINY_RUN, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    stdout = " ".join(res.stdout.split())
    assert stdout.startswith("In short - baseline alone: nothing to compare it with")
    assert "share of resolved issues settled in the basic grid" in stdout


def test_compare_with_enough_replications_does_not_warn(tmp_path: Path) -> None:
    args = ["compare", "baseline", "reform", "--reps", str(ROUGH_BELOW), *TINY_RUN, "--out", str(tmp_path)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "warning" not in res.stderr


# ------------------------------------------------- figures: legends clear of data, titles fit
LONG = "reform (patrollers_per_grid=2, misroute_probability=0.15, staff_per_10k=22)"


def _layout_problems(fig: Figure) -> list[str]:
    """What a reader would trip on: a legend over a panel, a title wider than its panel or the figure."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    problems = [
        f"a legend covers the panel {ax.get_title()!r}"
        for leg in legends
        for ax in panels
        if leg.get_window_extent(r).overlaps(ax.get_window_extent(r))
    ]
    for leg in legends:
        box = leg.get_window_extent(r)
        if box.x0 < 0 or box.x1 > fig.bbox.width:
            problems.append("a legend runs off the figure")
    for ax in panels:
        if ax.title.get_window_extent(r).width > ax.get_window_extent(r).width * 1.1:
            problems.append(f"the title {ax.get_title()!r} is wider than its panel")
    sup = fig._suptitle  # type: ignore[attr-defined]
    if sup is not None and (sup.get_window_extent(r).x0 < 0 or sup.get_window_extent(r).x1 > fig.bbox.width):
        problems.append(f"the figure title {sup.get_text()!r} runs off the figure")
    plt.close(fig)
    return problems


def _summaries3() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for s, grid in (("baseline", 0.6), ("reform", 0.68), (LONG, 0.72)):
        for r in range(3):
            g = grid + rng.normal(0, 0.01)
            shares = {"grid": g, "department": (1 - g) * 0.8, "enforcement": (1 - g) * 0.2}
            rows.append({"scenario": s, "replication": r} | {f"plan_share_{t}": x for t, x in shares.items()})
    return pd.DataFrame(rows)


@pytest.mark.filterwarnings("error:constrained_layout not applied")  # panels squeezed to nothing
def test_legends_do_not_cover_data_and_titles_fit(
    baseline_run: sim.RunResult, reform_run: sim.RunResult
) -> None:
    summaries = _summaries3()
    days = np.arange(60)
    daily = pd.DataFrame(
        [
            {"scenario": s, "replication": r, "day": d, "open_cases": 100 + k * 20 + d * (k + 1) + r}
            for k, s in enumerate(("baseline", "reform", LONG))
            for r in range(2)
            for d in days
        ]
    )
    cases = {"baseline": baseline_run.cases, LONG: reform_run.cases}
    indices = pd.DataFrame(
        [
            {"kpi": k, "factor": f, "index": i, "value": v, "conf": 0.05}
            for k in ("tier_share_grid", "delay_total_mean_days", "staff_hours")
            for f, v in (("grid.patrollers_per_grid", 0.6), ("dispatch.misroute_probability", 0.3))
            for i in ("S1", "ST")
        ]
    ).assign(scenario=LONG)
    target = Target(
        id="g",
        metric="tier_share_grid",
        scenario="reform",
        value=0.7,
        tolerance=0.03,
        source="",
        role="calibrate",
        reading="observation",
        denominator="issues",
    )
    figures = {
        "tier shares": plots.tier_shares_figure(summaries),
        "backlog": plots.backlog_figure(daily),
        "delay": plots.delay_figure(cases),
        "flow": plots.flow_figure(cases),
        "sensitivity": plots.sensitivity_figure(indices),
        "calibration": plots.calibration_figure(fit_table([target], {"g": [0.66, 0.68]})),
    }
    problems = {name: _layout_problems(fig) for name, fig in figures.items()}
    assert not any(problems.values()), problems


# ------------------------------------------------------------------- the brief of a sweep
SWEEP = """
name: sweep
description: Does separation pay off whatever the misrouting? A small sweep. Second sentence.
scenarios: [baseline, reform]
days: 15
replications: 2
seed: 5
overrides: {population.residents: 8000}
parameters:
  dispatch.misroute_probability: {values: [0.05, 0.1, 0.2]}
keep: {daily: true}
"""


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline and reform at three parameter points, two paired replications: a store."""
    folder = tmp_path_factory.mktemp("sweep")
    (folder / "sweep.yaml").write_text(SWEEP)
    report = run_batch(folder / "sweep.yaml", out=folder / "store", workers=2)
    assert report.failed == 0
    return report.store


def test_the_brief_of_a_sweep_is_titled_by_its_question_and_opens_with_a_summary(sweep: Path) -> None:
    page = build_report(sweep)
    question = "Does separation pay off whatever the misrouting?"
    assert f"<title>Policy brief: {question}</title>" in page and f"<h1>{question}</h1>" in page
    assert page.index("<h2>In brief</h2>") < page.index("<h2>The question</h2>") < page.index("<h2>Findings")
    summary = [
        " ".join(unescape(re.sub(r"<[^>]+>", "", x)).split())
        for x in re.findall(r"<li>(.*?)</li>", page.split("<h2>In brief</h2>")[1].split("</section>")[0])
    ]
    assert summary[0].startswith("The study ran 2 scenarios (baseline, reform) at 3 parameter points")
    s = sim.results.open(sweep).summaries  # every row carries its parameter values
    noun = "share of resolved issues settled in the grid or the village"
    for p, grp in s.groupby("dispatch.misroute_probability"):
        wide = grp.pivot(index="replication", columns="scenario", values="plan_share_grid")
        d = (wide["reform"] - wide["baseline"]).to_numpy()
        [line] = [x for x in summary if x.startswith(f"Reform (misroute_probability={p}) against")]
        fr, to = (
            format_value("plan_share_grid", wide["baseline"].mean()),
            format_value("plan_share_grid", wide["reform"].mean()),
        )
        if d.min() > 0 or d.max() < 0:  # 2 pairs: the interval runs from the smaller to the larger
            assert f"the {noun} {'rose' if d.mean() > 0 else 'fell'} from {fr} to {to}" in line, line
        else:
            assert f"the {noun} " not in line.split("No clear difference")[0], line
            assert noun in line.split("No clear difference")[1], line
    assert "With 2 replications per scenario the intervals are rough" in summary[-1]


def test_the_brief_prints_without_clipping_a_wide_table(sweep: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is absent and CI is unset (apt-get install chromium to run this test)")
    from playwright.sync_api import sync_playwright

    target = tmp_path / "brief.html"
    target.write_text(build_report(sweep), encoding="utf-8")
    widths = """() => Array.from(document.querySelectorAll('table')).map(t => [
        t.parentElement.scrollWidth, t.parentElement.clientWidth,
        t.getBoundingClientRect().right, document.documentElement.clientWidth])"""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 688, "height": 1000})  # A4 less margins, 96 dpi
            tab.goto(target.as_uri(), wait_until="load")
            on_screen = tab.evaluate(widths)
            tab.emulate_media(media="print")
            printed = tab.evaluate(widths)
            pdf = tab.pdf(format="A4")
        finally:
            browser.close()
    assert any(sw > cw for sw, cw, _, _ in on_screen), "the table should be wider than the page on screen"
    for scroll_width, client_width, right, page_width in printed:
        assert scroll_width <= client_width and right <= page_width + 1, printed
    assert pdf.startswith(b"%PDF")


# ------------------------------------------------ sensitivity and analyze draw their figures
PNG = b"\x89PNG\r\n\x1a\n"
MORRIS = """
name: morris_tiny
scenarios: [reform]
days: 10
replications: 1
seed: 3
overrides: {population.residents: 4000}
parameters:
  dispatch.misroute_probability: {low: 0.0, high: 0.3}
  departments.staff_per_10k: {low: 10, high: 30}
sampling: {method: morris, samples: 3, seed: 1}
kpis: [tier_share_grid, delay_total_mean_days]
keep: {daily: false}
"""


def test_sensitivity_writes_its_figure_next_to_its_table(tmp_path: Path) -> None:
    (tmp_path / "morris.yaml").write_text(MORRIS)
    store = tmp_path / "m"
    r = runner.invoke(app, ["sensitivity", str(tmp_path / "morris.yaml"), "--out", str(store)])
    assert r.exit_code == 0, r.output
    assert (store / "sensitivity.parquet").is_file()
    assert (store / "sensitivity.png").read_bytes().startswith(PNG)
    assert "sensitivity.png" in " ".join(r.stdout.split())


def test_analyze_writes_its_figures_next_to_its_tables(sweep: Path) -> None:
    r = runner.invoke(app, ["analyze", str(sweep)])
    assert r.exit_code == 0, r.output
    folder = sweep / "analysis"
    assert (folder / "differences.parquet").is_file() and (folder / "intervals.parquet").is_file()
    for name in ("differences.png", "tier_shares.png"):
        assert (folder / name).read_bytes().startswith(PNG), name


def test_the_differences_figure_draws_each_paired_difference() -> None:
    summaries = _summaries(grid_a=[0.60, 0.61, 0.62], grid_b=[0.70, 0.70, 0.74])
    diffs = paired_differences(summaries, ["plan_share_grid", "staff_hours"], reference="a")
    fig = plots.differences_figure(diffs)
    panels = {ax.get_title().replace("\n", " "): ax for ax in fig.axes}
    grid = panels[plots.kpi_label("plan_share_grid")]
    [dots] = [line for line in grid.get_lines() if line.get_marker() == "o"]
    row = diffs.set_index("kpi").loc["plan_share_grid"]
    assert dots.get_xdata()[0] == pytest.approx(row["diff_mean"] * 100)  # in percentage points
    assert grid.get_xlabel() == "difference (percentage points)"
    assert panels[plots.kpi_label("staff_hours")].get_xlabel() == "difference (hours)"
    assert not _layout_problems(fig)
