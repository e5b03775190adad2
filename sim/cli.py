"""The ``govsim`` command line: run, compare, validate, scenarios."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.errors import GovsimError
from sim.scenarios import builtin_contexts, builtin_scenarios, load_scenario, parse_override, validate_file

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="govsim: simulate grassroots-governance reforms (patrol–handling separation and more).",
)
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_WORKERS = os.cpu_count() or 1
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override a parameter: section.field=value")]
ContextOpt = Annotated[str | None, typer.Option(help="context name or file (replaces the scenario's)")]
SeedOpt = Annotated[int, typer.Option(help="root seed")]
DaysOpt = Annotated[int, typer.Option(min=1, help="days to simulate")]


def _version(value: bool) -> None:
    if value:
        from sim import __version__

        out.print(f"govsim {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """govsim: simulate grassroots-governance reforms (patrol–handling separation and more)."""


def friendly(fn: F) -> F:
    """Turn a GovsimError into one line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GovsimError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def overrides(items: list[str] | None) -> dict[str, Any]:
    """``--set`` items as a mapping of dotted paths to values."""
    return dict(parse_override(s) for s in items or [])


def progress_bar(label: str = "{task.description}") -> Progress:
    """A transient progress bar on stderr (off when stderr is not a terminal)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _write(df: pd.DataFrame, folder: Path, name: str, csv: bool) -> None:
    df.to_parquet(folder / f"{name}.parquet", index=False)
    if csv:
        df.to_csv(folder / f"{name}.csv", index=False)


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
) -> None:
    """Run one scenario and write its case ledger, daily table and summary."""
    from sim.metrics import delay_table
    from sim.runner import run as run_model

    params = load_scenario(scenario, context=context, overrides=overrides(set_))
    with progress_bar() as bar:
        task = bar.add_task(f"{params.name} ({params.context})", total=days)
        res = run_model(params, seed=seed, days=days, progress=lambda d: bar.update(task, completed=d))
    folder = out_dir or Path("results") / f"run-{params.name}-{params.context}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    delays = pd.concat(
        [
            delay_table(res.cases, by).rename(columns={by: "group"}).assign(by=by)
            for by in ("tier", "category", "channel")
        ],
        ignore_index=True,
    )
    delays["group"] = delays["group"].astype(str)
    for name, df in (
        ("delays", delays),
        ("cases", res.cases),
        ("daily", res.daily),
        ("requests", res.requests),
        ("summary", res.summary.to_frame().T.assign(scenario=params.name, seed=seed)),
    ):
        _write(df, folder, name, csv)
    (folder / "params.json").write_text(params.model_dump_json(indent=2))
    table = Table("KPI", params.name, title=f"{params.name} on {params.context}, seed {seed}, {days} days")
    for k, v in res.summary.items():
        table.add_row(str(k), f"{v:,.4g}")
    out.print(table)
    out.print(f"tables written to {folder}/")


@app.command()
@friendly
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="two or more scenarios")],
    reps: Annotated[int, typer.Option(min=1, help="replications per scenario")] = 5,
    seed: SeedOpt = 0,
    days: DaysOpt = 365,
    context: ContextOpt = None,
    set_: SetOpt = None,
    workers: Annotated[int, typer.Option(min=1, help="parallel processes (default: all cores)")] = (
        DEFAULT_WORKERS
    ),
    out_dir: Annotated[Path | None, typer.Option("--out", help="output folder")] = None,
) -> None:
    """Compare scenarios: each KPI as mean and 95% interval; paired differences from the first."""
    from sim.compare import KPI_ORDER, kpi_table, replicate
    from sim.plots import tier_shares_figure
    from sim.stats import paired_differences

    if reps < 2:
        err.print("[yellow]warning:[/yellow] with one replication there is no interval; use --reps 2 or more")
    with progress_bar() as bar:
        task = bar.add_task("runs", total=reps * len(scenarios))
        summaries, daily = replicate(
            scenarios,
            reps=reps,
            seed=seed,
            days=days,
            context=context,
            overrides=overrides(set_),
            workers=workers,
            progress=lambda: bar.advance(task),
        )
    kpis = kpi_table(summaries)
    names = list(dict.fromkeys(summaries["scenario"]))
    ref, others = names[0], names[1:]
    diffs = paired_differences(summaries.assign(point=0), list(KPI_ORDER), reference=ref)
    table = Table(
        "KPI",
        *names,
        *(f"{n} − {ref} (paired)" for n in others),
        title=f"{' vs '.join(names)}: mean [95% interval], {reps} replications, {days} days",
    )
    by_pair = {(r["scenario"], r["kpi"]): r for r in diffs.to_dict("records")}
    for k, grp in kpis.groupby("kpi", sort=False):
        cells = [cell(r) for _, r in grp.iterrows()]
        table.add_row(str(k), *cells, *(diff_cell(by_pair.get((n, k))) for n in others))
    out.print(table)
    folder = out_dir or Path("results") / f"compare-{'-'.join(names)}"
    folder.mkdir(parents=True, exist_ok=True)
    _write(summaries, folder, "summaries", False)
    _write(daily, folder, "daily", False)
    _write(kpis, folder, "kpis", True)
    _write(diffs, folder, "differences", True)
    fig = tier_shares_figure(summaries)
    fig.savefig(folder / "tier_shares.png", dpi=120)
    out.print(f"tables and figure written to {folder}/")


def fmt(x: float) -> str:
    """A number with about three significant digits, thousands separated."""
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if a >= 1 else f"{x:.3g}"


def cell(row: pd.Series) -> str:
    """A KPI's mean and interval as text."""
    if pd.isna(row["mean"]):
        return "–"
    if pd.isna(row["lo"]):
        return fmt(row["mean"])
    return f"{fmt(row['mean'])} [{fmt(row['lo'])}, {fmt(row['hi'])}]"


def diff_cell(row: Mapping[Hashable, Any] | None) -> str:
    """A paired difference and its bootstrap interval as text (signed)."""
    if row is None or pd.isna(row["diff_mean"]):
        return "–"
    d = row["diff_mean"]
    text = ("+" if d > 0 else "") + fmt(d)
    if pd.isna(row["diff_lo"]):
        return text
    return f"{text} [{fmt(row['diff_lo'])}, {fmt(row['diff_hi'])}]"


@app.command()
@friendly
def validate(file: Path) -> None:
    """Check a scenario or context file without running it."""
    out.print(f"ok: {file} is a valid {validate_file(file)}", highlight=False)


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


# the experiment commands register themselves on the same app
from sim import cli_dashboard, cli_experiments, cli_programmes, cli_report  # noqa: E402, F401
