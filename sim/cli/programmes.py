"""``govsim`` commands for the reform programmes: attribute."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    fmt,
    friendly,
    out,
    overrides,
    print_unstable,
    progress_bar,
)
from sim.experiments.compare import KPI_ORDER

MAIN_KPIS = (
    "plan_share_grid",
    "tier_share_grid",
    "tier_share_village",
    "tier_share_department",
    "tier_share_enforcement",
    "delay_total_mean_days",
    "on_site_disposal_rate",
    "patrol_reported_share",
    "approval_days_mean",
    "staff_hours",
)


@app.command()
@friendly
def attribute(
    from_scenario: Annotated[str, typer.Argument(metavar="FROM")],
    to_scenario: Annotated[str, typer.Argument(metavar="TO")],
    reps: Annotated[
        int, typer.Option(callback=bounded(2), help="replications (paired across coalitions)")
    ] = 5,
    seed: SeedOpt = 0,
    days: DaysOpt = 365,
    context: ContextOpt = None,
    set_: SetOpt = None,
    kpi: Annotated[list[str] | None, typer.Option(help="KPIs to attribute (default: main ones)")] = None,
    workers: Annotated[int, typer.Option(callback=bounded(1), help="parallel processes")] = DEFAULT_WORKERS,
    out_dir: Annotated[Path | None, typer.Option("--out", help="output folder")] = None,
    warmup: WarmupOpt = "auto",
    draws: DrawsOpt = None,
) -> None:
    """Shapley shares of each mechanism in the change FROM → TO, with an equal-cost control.

    With --draws N every coalition runs under each of the context's first N posterior draws, and
    the intervals combine parameter and run-to-run uncertainty.
    """
    from sim.core.limits import check_run
    from sim.core.scenarios import load_scenario
    from sim.core.steady import check_warmup
    from sim.errors import GovsimError, did_you_mean
    from sim.experiments.attribution import attribute as run_attribution
    from sim.experiments.attribution import differences, group
    from sim.experiments.posterior import posterior_of
    from sim.experiments.store import atomic_write_parquet

    a = load_scenario(from_scenario, context=context, overrides=overrides(set_))
    b = load_scenario(to_scenario, context=context, overrides=overrides(set_))
    for params in (a, b):
        check_run(params, days, seed)
    warm = check_warmup(warmup, days)
    kpis = list(kpi or MAIN_KPIS)
    unknown = [k for k in kpis if k not in KPI_ORDER]
    if unknown:
        hint = did_you_mean(unknown, KPI_ORDER)
        raise GovsimError(f"--kpi: {unknown} unknown{hint}; known: {list(KPI_ORDER)}")
    fixed = overrides(set_)  # what --set fixes wins over the draws
    posterior = () if draws is None else posterior_of([from_scenario, to_scenario], context).first(draws)
    n_mech = len(group(differences(a, b)))
    over = f" × {draws} posterior draws" if draws else ""
    out.print(
        f"{a.name} → {b.name}: {n_mech} mechanisms differ; {2**n_mech if n_mech <= 6 else 'sampled'} "
        f"coalitions{over} × {reps} replications, plus the equal-cost control",
        highlight=False,
    )
    with progress_bar("runs") as bar:
        task = bar.add_task("runs", total=None)

        def progress(done: int, total: int) -> None:
            if done == 0:  # the input is checked and the runs begin
                compile_notice()
            bar.update(task, completed=done, total=total)
        res = run_attribution(
            a,
            b,
            kpis,
            reps=reps,
            seed=seed,
            days=days,
            workers=workers,
            progress=progress,
            warmup=warm,
            draws=[{**d, **fixed} for d in posterior],
        )
    sources = ("dominant uncertainty",) if draws else ()
    for k in kpis:
        t = Table(
            "mechanism",
            "contribution [95% interval]",
            "share of change",
            *sources,
            title=f"{k}: {a.name} → {b.name}"
            + (f" over {draws} posterior draws (parameter and run-to-run uncertainty)" if draws else ""),
        )
        for _, r in res.shares[res.shares["kpi"] == k].iterrows():
            t.add_row(
                str(r["mechanism"]),
                f"{fmt(r['contribution_mean'])} [{fmt(r['contribution_lo'])}, {fmt(r['contribution_hi'])}]",
                f"{r['share_mean']:.0%}" if r["share_mean"] == r["share_mean"] else "–",
                *((str(r["dominant"] or "–"),) if draws else ()),
            )
        c = res.control[res.control["kpi"] == k].iloc[0]
        t.add_row(
            "equal-cost control",
            f"{fmt(c['control_change_mean'])} [{fmt(c['control_change_lo'])}, {fmt(c['control_change_hi'])}]",
            "(same staff-hours, no structure)",
            *((str(c["dominant"] or "–"),) if draws else ()),
        )
        out.print(t)
    ends = {"FROM": a.name, "+".join(sorted(res.mechanisms)): b.name}
    runs = res.runs[res.runs["coalition"].isin(list(ends))]
    print_unstable(runs.assign(scenario=runs["coalition"].map(ends)), days, marked=False)
    folder = out_dir or Path("results") / f"attribute-{a.name}-{b.name}"
    for name, df in (
        ("shares", res.shares),
        ("control", res.control),
        ("runs", res.runs.drop(columns=["coalition"]).assign(coalition=res.runs["coalition"])),
    ):
        atomic_write_parquet(folder / f"{name}.parquet", df)
    out.print(f"tables written to {folder}/", highlight=False)
