"""Experiment designs, the batch runner and the results store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from typer.testing import CliRunner

import sim.experiments.results
from sim.cli import app
from sim.errors import ScenarioError
from sim.experiments.batch import run_batch
from sim.experiments.design import expand, load_design

TINY = """
name: tiny
scenarios: [baseline, reform]
days: 15
replications: 2
seed: 5
overrides: {population.residents: 8000}
parameters:
  grid.patrollers_per_grid: {values: [1, 2]}
kpis: [tier_share_grid, delay_total_mean_days, cases_created]
"""


def _design(tmp_path: Path, text: str = TINY, name: str = "tiny.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _tables(store: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = sim.results.open(store)
    return res.summaries, res.daily


def test_expand_shares_seeds_across_scenarios_and_points(tmp_path: Path) -> None:
    d = load_design(_design(tmp_path))
    table = expand(d)
    assert len(table) == 2 * 2 * 2
    assert table["run_id"].is_unique
    seeds = table.groupby(["scenario", "point"])["seed"].apply(tuple)
    assert seeds.nunique() == 1  # replication r has one seed everywhere
    assert list(table["grid.patrollers_per_grid"].unique()) == [1, 2]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\nscenarios: [baseline]\nreplicates: 3\n", "replicates: unknown key"),
        ("name: x\nscenarios: [baseline]\nsampling: {method: grid}\n", "sampling.method"),
        ("name: x\nscenarios: [nowhere]\n", "scenarios (nowhere)"),
        (
            "name: x\nscenarios: [baseline]\nparameters:\n  grid.bogus: {values: [1]}\n",
            "parameters.grid.bogus",
        ),
        ("name: x\nscenarios: [baseline]\nparameters:\n  grid.patrollers_per_grid: {low: 1}\n", "low < high"),
        ("name: x\nscenarios: [baseline]\nkpis: [happiness]\n", "unknown ['happiness']"),
        (
            "name: x\nscenarios: [baseline]\nparameters:\n  grid.patrollers_per_grid: {values: [1, 2]}\n"
            "sampling: {method: sobol}\n",
            "needs ranges",
        ),
    ],
)
def test_design_errors_are_one_line(tmp_path: Path, text: str, words: str) -> None:
    p = _design(tmp_path, text, "bad.yaml")
    with pytest.raises(ScenarioError) as info:
        load_design(p)
    assert str(p) in str(info.value) and words in str(info.value) and "\n" not in str(info.value)
    out = subprocess.run([sys.executable, "-m", "sim", "batch", str(p)], capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_sequential_processes_and_dask_give_identical_tables(tmp_path: Path) -> None:
    d = _design(tmp_path)
    seq = run_batch(d, out=tmp_path / "seq", workers=1)
    par = run_batch(d, out=tmp_path / "par", workers=2)
    dsk = run_batch(d, out=tmp_path / "dask", workers=2, local_cluster=True)
    assert seq.ok == par.ok == dsk.ok == 8 and seq.failed == par.failed == dsk.failed == 0
    s0, d0 = _tables(seq.store)
    for other in (par.store, dsk.store):
        s1, d1 = _tables(other)
        pdt.assert_frame_equal(s0, s1)
        pdt.assert_frame_equal(d0, d1)
    assert list(s0["run_id"]) == list(expand(load_design(d))["run_id"])  # design order
    manifest = json.loads((seq.store / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["replication_seeds"]) == 2
    assert set(manifest["run_status"].values()) == {"ok"}


def test_a_failing_run_is_recorded_and_the_batch_goes_on(tmp_path: Path) -> None:
    text = TINY.replace(
        "grid.patrollers_per_grid: {values: [1, 2]}", "population.residents: {values: [8000, 5]}"
    )
    d = _design(tmp_path, text)
    report = run_batch(d, out=tmp_path / "r", workers=1)
    assert report.failed == 4 and report.ok == 4
    runs = sim.results.open(tmp_path / "r").runs
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 4 and failed["error"].str.contains("population.residents").all()
    status = json.loads((tmp_path / "r" / "runs" / failed["run_id"].iloc[0] / "status.json").read_text())
    assert "Traceback" in status["traceback"]
    out = subprocess.run(
        [sys.executable, "-m", "sim", "batch", str(d), "--out", str(tmp_path / "r2"), "--workers", "1"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 4 and "4 failed" in out.stdout


def _finished_at(store: Path) -> dict[str, str]:
    out = {}
    for st in (store / "runs").glob("*/status.json"):
        data = json.loads(st.read_text())
        if data["status"] == "ok":
            out[data["run_id"]] = data["finished_at"]
    return out


def test_killed_batch_resumes_without_redoing_finished_runs(tmp_path: Path) -> None:
    text = TINY.replace("days: 15", "days: 120").replace("replications: 2", "replications: 4")
    d = _design(tmp_path, text)
    store = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim", "batch", str(d), "--out", str(store), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while len(_finished_at(store)) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _finished_at(store)
    assert 3 <= len(before) < 16, "the batch should have been killed midway"
    report = run_batch(d, out=store, workers=2)
    assert report.skipped == len(before) and report.ok == 16 - len(before) and report.failed == 0
    after = _finished_at(store)
    assert {k: after[k] for k in before} == before  # finished runs were not done again
    clean = run_batch(d, out=tmp_path / "clean", workers=1)
    s_resumed, d_resumed = _tables(store)
    s_clean, d_clean = _tables(clean.store)
    pdt.assert_frame_equal(s_resumed, s_clean)
    pdt.assert_frame_equal(d_resumed, d_clean)
    assert s_resumed["run_id"].is_unique
    assert not list(store.rglob("*.tmp"))


def test_corrupted_or_partial_file_is_detected_and_redone(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = tmp_path / "c"
    run_batch(d, out=store, workers=1)
    s0, _ = _tables(store)
    victim = store / "runs" / s0["run_id"].iloc[1] / "summary.parquet"
    victim.write_bytes(victim.read_bytes()[:40])  # truncated
    gone = store / "runs" / s0["run_id"].iloc[2] / "daily.parquet"
    gone.unlink()
    report = run_batch(d, out=store, workers=1)
    assert report.skipped == 6 and report.ok == 2
    s1, _ = _tables(store)
    pdt.assert_frame_equal(s0, s1)


def test_store_refuses_another_design_unless_fresh(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = tmp_path / "s"
    run_batch(d, out=store, workers=1)
    changed = _design(tmp_path, TINY.replace("seed: 5", "seed: 6"), "tiny2.yaml")
    from sim.errors import GovsimError

    with pytest.raises(GovsimError, match="another design"):
        run_batch(changed, out=store, workers=1)
    assert run_batch(changed, out=store, workers=1, fresh=True).ok == 8


def test_results_query_and_cli(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = tmp_path / "q"
    run_batch(d, out=store, workers=1)
    res = sim.results.open(store)
    assert len(res.design) == len(res.summaries) == 8 and len(res.daily) == 8 * 15
    q = res.query(
        "SELECT scenario, count(*) AS n, avg(tier_share_grid) AS g FROM summaries GROUP BY 1 ORDER BY 1"
    )
    assert list(q["scenario"]) == ["baseline", "reform"] and list(q["n"]) == [4, 4]
    joined = res.query(
        'SELECT d."grid.patrollers_per_grid" AS p, count(*) AS n FROM summaries s '
        "JOIN design d USING (run_id) GROUP BY 1 ORDER BY 1"
    )
    assert list(joined["n"]) == [4, 4]
    runner = CliRunner()
    r = runner.invoke(app, ["results", str(store)])
    assert r.exit_code == 0 and "ok 8" in r.output
    first_row = next(line for line in r.output.splitlines() if line.startswith("│"))
    assert "share of resolved" in first_row and "%" in first_row and "e+0" not in r.output  # as compare
    r = runner.invoke(app, ["query", str(store), "SELECT count(*) AS n FROM daily", "--csv"])
    assert r.exit_code == 0 and r.output.strip().splitlines() == ["n", "120"]
    r = runner.invoke(app, ["query", str(store), "SELECT nonsense FROM nowhere"])
    assert r.exit_code == 2


def test_analyze_reports_paired_differences_and_too_few_replications(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = tmp_path / "a"
    run_batch(d, out=store, workers=1)
    r = CliRunner().invoke(
        app,
        [
            "analyze",
            str(store),
            "--kpi",
            "tier_share_grid",
            "--kpi",
            "delay_total_mean_days",
            "--precision",
            "0.001",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "paired differences" in r.output and "reform − baseline" in r.output
    # as compare shows them: plain-words KPIs, shares in %, their differences in pp, no "nan"
    rows = [line for line in r.output.splitlines() if line.startswith("│")]
    assert "share of resolved" in rows[0] and "%" in rows[0] and "tier_share_grid" not in r.output
    assert "tier_share_grid" in set(pd.read_parquet(store / "analysis" / "advice.parquet")["kpi"])
    assert any("reform − baseline" in row and "share of" in row and " pp" in row for row in rows)
    assert "nan" not in r.output
    assert "more would give" in r.output or "more would" in r.output  # 2 replications cannot reach ±0.1%
    diffs = pd.read_parquet(store / "analysis" / "differences.parquet")
    assert set(diffs["kpi"]) == {"tier_share_grid", "delay_total_mean_days"} and (diffs["n_pairs"] == 2).all()
    s = sim.results.open(store).summaries
    g = s[s["point"] == 0].pivot(index="replication", columns="scenario", values="delay_total_mean_days")
    row = diffs[(diffs["point"] == 0) & (diffs["kpi"] == "delay_total_mean_days")].iloc[0]
    assert row["diff_mean"] == pytest.approx((g["reform"] - g["baseline"]).mean())


def test_sensitivity_morris_end_to_end(tmp_path: Path) -> None:
    text = """
name: morris_tiny
scenarios: [reform]
days: 20
replications: 1
seed: 3
overrides: {population.residents: 8000}
parameters:
  dispatch.misroute_probability: {low: 0.0, high: 0.3}
  departments.staff_per_10k: {low: 10, high: 30}
sampling: {method: morris, samples: 3, seed: 1}
kpis: [tier_share_grid, delay_total_mean_days]
keep: {daily: false}
"""
    d = _design(tmp_path, text, "morris.yaml")
    r = CliRunner().invoke(app, ["sensitivity", str(d), "--out", str(tmp_path / "m"), "--workers", "2"])
    assert r.exit_code == 0, r.output
    idx = pd.read_parquet(tmp_path / "m" / "sensitivity.parquet")
    assert len(sim.results.open(tmp_path / "m").summaries) == 3 * (2 + 1)
    assert set(idx["factor"]) == {"dispatch.misroute_probability", "departments.staff_per_10k"}
    assert set(idx["index"]) >= {"mu_star", "sigma"}
    mu = idx[(idx["index"] == "mu_star")].set_index(["kpi", "factor"])["value"]
    assert (mu >= 0).all() and mu.notna().all()


def test_written_files_get_the_mode_open_would_give(tmp_path: Path) -> None:
    import stat

    from sim.experiments.store import atomic_write_bytes, atomic_write_parquet

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_bytes(tmp_path / "a.json", b"{}")
    atomic_write_parquet(tmp_path / "b.parquet", pd.DataFrame({"x": [1]}))
    want = stat.S_IMODE(plain.stat().st_mode)  # e.g. 0644 under the usual umask, not mkstemp's 0600
    for name in ("a.json", "b.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == want


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (Path(__file__).parents[1] / "experiments").glob("*.yaml") if p.stem != "calibration"),
)
def test_shipped_designs_are_valid(path: Path) -> None:
    d = load_design(path)
    runs = expand(d)
    assert len(runs) >= 2 and runs["scenario"].nunique() == len(d.scenarios)
