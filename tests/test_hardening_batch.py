"""The batch runner under faults: dead workers, hung runs, killed or interrupted parents,
two batches on one store, code changes between sessions, a corrupted manifest.

Processes are killed for real, on tiny designs, with every wait bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from typer.testing import CliRunner

import sim.experiments.results
from sim.cli import app
from sim.errors import GovsimError
from sim.experiments.batch import BatchInterrupted, default_timeout, plan, run_batch
from sim.experiments.design import design_hash, load_design
from sim.experiments.runs import code_version
from sim.experiments.store import Store

SMALL = """
name: small
scenarios: [reform]
days: {days}
replications: {reps}
seed: 4
overrides: {{population.residents: 6000}}
kpis: [tier_share_grid, cases_created]
keep: {{daily: false}}
"""
runner = CliRunner()


def _design(tmp_path: Path, days: int = 8, reps: int = 4, extra: str = "") -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(SMALL.format(days=days, reps=reps) + extra)
    return p


def _workers(root: int) -> list[psutil.Process]:
    """The worker processes under ``root``: the children of its fork server."""
    try:
        tree = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    servers = [p for p in tree if _is_fork_server(p)]
    return [w for s in servers for w in _alive_children(s)]


def _is_fork_server(p: psutil.Process) -> bool:
    """The fork server runs multiprocessing.forkserver; its children (forked) share its command line."""
    try:
        parent = p.parent()
        return _forks(p) and parent is not None and not _forks(parent)
    except psutil.Error:
        return False


def _forks(p: psutil.Process) -> bool:
    return "forkserver" in " ".join(p.cmdline())


def _alive_children(p: psutil.Process) -> list[psutil.Process]:
    try:
        return [c for c in p.children() if c.status() != psutil.STATUS_ZOMBIE]
    except psutil.Error:
        return []


def _wait_for(condition, seconds: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


class _Killer(threading.Thread):
    """Kills the first ``n`` worker processes of this process as soon as each appears."""

    def __init__(self, n: int) -> None:
        super().__init__(daemon=True)
        self.n, self.killed, self.done = n, [], threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 60
        while len(self.killed) < self.n and not self.done.is_set() and time.monotonic() < deadline:
            for w in _workers(os.getpid()):
                if w.pid not in self.killed:
                    w.kill()
                    self.killed.append(w.pid)
                    break
            time.sleep(0.002)


@pytest.mark.parametrize(("kills", "failed"), [(1, 0), (2, 1)])
def test_a_killed_worker_is_replaced_and_its_run_retried(tmp_path: Path, kills: int, failed: int) -> None:
    d = _design(tmp_path)
    killer = _Killer(kills)
    killer.start()
    try:
        report = run_batch(d, out=tmp_path / "s", workers=1)
    finally:
        killer.done.set()
        killer.join()
    assert len(killer.killed) == kills
    assert report.failed == failed and report.ok == 4 - failed  # the other runs went on
    runs = sim.experiments.results.open(tmp_path / "s").runs
    first = runs.iloc[0]  # the first worker holds the first run; its replacement gets it again
    if failed:
        assert first["status"] == "failed" and "WorkerDied" in first["error"] and "SIGKILL" in first["error"]
        assert "2 times" in first["error"]
    assert (runs["status"] == "ok").sum() == 4 - failed
    assert not list((tmp_path / "s").rglob("*.tmp"))
    assert not _wait_for(lambda: bool(_workers(os.getpid())), 0.2)  # no worker outlives the batch


def test_a_run_past_its_time_limit_is_recorded_and_the_rest_go_on(tmp_path: Path) -> None:
    d = _design(tmp_path, extra="timeout: 0.001\n")  # no run can finish in a millisecond
    report = run_batch(d, out=tmp_path / "s", workers=2)
    assert report.failed == 4 and report.ok == 0
    runs = sim.experiments.results.open(tmp_path / "s").runs
    assert runs["error"].str.startswith("TimeoutError: no result after 0.001 s").all()
    assert not _wait_for(lambda: bool(_workers(os.getpid())), 0.2)
    # the command-line option overrides the design's limit; the runs are then done
    again = runner.invoke(app, ["batch", str(d), "--out", str(tmp_path / "s"), "--timeout", "0"])
    assert again.exit_code == 0 and "4 done now, 0 failed" in again.output


def test_time_limits_default_to_the_size_and_horizon(tmp_path: Path) -> None:
    d = load_design(
        _design(tmp_path, days=10, extra="parameters:\n  population.residents: {values: [6000, 60000]}\n")
    )
    specs = plan(d, Store(tmp_path / "s"), design_hash(d))
    assert [s.timeout for s in specs[::4]] == [default_timeout(6000, 10), default_timeout(60000, 10)]
    assert default_timeout(1_500_000, 365) > default_timeout(190_000, 365) > default_timeout(6000, 10) >= 60
    assert {s.timeout for s in plan(d, Store(tmp_path / "s"), design_hash(d), timeout=7.5)} == {7.5}


def _start_batch(design: Path, store: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "sim", "batch", str(design), "--out", str(store), "--workers", "2"]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def test_killing_the_main_process_leaves_no_worker_behind(tmp_path: Path) -> None:
    proc = _start_batch(_design(tmp_path, days=20), tmp_path / "s")
    try:
        assert _wait_for(lambda: len(_workers(proc.pid)) == 2), "the batch should have started two workers"
        workers = _workers(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, "workers must exit when the main process dies"
        # the manifest could not be updated, but the store says the batch is gone
        assert sim.experiments.results.open(tmp_path / "s").manifest["status"] == "interrupted"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def test_sigterm_stops_cleanly_and_the_manifest_tells_the_truth(tmp_path: Path) -> None:
    sig = signal.SIGTERM
    d = _design(tmp_path, days=40, reps=8)
    store = tmp_path / "s"
    proc = _start_batch(d, store)
    try:
        assert _wait_for(lambda: len(list((store / "runs").glob("*/status.json"))) >= 1)
        workers = _workers(proc.pid)
        os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 128 + sig, err
    assert f"stopped by {sig.name}" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = [r for r, s in manifest["run_status"].items() if s == "ok"]
    assert 1 <= len(kept) < 8 and set(manifest["run_status"].values()) <= {"ok", "missing"}
    assert f"{len(kept)} of 8 runs finished and kept" in err
    assert not list(store.rglob("*.tmp"))
    report = run_batch(d, out=store, workers=2)
    assert report.skipped == len(kept) and report.ok == 8 - len(kept)


def test_ctrl_c_stops_the_batch_but_not_the_workers_runs_midway(tmp_path: Path) -> None:
    d = _design(tmp_path, reps=6)
    done = []

    def progress(st: dict) -> None:
        done.append(st)
        if len(done) == 2:  # Ctrl-C reaches the whole process group: the workers ignore it
            for w in _workers(os.getpid()):
                w.send_signal(signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # Python's own, or ignored in a background job
    with pytest.raises(BatchInterrupted) as info:
        run_batch(d, out=tmp_path / "s", workers=1, progress=progress)
    assert info.value.signal == signal.SIGINT and info.value.report is not None
    assert info.value.report.ok == 2 and info.value.report.total == 6
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
    assert Store(tmp_path / "s").manifest()["status"] == "interrupted"  # type: ignore[index]
    assert not _wait_for(lambda: bool(_workers(os.getpid())), 0.2)
    again = run_batch(d, out=tmp_path / "s", workers=1)
    assert again.skipped == 2 and again.ok == 4


def test_two_batches_on_one_store_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = Store(tmp_path / "s")
    with store.lock():
        with pytest.raises(GovsimError, match=f"pid {os.getpid()}"):
            run_batch(d, out=store.root, workers=1)
        out = runner.invoke(app, ["batch", str(d), "--out", str(store.root)])
        assert store.busy()
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "another batch is running on this store" in out.output
    assert not store.busy()
    assert run_batch(d, out=store.root, workers=1).ok == 4  # free again


def test_resume_refuses_runs_of_other_model_code_unless_told(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = tmp_path / "s"
    run_batch(d, out=store, workers=1)
    paths = sorted((store / "runs").glob("*/status.json"))
    assert {json.loads(p.read_text())["code_version"] for p in paths} == {code_version()}  # per run
    for p in paths[:3]:  # three runs as an older version of the model made them
        p.write_text(p.read_text().replace(code_version(), "0123456789abcdef"))
    (paths[3].parent / "summary.parquet").unlink()  # and one to run again
    with pytest.raises(GovsimError, match="3 finished runs were made by other model code"):
        run_batch(d, out=store, workers=1)
    report = run_batch(d, out=store, workers=1, mixed_versions=True)
    assert report.skipped == 3 and report.ok == 1
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["code_version"] == code_version()
    assert manifest["code_versions"] == sorted(["0123456789abcdef", code_version()])


@pytest.mark.parametrize("damage", ["corrupt", "delete"])
def test_a_lost_manifest_does_not_let_another_design_adopt_old_runs(tmp_path: Path, damage: str) -> None:
    d = _design(tmp_path)
    store = tmp_path / "s"
    run_batch(d, out=store, workers=1)
    if damage == "corrupt":
        (store / "manifest.json").write_text("{")
    else:
        (store / "manifest.json").unlink()
    other = tmp_path / "other.yaml"
    other.write_text(d.read_text().replace("seed: 4", "seed: 5"))
    with pytest.raises(GovsimError, match="holds results of another design"):
        run_batch(other, out=store, workers=1)
    # the same design takes its own runs back and rebuilds the manifest
    report = run_batch(d, out=store, workers=1)
    assert report.skipped == 4 and json.loads((store / "manifest.json").read_text())["status"] == "complete"


def test_a_resume_with_nothing_to_do_leaves_the_manifest_alone(tmp_path: Path) -> None:
    d = _design(tmp_path)
    store = tmp_path / "s"
    run_batch(d, out=store, workers=1)
    before = (store / "manifest.json").read_bytes()
    report = run_batch(d, out=store, workers=1)
    assert report.skipped == 4 and report.ok == 0
    assert (store / "manifest.json").read_bytes() == before
    m = json.loads(before)
    starts = [json.loads(p.read_text())["started_at"] for p in (store / "runs").glob("*/status.json")]
    assert m["started_at"] == min(starts) and m["finished_at"] >= max(starts)


# ---- outputs: written atomically, confined to results/, never over an earlier result ----------------
TINY_RUN = ["--days", "5", "--set", "population.residents=5000"]


def test_run_outputs_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = pd.DataFrame.to_parquet

    def dies_midway(self: pd.DataFrame, path: object, *args: object, **kwargs: object) -> None:
        if len(self) > 50:  # the case ledger: a kill halfway through writing it
            Path(str(path)).write_bytes(b"PAR1 half a file")
            raise KeyboardInterrupt
        real(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dies_midway)
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", "reform", *TINY_RUN, "--out", str(out)])
    assert r.exit_code == 130  # click turns KeyboardInterrupt into 130
    assert not (out / "cases.parquet").exists()  # whole files or none
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))


def test_run_never_overwrites_an_earlier_result_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", "reform", *TINY_RUN, "--out", str(out)])
    assert r.exit_code == 0
    assert "reform (calibrated): 5/5 (100%)" in r.output  # no terminal: progress as log lines
    before = (out / "summary.parquet").read_bytes()
    r = runner.invoke(app, ["run", "reform", *TINY_RUN, "--seed", "3", "--out", str(out)])
    assert r.exit_code == 2 and "holds the output of an earlier command" in r.output and "--force" in r.output
    assert (out / "summary.parquet").read_bytes() == before
    r = runner.invoke(app, ["run", "reform", *TINY_RUN, "--seed", "3", "--out", str(out), "--force"])
    assert r.exit_code == 0 and (out / "summary.parquet").read_bytes() != before


def test_names_are_slugs_and_outputs_stay_in_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "a" / "b" / "project"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    (project / "evil.yaml").write_text("extends: reform\nname: x/../../../escaped\n")
    for cmd in (
        ["run", "evil.yaml", *TINY_RUN],
        ["compare", "baseline", "evil.yaml", *TINY_RUN, "--reps", "2"],
    ):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 2 and "scenario name" in r.output and "'x/../../../escaped'" in r.output, (
            r.output
        )
        assert len(r.output.strip().splitlines()) == 1
    design = project / "up.yaml"
    design.write_text(SMALL.format(days=5, reps=2).replace("name: small", 'name: ".."'))
    r = runner.invoke(app, ["batch", str(design)])
    assert r.exit_code == 2 and "design name: '..' is not allowed" in r.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b", "evil.yaml", "project", "up.yaml"]


def test_compare_is_a_store_that_resumes_and_refuses_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    cmd = ["compare", "baseline", "reform", *TINY_RUN, "--reps", "2", "--workers", "2", "--out", str(out)]
    assert runner.invoke(app, cmd).exit_code == 0
    first = _finished_runs(out)
    again = runner.invoke(app, cmd)
    assert again.exit_code == 0 and "resuming: 4 finished runs kept, 0 to run" in again.output
    assert _finished_runs(out) == first  # nothing run twice, nothing lost
    other = runner.invoke(app, [*cmd, "--seed", "1"])
    assert (
        other.exit_code == 2
        and "holds results of another design" in other.output
        and "--force" in other.output
    )
    assert _finished_runs(out) == first
    assert runner.invoke(app, [*cmd, "--seed", "1", "--force"]).exit_code == 0
    assert _finished_runs(out) != first
    # the everyday commands read it like any experiment
    for follow in (["results", str(out)], ["analyze", str(out)], ["report", str(out)]):
        r = runner.invoke(app, follow)
        assert r.exit_code == 0, (follow, r.output)
    assert (out / "brief.html").stat().st_size > 10_000


def _finished_runs(store: Path) -> dict[str, str]:
    return {
        p.parent.name: json.loads(p.read_text())["finished_at"]
        for p in sorted(store.glob("runs/*/status.json"))
    }


# ---- results that describe themselves -----------------------------------------------------------------


def test_every_row_carries_its_run_and_exports_and_csv_stay_whole(tmp_path: Path) -> None:
    d = _design(tmp_path, days=5, reps=2, extra="parameters:\n  grid.patrollers_per_grid: {values: [1, 2]}\n")
    d.write_text(d.read_text().replace("keep: {daily: false}", "keep: {daily: true}"))
    store = tmp_path / "s"
    run_batch(d, out=store, workers=2)
    res = sim.experiments.results.open(store)
    keys = ["run_id", "scenario", "point", "replication", "seed", "grid.patrollers_per_grid"]
    for table in (res.summaries, res.daily):
        assert list(table.columns[:6]) == keys
        assert (table["grid.patrollers_per_grid"] == table["point"] + 1).all()
    assert res.kpis == ["tier_share_grid", "cases_created"] and res.parameters == ["grid.patrollers_per_grid"]
    q = res.query('SELECT DISTINCT scenario, "grid.patrollers_per_grid" AS p FROM daily ORDER BY p')
    assert q.values.tolist() == [["reform", 1], ["reform", 2]]
    wide = runner.invoke(app, ["query", str(store), "SELECT repeat('x', 300) AS wide, 1 AS n", "--csv"])
    assert wide.exit_code == 0 and wide.output.splitlines() == ["wide,n", "x" * 300 + ",1"]  # never wrapped
    r = runner.invoke(app, ["export", str(store), "--csv", str(tmp_path / "csv")])
    assert r.exit_code == 0, r.output
    summaries = pd.read_csv(tmp_path / "csv" / "summaries.csv")
    assert list(summaries.columns[:6]) == keys and len(summaries) == 4
    assert len(pd.read_csv(tmp_path / "csv" / "daily.csv")) == 4 * 5
    assert runner.invoke(app, ["export", str(store), "--csv", str(tmp_path / "csv")]).exit_code == 2


def test_a_settled_worker_keeps_what_it_holds_out_of_full_collections() -> None:
    """After its first run a worker freezes what it holds (modules, kernels): the full
    collections of its later runs then see only objects made since."""
    import gc

    from sim.experiments.pool import settle

    try:
        settle()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the imported model, pandas, numba: many thousands
        assert len(gc.get_objects(generation=2)) < frozen // 100
    finally:
        gc.unfreeze()
