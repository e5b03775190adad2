"""``govsim run``, ``compare``, ``validate`` and ``scenarios``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from sim.cli.base import (
    DEFAULT_WORKERS,
    ContextOpt,
    DaysOpt,
    DrawsOpt,
    SeedOpt,
    SetOpt,
    WarmupOpt,
    app,
    bounded,
    compile_notice,
    err,
    friendly,
    out,
    overrides,
    print_unstable,
    progress_bar,
)
from sim.cli.outputs import Outputs, table_files
from sim.core.scenarios import builtin_contexts, builtin_scenarios, load_scenario, validate_file
from sim.errors import GovsimError

if TYPE_CHECKING:
    from sim.core.steady import SteadyState

ForceOpt = Annotated[bool, typer.Option(help="replace what an earlier command left in the output folder")]


@app.command()
@friendly
def run(
    scenario: str,
    context: ContextOpt = None,
    seed: SeedOpt = 0,
    days: DaysOpt = 365,
    set_: SetOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="output folder")] = None,
    csv: Annotated[bool, typer.Option(help="also write CSV")] = False,
    force: ForceOpt = False,
    warmup: WarmupOpt = "auto",
) -> None:
    """Run one scenario: its case ledger, daily table and summary (KPIs, steady state).

    The summary's KPIs count cases after the warm-up; it says whether the run reached a
    steady state.
    """
    from sim.core.limits import check_run
    from sim.core.metrics import delay_table
    from sim.core.runner import run as run_model
    from sim.core.steady import check_warmup
    from sim.experiments.paths import RESULTS, slug

    check_warmup(warmup, days)  # before anything is written

    params = load_scenario(scenario, context=context, overrides=overrides(set_))
    check_run(params, days, seed)  # before the output folder is made: a refused run leaves nothing
    name = slug(params.name, "scenario name (its name: or file name)")
    folder = out_dir or RESULTS / f"run-{name}-{slug(params.context, 'context name')}-seed{seed}"
    tables = ("delays", "cases", "daily", "requests", "summary")
    files = Outputs(folder, [*table_files(tables, csv), "params.json"], force)
    compile_notice()
    with progress_bar() as bar:
        task = bar.add_task(f"{params.name} ({params.context})", total=days)
        res = run_model(
            params, seed=seed, days=days, progress=lambda d: bar.update(task, completed=d), warmup=warmup
        )
    delays = pd.concat(
        [
            delay_table(res.cases, by).rename(columns={by: "group"}).assign(by=by)
            for by in ("tier", "category", "channel")
        ],
        ignore_index=True,
    )
    delays["group"] = delays.get("group", pd.Series(dtype=object)).astype(str)  # no column if none resolved
    files.text("params.json", params.model_dump_json(indent=2))
    for table_name, df in zip(
        tables,
        (
            delays,
            res.cases,
            res.daily,
            res.requests,
            res.summary.to_frame().T.assign(scenario=params.name, seed=seed),
        ),
        strict=True,
    ):
        files.table(df, table_name, csv)
    from sim.experiments.compare import KPI_ORDER
    from sim.presentation.findings import format_value
    from sim.presentation.plots import kpi_label

    title = f"{params.name} on {params.context}, seed {seed}, {days} days; shares in %"
    table = Table("KPI", params.name, title=title)
    for k in KPI_ORDER:  # as compare shows them: outcomes first, then counts and cost
        table.add_row(kpi_label(k), format_value(k, float(res.summary[k])))
    out.print(table)
    _print_steady(res.steady, days)
    out.print(f"tables written to {folder}/", highlight=False)


def _print_steady(steady: SteadyState, days: int) -> None:
    """The run's warm-up and each stock's trend after it, with the verdict."""
    from sim.core.steady import TREND_BATCHES

    how = "MSER-5" if steady.auto else "--warmup"
    table = Table(
        "stock", "trend t", "growth per day", "grows", title=f"after the {steady.warmup}-day warm-up ({how})"
    )
    for t in steady.trends:
        table.add_row(t.stock, f"{t.t:.2f}", f"{t.slope_per_day:+.3g}", "yes" if t.grows else "no")
    out.print(table)
    verdict = {
        True: "reached: no stock grows after the warm-up",
        False: "NOT reached: "
        + ", ".join(t.stock for t in steady.growing)
        + f" still grow; delays grow with the horizon ({days} days here)",
        None: f"cannot be judged: fewer than {2 * TREND_BATCHES} days after the warm-up",
    }[steady.steady]
    out.print(
        f"steady state {verdict}. KPIs count cases from day {steady.warmup}; counts, cost and "
        "satisfaction cover the whole run.",
        highlight=False,
    )


@app.command()
@friendly
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="two or more scenarios")],
    reps: Annotated[int, typer.Option(callback=bounded(1), help="replications per scenario (5 or more)")] = 5,
    seed: SeedOpt = 0,
    days: DaysOpt = 365,
    context: ContextOpt = None,
    set_: SetOpt = None,
    workers: Annotated[
        int, typer.Option(callback=bounded(1), help="parallel processes (default: all cores)")
    ] = DEFAULT_WORKERS,
    out_dir: Annotated[Path | None, typer.Option("--out", help="output folder")] = None,
    force: Annotated[
        bool, typer.Option(help="discard the results of other settings in the output folder")
    ] = False,
    warmup: WarmupOpt = "auto",
    draws: DrawsOpt = None,
) -> None:
    """Compare scenarios: headline sentences, then each KPI's mean, interval and difference.

    Each KPI is given as its mean and 95% interval in each scenario, and as the paired
    differences from the first scenario.

    The runs are an experiment store (results/compare-A-B/): the same command resumes,
    and govsim results, analyze and report read it. With --draws N every scenario runs under
    each of the context's first N posterior draws, and the intervals combine parameter and
    run-to-run uncertainty.
    """
    import matplotlib

    import sim.experiments.results
    from sim.cli.experiments import BatchOptions, run_with_progress
    from sim.experiments.compare import KPI_ORDER, compare_design, kpi_table
    from sim.experiments.paths import RESULTS
    from sim.experiments.stability import mark_differences
    from sim.experiments.uncertainty import differences_of
    from sim.presentation.plots import tier_shares_figure

    if reps < 2:
        err.print("[yellow]warning:[/yellow] with one replication there is no interval; use --reps 2 or more")
    design = compare_design(scenarios, reps, seed, days, context, overrides(set_), warmup, draws)
    report = run_with_progress(
        design, BatchOptions(workers, out_dir=out_dir or RESULTS / design.name, fresh=force)
    )
    res = sim.experiments.results.open(report.store)
    if report.failed or len(res.summaries) < len(res.design):
        raise GovsimError(
            f"{len(res.design) - len(res.summaries)} of {len(res.design)} runs failed "
            f"({report.failures[0]['error'] if report.failures else 'see govsim results'}); "
            f"see govsim results {report.store}"
        )
    summaries = res.summaries
    kpis = kpi_table(summaries)
    names = list(dict.fromkeys(summaries["scenario"]))
    diffs = mark_differences(differences_of(summaries, list(KPI_ORDER), reference=names[0]), summaries)
    _print_comparison(kpis, diffs, names, reps, days, draws)
    print_unstable(summaries, days, bool(diffs["grows_with_horizon"].any()))
    files = Outputs(report.store, [], force=True)  # the store checked that these are this design's
    files.table(summaries, "summaries")
    files.table(res.daily, "daily")
    files.table(kpis, "kpis", csv=True)
    files.table(diffs, "differences", csv=True)
    matplotlib.use("Agg")  # the CLI draws to files only; the library leaves the backend alone
    files.figure(tier_shares_figure(summaries), "tier_shares.png")
    out.print(f"tables and figure written to {report.store}/", highlight=False)


def _print_comparison(
    kpis: pd.DataFrame, diffs: pd.DataFrame, names: list[str], reps: int, days: int, draws: int | None
) -> None:
    """The comparison in words (headline sentences, a warning if replications are few), then the table."""
    from sim.presentation.comparison import ROUGH_BELOW, headline, kpi_rows, replication_warning

    out.print("[bold]In short[/bold]")
    if len(names) < 2:
        out.print(f"- {names[0]} alone: nothing to compare it with; its KPIs with their intervals are below")
    for sentence in headline(diffs):
        out.print(f"- {sentence}", highlight=False)
    warning = replication_warning(reps)
    if warning:
        err.print(
            f"[yellow]warning:[/yellow] {warning}; use --reps {ROUGH_BELOW} or more",
            highlight=False,
            soft_wrap=True,
        )
    ref = names[0]
    columns = [f"{n} − {ref} (paired)" for n in names[1:]]
    runs = f"{reps} replications"
    if draws:
        columns = [c for n in names[1:] for c in (f"{n} − {ref} (paired)", "dominant uncertainty")]
        runs = (
            f"{draws} posterior draws × {reps} replications (intervals combine parameter and "
            "run-to-run uncertainty)"
        )
    table = Table(
        "KPI",
        *names,
        *columns,
        title=f"{' vs '.join(names)}: mean [95% interval], {runs}, {days} days; "
        "shares in %, their differences in percentage points (pp)",
    )
    for row in kpi_rows(kpis, diffs):
        table.add_row(*row)
    out.print(table)


@app.command()
@friendly
def validate(file: Path) -> None:
    """Check a scenario, context, experiment design or calibration file without running it.

    What the file is follows from its keys: a design names its scenarios, a calibration
    its targets and parameters; a context is a file in a folder named contexts.
    """
    out.print(f"ok: {file} is a valid {_checked(file)}", highlight=False, soft_wrap=True)


def _checked(file: Path) -> str:
    """Check ``file`` as what its keys say it is; what it is, in a few words."""
    from sim.core.yamlfile import read_yaml

    keys = set(read_yaml(file, "scenario, context, design or calibration")) if file.is_file() else set()
    if "scenarios" in keys:
        from sim.experiments.design import expand, load_design

        d = load_design(file)
        runs = expand(d)
        factors = [(len(d.scenarios), "scenario"), (runs["point"].nunique(), "point")]
        factors += [(d.posterior_draws or 1, "posterior draw"), (d.replications, "replication")]
        shape = " × ".join(f"{n} {word}{'s' * (n != 1)}" for n, word in factors)
        return f"experiment design {d.name}: {len(runs):,} runs of {d.days} days ({shape})"
    if {"targets", "parameters"} <= keys:
        from sim.experiments.calibration import load_calibration

        cfg, targets, _ = load_calibration(file)
        return f"calibration {cfg.name}: {len(cfg.parameters)} parameters, {len(targets)} targets"
    if keys == {"targets"}:
        raise GovsimError(
            f"{file}: a targets file is checked with the calibration file that names it "
            "(govsim validate CALIBRATION.yaml)"
        )
    return validate_file(file)


@app.command()
@friendly
def scenarios() -> None:
    """List the built-in scenarios and contexts."""
    table = Table("scenario", "context", "description", title="built-in scenarios")
    for name in builtin_scenarios():
        p = load_scenario(name)
        table.add_row(name, p.context, p.description)
    out.print(table)
    out.print("contexts: " + ", ".join(builtin_contexts()))
