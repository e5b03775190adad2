"""``govsim run``, ``compare``, ``validate`` and ``scenarios``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from sim.cli.base import (
    DEFAULT_WORKERS,
    ContextOpt,
    DaysOpt,
    SeedOpt,
    SetOpt,
    app,
    cell,
    diff_cell,
    err,
    friendly,
    out,
    overrides,
    progress_bar,
    write_table,
)
from sim.core.scenarios import builtin_contexts, builtin_scenarios, load_scenario, validate_file


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
    from sim.core.metrics import delay_table
    from sim.core.runner import run as run_model

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
    delays["group"] = delays.get("group", pd.Series(dtype=object)).astype(str)  # no column if none resolved
    for name, df in (
        ("delays", delays),
        ("cases", res.cases),
        ("daily", res.daily),
        ("requests", res.requests),
        ("summary", res.summary.to_frame().T.assign(scenario=params.name, seed=seed)),
    ):
        write_table(df, folder, name, csv)
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
    import matplotlib

    from sim.experiments.compare import KPI_ORDER, kpi_table, run_scenarios
    from sim.experiments.stats import paired_differences
    from sim.presentation.plots import tier_shares_figure

    if reps < 2:
        err.print("[yellow]warning:[/yellow] with one replication there is no interval; use --reps 2 or more")
    with progress_bar() as bar:
        task = bar.add_task("runs", total=reps * len(scenarios))
        summaries, daily = run_scenarios(
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
    write_table(summaries, folder, "summaries", False)
    write_table(daily, folder, "daily", False)
    write_table(kpis, folder, "kpis", True)
    write_table(diffs, folder, "differences", True)
    matplotlib.use("Agg")  # the CLI draws to files only; the library leaves the backend alone
    fig = tier_shares_figure(summaries)
    fig.savefig(folder / "tier_shares.png", dpi=120)
    out.print(f"tables and figure written to {folder}/")


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
