"""Answers that carry parameter uncertainty: runs over posterior draws and their combined intervals.

The statistics are checked on synthetic data whose answer is known
(:mod:`sim.experiments.uncertainty`); the commands on a tiny posterior written beside a copy of
the town context (3 draws, 15,000-25,000 residents, 60 days).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

import sim.experiments.results
from sim.cli import app
from sim.core.scenarios import scenario_dir
from sim.errors import GovsimError, ScenarioError
from sim.experiments.batch import run_batch
from sim.experiments.design import Design, expand, load_design, to_json
from sim.experiments.posterior import posterior_of, write_posterior
from sim.experiments.replicate import interval
from sim.experiments.stats import kpi_intervals
from sim.experiments.uncertainty import combine, kpi_intervals_draws, paired_differences_draws

runner = CliRunner()
DETECT, RESIDENTS = "categories.sanitation.detectability", "population.residents"
APART = [(0.2, 15_000), (1.2, 20_000), (4.0, 25_000)]
"""Three draws far apart: the answer depends on them much more than on the runs."""
SAME = [(1.2, 20_000)] * 3
SMALL = ["--reps", "2", "--days", "60", "--workers", "2"]


def _context(folder: Path, name: str, draws: list[tuple[float, int]] | None) -> Path:
    """A copy of the town context in ``folder`` with ``draws`` written beside it (none if None)."""
    folder.mkdir(parents=True, exist_ok=True)
    ctx = folder / f"{name}.yaml"
    shutil.copy(scenario_dir() / "contexts" / "town.yaml", ctx)
    if draws is not None:
        values = np.array(draws, dtype=float)
        overrides = [{DETECT: d, RESIDENTS: r} for d, r in draws]
        write_posterior(ctx, [DETECT, RESIDENTS], values, overrides, "tests/test_posterior_draws.py")
    return ctx


def _compare(ctx: Path, out: Path, *extra: str) -> str:
    res = runner.invoke(
        app, ["compare", "baseline", "reform", *SMALL, "--context", str(ctx), "--out", str(out), *extra]
    )
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())  # as one line: the table and sentences wrap


def _govsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)


# ---- the statistic, on synthetic data -----------------------------------------------------------


def test_identical_draws_give_exactly_the_run_only_t_interval() -> None:
    v = np.array([3.1, 2.7, 3.9, 3.3])
    m, lo, hi = interval(pd.Series(v))
    for c in (combine([v, v, v]), combine([v])):
        assert (c.mean, c.lo, c.hi) == pytest.approx((m, lo, hi), rel=1e-12)
    assert combine([v, v, v]).var_parameter == 0 and combine([v, v, v]).dominant == "runs"
    assert combine([v]).dominant == ""  # one draw: the parameters' share cannot be told


@pytest.mark.parametrize(("tau", "sigma", "dominant"), [(1.0, 0.1, "parameters"), (0.1, 1.0, "runs")])
def test_combined_interval_recovers_the_known_total_variance(tau: float, sigma: float, dominant: str) -> None:
    """Draw means spread N(0, tau²) (a quantile grid), run noise with sd sigma·√R shared by every
    draw (the same seeds): the mixture is N(0, tau² + sigma²), so the 95% interval is
    ±1.96·sqrt(tau² + sigma²), and the components are tau² and sigma²."""
    draws, reps = 400, 400
    mu = tau * stats.norm.ppf((np.arange(draws) + 0.5) / draws)
    e = np.random.default_rng(1).normal(size=reps)
    e = (e - e.mean()) / e.std(ddof=1) * sigma * np.sqrt(reps)
    c = combine([m + e for m in mu])
    half = stats.norm.ppf(0.975) * np.hypot(tau, sigma)
    assert c.lo == pytest.approx(-half, rel=0.01) and c.hi == pytest.approx(half, rel=0.01)
    assert c.var_parameter == pytest.approx(tau**2, rel=0.01)
    assert c.var_runs == pytest.approx(sigma**2, rel=1e-9)
    assert c.dominant == dominant and c.n == draws * reps and c.draws == draws


def test_draws_without_run_noise_span_the_draws() -> None:
    """Every replication of a draw gives its value: the interval runs from the lowest to the
    highest of 10 draws (each holds 10% of the mass, more than the 2.5% tails)."""
    c = combine([np.full(3, float(x)) for x in range(10)])
    assert (c.lo, c.mean, c.hi) == (0.0, 4.5, 9.0)
    assert c.var_runs == 0 and c.dominant == "parameters"
    lone = combine([np.array([1.0]), np.array([2.0, 3.0])])  # one draw's run noise is unknown
    assert np.isnan(lone.lo) and np.isnan(lone.var_runs) and lone.dominant == ""


def test_a_skewed_spread_of_draws_gives_a_skewed_interval() -> None:
    noise = np.array([-0.01, 0.0, 0.01])
    c = combine([x + noise for x in [0.0] * 9 + [10.0]])  # one draw far above the rest
    assert c.hi - c.mean > 5 * (c.mean - c.lo)


def _summaries(effect_by_draw: list[float]) -> pd.DataFrame:
    """Two scenarios, draw d shifts B by effect_by_draw[d]; noise per replication is shared
    (common random numbers) but differs between draws."""
    rows = []
    for d, effect in enumerate(effect_by_draw):
        for r in range(3):
            noise = [0.3, -0.5, 0.9][r] * (d + 1)
            rows.append({"scenario": "A", "point": 0, "draw": d, "replication": r, "k": 10 + noise})
            rows.append({"scenario": "B", "point": 0, "draw": d, "replication": r, "k": 10 + noise + effect})
    return pd.DataFrame(rows)


def test_paired_differences_pair_on_draw_and_replication() -> None:
    diffs = paired_differences_draws(_summaries([1.0, 2.0, 6.0]), ["k"]).iloc[0]
    assert diffs["n_pairs"] == 9 and diffs["draws"] == 3
    assert diffs["diff_mean"] == pytest.approx(3.0)
    assert (diffs["diff_lo"], diffs["diff_hi"]) == pytest.approx((1.0, 6.0))  # the noise cancels in pairs
    assert diffs["var_runs"] == pytest.approx(0, abs=1e-12) and diffs["dominant"] == "parameters"


def test_kpi_intervals_over_identical_draws_equal_the_run_only_ones() -> None:
    one = _summaries([1.0])
    three = pd.concat([one.assign(draw=d) for d in range(3)], ignore_index=True)
    got = kpi_intervals_draws(three, ["k"]).set_index("scenario")
    want = kpi_intervals(one, ["k"]).set_index("scenario")
    for col in ("mean", "lo", "hi"):
        assert got[col].to_numpy() == pytest.approx(want[col].to_numpy(), rel=1e-12)


# ---- the commands, on a tiny posterior -----------------------------------------------------------


@pytest.fixture(scope="module")
def apart(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(context, store, output) of compare --draws 3 over draws far apart."""
    folder = tmp_path_factory.mktemp("apart")
    ctx = _context(folder, "ctx", APART)
    out = _compare(ctx, folder / "store", "--draws", "3")
    return ctx, folder / "store", out


def test_compare_over_draws_stores_draws_times_scenarios_times_reps(apart: tuple[Path, Path, str]) -> None:
    _, store, output = apart
    res = sim.experiments.results.open(store)
    assert len(res.design) == 3 * 2 * 2 and (res.runs["status"] == "ok").all()
    assert sorted(res.design["draw"].unique()) == [0, 1, 2] and "draw" not in res.parameters
    assert res.design["run_id"].str.contains("__d0002__r0001").any()
    assert "3 posterior draws × 2 replications" in output and "parameter uncertainty dominates" in output
    s = res.summaries
    # common random numbers within a draw: the same seed, so the same issues, in both scenarios
    for _, grp in s.groupby(["draw", "replication"]):
        assert grp["seed"].nunique() == 1 and grp["cases_created"].nunique() == 1
    # each draw ran under its own parameters: more residents, more issues
    created = s.groupby("draw")["cases_created"].mean()
    assert created[0] < created[1] < created[2]


def test_combined_interval_is_wider_than_run_noise_alone(apart: tuple[Path, Path, str]) -> None:
    _, store, _ = apart
    s = pd.read_parquet(store / "summaries.parquet")
    kpis = pd.read_csv(store / "kpis.csv").set_index(["scenario", "kpi"])
    diffs = pd.read_csv(store / "differences.csv").set_index("kpi")
    for kpi in ("cases_created", "staff_hours"):
        row = kpis.loc[("baseline", kpi)]
        for _, grp in s[s["scenario"] == "baseline"].groupby("draw"):
            m, lo, hi = interval(grp[kpi])  # what one draw's runs alone would say
            assert row["hi"] - row["lo"] > hi - lo and row["lo"] <= m <= row["hi"]
        assert row["dominant"] == "parameters" and row["var_parameter"] > row["var_runs"]
    wide = s.pivot_table(index=["draw", "replication"], columns="scenario", values="staff_hours")
    per_draw = (wide["reform"] - wide["baseline"]).groupby(level="draw")
    d = diffs.loc["staff_hours"]
    assert d["diff_mean"] == pytest.approx(per_draw.mean().mean())
    assert d["diff_lo"] <= per_draw.mean().min() and d["diff_hi"] >= per_draw.mean().max()


def test_resume_does_not_redo_finished_runs(apart: tuple[Path, Path, str]) -> None:
    ctx, store, _ = apart
    res = sim.experiments.results.open(store)
    redo = "reform__p0000__d0001__r0001"
    kept = {r: (store / "runs" / r / "status.json").read_bytes() for r in res.design["run_id"] if r != redo}
    shutil.rmtree(store / "runs" / redo)
    output = _compare(ctx, store, "--draws", "3")
    assert "11 finished runs kept, 1 to run" in output
    assert all((store / "runs" / r / "status.json").read_bytes() == b for r, b in kept.items())
    assert (store / "runs" / redo / "status.json").is_file()


def test_identical_draws_give_the_run_only_intervals(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "same", SAME)
    _compare(ctx, tmp_path / "draws", "--draws", "3")
    fixed = ["--set", f"{DETECT}=1.2", "--set", f"{RESIDENTS}=20000"]
    _compare(ctx, tmp_path / "plain", *fixed)
    got = pd.read_csv(tmp_path / "draws" / "kpis.csv").set_index(["scenario", "kpi"])
    want = pd.read_csv(tmp_path / "plain" / "kpis.csv").set_index(["scenario", "kpi"])
    for col in ("mean", "lo", "hi"):
        assert got[col].to_numpy() == pytest.approx(want[col].to_numpy(), rel=1e-9, nan_ok=True)
    assert (got["var_parameter"].dropna() == 0).all()
    # the paired difference's interval is then the t-interval of the replications' differences
    s = pd.read_parquet(tmp_path / "plain" / "summaries.parquet")
    wide = s.pivot(index="replication", columns="scenario", values="staff_hours")
    _, lo, hi = interval(wide["reform"] - wide["baseline"])
    d = pd.read_csv(tmp_path / "draws" / "differences.csv").set_index("kpi").loc["staff_hours"]
    assert (d["diff_lo"], d["diff_hi"]) == pytest.approx((lo, hi), rel=1e-9)


def test_bad_draws_are_refused_in_one_line(tmp_path: Path) -> None:
    bare = _context(tmp_path, "bare", None)
    ctx = _context(tmp_path, "ctx", APART)
    cases = [
        ("compare", bare, "2", ["bare.draws.json", "govsim calibrate"]),
        ("attribute", bare, "2", ["bare.draws.json", "govsim calibrate"]),
        ("compare", ctx, "0", ["--draws", "at least 1"]),
        ("compare", ctx, "4", ["4 draws asked", "has 3"]),
    ]
    for command, context, n, words in cases:
        args = [command, "baseline", "reform", "--context", str(context), "--draws", n]
        done = _govsim(*args, "--out", str(tmp_path / "never"))
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert all(w in lines[0] for w in words), lines[0]
    assert not (tmp_path / "never").exists()
    # without --context, the draws of the context the scenarios name: a file needs --context
    named = tmp_path / "named.yaml"
    named.write_text(f"extends: baseline\nname: named\ncontext: {ctx.name}\n")
    with pytest.raises(GovsimError, match="context 'ctx' is no built-in; give its file with --context"):
        posterior_of([str(named)])
    assert len(posterior_of([str(named)], ctx)) == 3


def test_batch_design_runs_over_draws_and_records_a_failing_draw(tmp_path: Path) -> None:
    bad = [*APART[:2], (1.2, -5)]  # the third draw cannot run: residents must be positive
    ctx = _context(tmp_path, "ctx", bad)
    design = Design(
        name="drawn", scenarios=("baseline",), context=str(ctx), days=30, replications=2, posterior_draws=3
    )
    plain = design.model_copy(update={"posterior_draws": None})
    assert "posterior_draws" not in to_json(plain) and "draw" not in expand(plain)
    report = run_batch(design, out=tmp_path / "store", workers=1)
    assert (report.total, report.ok, report.failed) == (6, 4, 2)
    res = sim.experiments.results.open(tmp_path / "store")
    failed = res.runs[res.runs["status"] == "failed"]
    assert sorted(failed["run_id"]) == ["baseline__p0000__d0002__r0000", "baseline__p0000__d0002__r0001"]
    assert failed["error"].str.contains("residents").all()
    created = res.summaries.groupby("draw")["cases_created"].mean()
    assert created[0] < created[1]
    again = run_batch(design, out=tmp_path / "store", workers=1)
    assert (again.skipped, again.ok, again.failed) == (4, 0, 2)  # the finished runs are kept
    file = tmp_path / "too_many.yaml"
    file.write_text(f"scenarios: [baseline]\ncontext: {ctx}\nposterior_draws: 4\n")
    with pytest.raises(ScenarioError, match=r"too_many.yaml: posterior_draws: 4 draws asked; .* has 3$"):
        load_design(file)


def test_attribute_over_draws(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "ctx", APART[:2])
    sep = tmp_path / "sep.yaml"
    sep.write_text("extends: baseline\nname: sep\ngrid:\n  separation: true\n")
    args = ["attribute", "baseline", str(sep), "--context", str(ctx), "--draws", "2", "--reps", "2"]
    res = runner.invoke(app, [*args, "--days", "30", "--workers", "2", "--out", str(tmp_path / "attr")])
    assert res.exit_code == 0, res.output
    output = " ".join(res.output.split())
    assert "× 2 posterior draws ×" in output and "dominant uncertainty" in output
    runs = pd.read_parquet(tmp_path / "attr" / "runs.parquet")
    assert len(runs) == 2 * 3 * 2 and sorted(runs["draw"].unique()) == [0, 1]  # 2 coalitions + control
    shares = pd.read_parquet(tmp_path / "attr" / "shares.parquet")
    total = shares[(shares["kpi"] == "staff_hours") & (shares["mechanism"] == "TOTAL")].iloc[0]
    assert total["draws"] == 2 and total["n"] == 4
    assert total["contribution_lo"] <= total["contribution_mean"] <= total["contribution_hi"]
