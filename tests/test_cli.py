"""The command line, run as a user would (a subprocess), and through typer's runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.cli import app

runner = CliRunner()


def _govsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True)


def test_run_writes_tables(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "run",
            "reform",
            "--days",
            "30",
            "--seed",
            "2",
            "--set",
            "population.residents=20000",
            "--out",
            str(tmp_path),
            "--csv",
        ],
    )
    assert res.exit_code == 0, res.output
    for name in ("cases", "daily", "requests", "summary", "delays"):
        assert (tmp_path / f"{name}.parquet").is_file()
        assert (tmp_path / f"{name}.csv").is_file()
    daily = pd.read_parquet(tmp_path / "daily.parquet")
    assert len(daily) == 30
    assert "share of resolved issues settled in the basic grid" in res.output


def test_compare_prints_intervals_and_writes_figure(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "compare",
            "baseline",
            "reform",
            "--reps",
            "2",
            "--days",
            "30",
            "--set",
            "population.residents=20000",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "baseline" in res.output and "reform" in res.output and "[" in res.output
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    assert set(kpis["scenario"]) == {"baseline", "reform"}
    assert (kpis.dropna()["lo"] <= kpis.dropna()["mean"]).all()
    assert (tmp_path / "tier_shares.png").stat().st_size > 10_000
    summaries = pd.read_parquet(tmp_path / "summaries.parquet")
    assert len(summaries) == 4
    # replications share seeds across scenarios (common random numbers)
    seeds = summaries.groupby("scenario")["seed"].apply(list)
    assert seeds["baseline"] == seeds["reform"]
    # the paired differences, reform minus baseline, replication by replication
    assert "reform − baseline (paired)" in res.output
    diffs = pd.read_csv(tmp_path / "differences.csv").set_index("kpi")
    per_rep = summaries.pivot(index="replication", columns="scenario", values="delay_total_mean_days")
    expected = (per_rep["reform"] - per_rep["baseline"]).mean()
    assert diffs.loc["delay_total_mean_days", "diff_mean"] == pytest.approx(expected)


def test_scenarios_lists_builtins() -> None:
    res = runner.invoke(app, ["scenarios"])
    assert res.exit_code == 0 and "baseline" in res.output and "wujiang" in res.output


def test_validate_ok_and_bad(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    ok = _govsim("validate", str(root / "scenarios" / "reform.yaml"))
    assert ok.returncode == 0 and "valid" in ok.stdout
    ctx = _govsim("validate", str(root / "scenarios" / "contexts" / "wujiang.yaml"))
    assert ctx.returncode == 0 and "1500000 residents" in ctx.stdout
    mine = tmp_path / "my_county.yaml"  # a context anywhere: known by its sections
    mine.write_text((root / "scenarios" / "contexts" / "wujiang.yaml").read_text())
    res = runner.invoke(app, ["validate", str(mine)])
    assert res.exit_code == 0 and "valid context my_county: 1500000 residents" in res.output, res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: baseline\ngrid:\n  separation: perhaps\n")
    out = _govsim("validate", str(bad))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert str(bad) in lines[0] and "grid.separation" in lines[0] and "'perhaps'" in lines[0]


def test_validate_knows_designs_and_calibrations(tmp_path: Path) -> None:
    """What a file is follows from its keys: every shipped design and the calibration are
    checked as such; a targets file is sent to its calibration; a bad design is refused in
    one line that names its field."""
    root = Path(__file__).resolve().parents[1]
    for design in ("benchmark_sweep", "flagship", "reform_morris", "separation_staffing"):
        res = runner.invoke(app, ["validate", str(root / "experiments" / f"{design}.yaml")])
        assert res.exit_code == 0 and f"valid experiment design {design}:" in res.output, res.output
    flagship = runner.invoke(app, ["validate", str(root / "experiments" / "flagship.yaml")])
    shape = "40 runs of 365 days (2 scenarios × 1 point × 5 posterior draws × 4 replications)"
    assert shape in flagship.output, flagship.output
    cal = runner.invoke(app, ["validate", str(root / "experiments" / "calibration.yaml")])
    assert cal.exit_code == 0 and "valid calibration calibration: 9 parameters" in cal.output, cal.output
    for path, words in (
        (root / "experiments" / "targets" / "reported.yaml", "checked with the calibration file"),
        (tmp_path / "design.yaml", "replicationz: unknown key"),
    ):
        if path.parent == tmp_path:
            path.write_text("name: d\nscenarios: [baseline]\nreplicationz: 3\n")
        res = runner.invoke(app, ["validate", str(path)])
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and words in lines[0], res.stderr


def test_bad_input_exits_2_with_one_line() -> None:
    for args in (
        ["run", "no_such_scenario"],
        ["run", "baseline", "--set", "grid.bogus=1"],
        ["run", "baseline", "--context", "atlantis"],
        ["validate", "missing.yaml"],
    ):
        out = _govsim(*args)
        assert out.returncode == 2, args
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr, out.stderr


def test_version() -> None:
    import sim

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"govsim {sim.__version__}"


def test_run_prints_kpis_in_plain_words(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["run", "reform", "--days", "20", "--set", "population.residents=8000", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert (
        "mean delay from occurrence to resolution" in res.output and "delay_total_mean_days" not in res.output
    )
    # as compare shows them: shares in percent, counts with separators, no scientific notation
    summary = pd.read_parquet(tmp_path / "summary.parquet").iloc[0]
    assert f"{summary['plan_share_grid'] * 100:.1f}%" in res.output
    assert f"{summary['cases_created']:,.0f}" in res.output and "e+0" not in res.output
    rows = [line for line in res.output.splitlines() if line.startswith("│")]
    assert "share of settled cases that were resolved" in rows[0]


def _help_words(text: str) -> list[str]:
    """The words of a help text, without the boxes' and the markup's characters."""
    return [w.strip("`*") for w in text.replace("``", "`").split() if w.strip("`*")]


@pytest.mark.parametrize("name", sorted(typer.main.get_command(app).commands))  # type: ignore[attr-defined]
def test_help_keeps_every_word_and_joins_each_paragraph(name: str) -> None:
    """A command's ``--help`` shows every word of its docstring and of its options' help
    (none taken as markup), and a docstring paragraph wraps to the terminal: on a wide one
    it is one line, not broken where the source's lines end."""
    command = typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]
    res = runner.invoke(app, [name, "--help"], env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})
    assert res.exit_code == 0, res.output
    shown = _help_words(res.output.replace("│", " "))
    texts = [command.help or "", *(p.help or "" for p in command.params if getattr(p, "help", None))]
    for text in texts:
        words = _help_words(text)
        assert all(w in shown for w in words), (name, [w for w in words if w not in shown])
    lines = [" ".join(line.replace("│", " ").split()) for line in res.output.splitlines()]
    for paragraph in (command.help or "").split("\n\n"):
        joined = " ".join(paragraph.split()).replace("``", "`").replace("`", "")
        assert joined in lines, (name, joined)
