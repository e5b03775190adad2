"""``govsim`` commands for experiments: batch, results, query, export, sensitivity.

``analyze`` is in :mod:`sim.cli.analysis`.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import pandas as pd
import typer
from rich.table import Table

from sim.cli.base import (
    DEFAULT_WORKERS,
    app,
    bounded,
    compile_notice,
    err,
    fmt,
    friendly,
    out,
    print_unstable,
    progress_bar,
)
from sim.errors import GovsimError

WorkersOpt = Annotated[
    int, typer.Option(callback=bounded(1), help="parallel processes or Dask workers (default: all cores)")
]
SchedulerOpt = Annotated[str | None, typer.Option(help="address of a running Dask scheduler")]
ClusterOpt = Annotated[str | None, typer.Option(help="'local' starts a Dask LocalCluster")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", help="results folder (default: results/ and the design's name)")
]
FreshOpt = Annotated[bool, typer.Option(help="discard earlier results of this design's folder")]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        callback=bounded(0),
        help="seconds a run may take before it is recorded as failed (0: no limit; default: the "
        "design's timeout, else 60 s + 1 s per million resident-days)",
    ),
]
ChunkOpt = Annotated[
    str,
    typer.Option(
        help="with --cluster/--scheduler: runs per Dask task, or auto (several tasks per worker, "
        "tasks of at most about 7 town-years of runs); local processes take one run at a time",
    ),
]
MixedOpt = Annotated[
    bool, typer.Option(help="on resume, keep finished runs made by other model code (else refused)")
]


@dataclass(frozen=True)
class BatchOptions:
    """How a command runs a design (see :func:`sim.experiments.batch.run_batch`)."""

    workers: int
    scheduler: str | None = None
    cluster: str | None = None
    out_dir: Path | None = None
    fresh: bool = False
    timeout: float | None = None
    mixed_versions: bool = False
    chunk: int | str = "auto"


def run_with_progress(design: Any, opts: BatchOptions) -> Any:
    """Run (or resume) a loaded design with a progress display; the batch's report.

    An interrupted batch says what it kept and exits with 128 + the signal's number.
    """
    from sim.experiments.batch import BatchInterrupted, run_batch

    if opts.cluster not in (None, "local"):
        raise GovsimError(
            f"--cluster: {opts.cluster!r} is not allowed; use --cluster local or --scheduler ADDRESS"
        )
    with progress_bar("{task.description}", failures=True) as bar:
        task = bar.add_task(design.name, total=None, failed=0)
        failed = 0

        def planned(todo: int, done: int) -> None:
            bar.update(task, total=todo)
            if done:
                err.print(f"resuming: {done} finished runs kept, {todo} to run", highlight=False)
            if todo:
                compile_notice()

        def step(st: dict[str, Any]) -> None:
            nonlocal failed
            failed += st["status"] != "ok"
            bar.update(task, advance=1, failed=failed)

        try:
            return run_batch(
                design,
                out=opts.out_dir,
                workers=opts.workers,
                scheduler=opts.scheduler,
                local_cluster=opts.cluster == "local",
                fresh=opts.fresh,
                timeout=opts.timeout,
                mixed_versions=opts.mixed_versions,
                progress=step,
                on_plan=planned,
                chunk=opts.chunk,
            )
        except BatchInterrupted as exc:
            bar.stop()
            _interrupted(exc)


def _interrupted(exc: Any) -> NoReturn:
    """Say what an interrupted batch kept, and exit 128 + the signal's number."""
    r = exc.report
    if r is not None:
        err.print(
            f"{exc}: {r.skipped + r.ok} of {r.total} runs finished and kept in {r.store} "
            f"({r.ok} this time, {r.failed} failed); run the same command again to resume",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err.print(f"{exc} before any run started", highlight=False)
    raise typer.Exit(128 + exc.signal)


@app.command()
@friendly
def batch(
    design: Path,
    workers: WorkersOpt = DEFAULT_WORKERS,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    out_dir: OutOpt = None,
    fresh: FreshOpt = False,
    timeout: TimeoutOpt = None,
    mixed_versions: MixedOpt = False,
    warmup: Annotated[
        str | None,
        typer.Option(help="days the KPIs leave out at the start, or auto (MSER-5); default: the design's"),
    ] = None,
    chunk: ChunkOpt = "auto",
) -> None:
    """Run (or resume) an experiment design; exit status = number of failed runs (max 125)."""
    from sim.core.steady import check_warmup
    from sim.experiments.batch import check_chunk
    from sim.experiments.design import load_design

    d = load_design(design)
    if warmup is not None:
        d = d.model_copy(update={"warmup": check_warmup(warmup, d.days)})
    chunks = check_chunk(chunk)
    opts = BatchOptions(workers, scheduler, cluster, out_dir, fresh, timeout, mixed_versions, chunks)
    report = run_with_progress(d, opts)
    out.print(
        f"{report.store}: {report.total} runs, {report.skipped} already finished, "
        f"{report.ok} done now, {report.failed} failed, {report.seconds:.1f} s",
        highlight=False,
    )
    for f in report.failures[:10]:
        out.print(f"  failed {f['run_id']}: {f['error']}", highlight=False)
    if report.failed:
        raise typer.Exit(min(report.failed, 125))


@app.command()
@friendly
def results(experiment: str) -> None:
    """Summarise an experiment's results: provenance, run status, KPIs per scenario."""
    import sim.experiments.results
    from sim.experiments.compare import KPI_ORDER
    from sim.experiments.uncertainty import intervals_of

    res = sim.experiments.results.open(experiment)
    m = res.manifest
    out.print(
        f"experiment {m.get('experiment')} in {res.path}: design {m.get('design_hash')}, "
        f"govsim {m.get('package_version')}, commit {m.get('git_commit')}, backend {m.get('backend')}, "
        f"status {m.get('status')}",
        highlight=False,
    )
    counts = res.runs["status"].value_counts()
    out.print("runs: " + ", ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)
    for _, row in res.runs[res.runs["status"] == "failed"].head(10).iterrows():
        out.print(f"  failed {row['run_id']}: {row['error']}", highlight=False)
    if res.summaries.empty:
        return
    shown = [k for k in KPI_ORDER if k in res.kpis] + [k for k in res.kpis if k not in KPI_ORDER]
    print_intervals(intervals_of(res.summaries, shown))  # as compare orders them: outcomes first
    print_unstable(res.summaries, horizon(res), marked=False)


def horizon(res: Any) -> int | None:
    """The horizon of an experiment's runs, from its stored design (None if not recorded)."""
    import json

    file = res.path / "design.json"
    return json.loads(file.read_text()).get("days") if file.is_file() else None


def print_intervals(table: pd.DataFrame) -> None:
    """Each KPI's mean and 95% interval by scenario (and point), as ``compare`` shows them."""
    from sim.presentation.comparison import value_cell
    from sim.presentation.plots import kpi_label

    cols = list(dict.fromkeys(zip(table["scenario"], table["point"], strict=True)))
    multi = len({p for _, p in cols}) > 1
    names = [f"{s} p{p}" if multi else str(s) for s, p in cols]
    title = "mean [95% interval] across replications; shares in %"
    if "draws" in table.columns:
        title = (
            f"mean [95% interval] over {table['draws'].max()} posterior draws × replications "
            "(parameter and run-to-run uncertainty combined); shares in %"
        )
    t = Table("KPI", *names, title=title)
    for kpi, grp in table.groupby("kpi", sort=False):
        cells = {(r["scenario"], r["point"]): value_cell(str(kpi), r.to_dict()) for _, r in grp.iterrows()}
        t.add_row(kpi_label(str(kpi)), *[cells.get(c, "–") for c in cols])
    out.print(t)


@app.command()
@friendly
def query(
    experiment: str, sql: str, csv: Annotated[bool, typer.Option(help="print CSV instead of a table")] = False
) -> None:
    """Run DuckDB SQL over an experiment's tables: design, runs, summaries, daily, cases."""
    import sim.experiments.results

    df = sim.experiments.results.open(experiment).query(sql)
    if csv:  # machine-readable: straight to stdout, never through the pretty printer
        sys.stdout.write(df.to_csv(index=False))
        return
    t = Table(*[str(c) for c in df.columns])
    for row in df.head(200).itertuples(index=False):
        t.add_row(*[fmt(v) if isinstance(v, float) else str(v) for v in row])
    out.print(t)
    if len(df) > 200:
        out.print(f"({len(df)} rows; first 200 shown; use --csv for all)")


@app.command()
@friendly
def export(
    experiment: str,
    csv: Annotated[Path, typer.Option("--csv", help="folder to write the CSV files into")],
    force: Annotated[bool, typer.Option(help="replace CSV files an earlier export left there")] = False,
) -> None:
    """Write an experiment's tables as CSV: design, runs, summaries, daily and cases (as kept).

    Every row of summaries, daily and cases carries its run's scenario, point, parameter
    values, replication and seed.
    """
    import sim.experiments.results
    from sim.cli.outputs import Outputs

    res = sim.experiments.results.open(experiment)
    tables = {"design": res.design, "runs": res.runs, "summaries": res.summaries}
    tables.update((k, v) for k, v in (("daily", res.daily), ("cases", res.cases)) if not v.empty)
    files = Outputs(csv, [f"{name}.csv" for name in tables], force)
    for name, df in tables.items():
        files.text(f"{name}.csv", df.to_csv(index=False))
        out.print(f"{csv / name}.csv: {len(df)} rows", highlight=False)


@app.command()
@friendly
def sensitivity(
    design: Path,
    workers: WorkersOpt = DEFAULT_WORKERS,
    scheduler: SchedulerOpt = None,
    cluster: ClusterOpt = None,
    out_dir: OutOpt = None,
    fresh: FreshOpt = False,
    timeout: TimeoutOpt = None,
    mixed_versions: MixedOpt = False,
) -> None:
    """Morris screening or Sobol indices of the design's KPIs over its parameters (runs the batch)."""
    import sim.experiments.results
    from sim.experiments.design import load_design
    from sim.experiments.sensitivity import Factor, analyze
    from sim.experiments.store import atomic_write_parquet

    d = load_design(design)
    if d.sampling.method not in ("sobol", "morris"):
        raise GovsimError(
            f"{design}: sampling.method: {d.sampling.method!r} is not allowed for sensitivity; "
            "use sobol or morris"
        )
    t0 = time.perf_counter()
    opts = BatchOptions(workers, scheduler, cluster, out_dir, fresh, timeout, mixed_versions)
    report = run_with_progress(d, opts)
    if report.failed:
        raise GovsimError(
            f"{report.failed} runs failed; see govsim results {report.store}; "
            "rerun to retry them before the analysis"
        )
    res = sim.experiments.results.open(report.store)
    factors = [Factor(k, float(p.low or 0), float(p.high or 0), p.integer) for k, p in d.parameters.items()]
    frames = []
    for scen, grp in res.summaries.groupby("scenario", sort=False):
        y = grp.groupby("point")[list(d.kpis)].mean().sort_index()
        x = res.design[res.design["scenario"] == scen].drop_duplicates("point").sort_values("point")
        idx = analyze(
            factors,
            d.sampling.method,
            x[list(d.parameters)].reset_index(drop=True),
            y.reset_index(drop=True),
            seed=d.sampling.seed,
        )
        frames.append(idx.assign(scenario=scen))
    table = pd.concat(frames, ignore_index=True)
    atomic_write_parquet(report.store / "sensitivity.parquet", table)
    figures = _sensitivity_figures(report.store, table)
    t = Table(
        "scenario",
        "KPI",
        "parameter",
        "index",
        "value ± conf",
        title=f"{d.sampling.method} sensitivity ({time.perf_counter() - t0:.0f} s)",
    )
    for _, r in table.iterrows():
        t.add_row(
            str(r["scenario"]),
            str(r["kpi"]),
            str(r["factor"]),
            str(r["index"]),
            f"{fmt(r['value'])} ± {fmt(r['conf'])}" if pd.notna(r["conf"]) else fmt(r["value"]),
        )
    out.print(t)
    out.print(
        f"indices written to {report.store / 'sensitivity.parquet'}, figures to {', '.join(figures)}",
        highlight=False,
    )


def _sensitivity_figures(folder: Path, table: pd.DataFrame) -> list[str]:
    """``sensitivity.png`` in ``folder`` (``sensitivity-<scenario>.png`` for each of several); their names."""
    import re

    import matplotlib

    from sim.cli.outputs import Outputs
    from sim.presentation.plots import sensitivity_figure

    matplotlib.use("Agg")  # the CLI draws to files only; the library leaves the backend alone
    files = Outputs(folder, [], force=True)  # the indices of this store, redone
    scenarios = list(dict.fromkeys(str(x) for x in table["scenario"]))
    names = []
    for scen in scenarios:
        safe = re.sub(r"[^\w.-]", "_", scen)
        name = "sensitivity.png" if len(scenarios) == 1 else f"sensitivity-{safe}.png"
        files.figure(sensitivity_figure(table, scen), name)
        names.append(name)
    return names
