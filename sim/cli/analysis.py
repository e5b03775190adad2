"""``govsim analyze``: an experiment's KPIs with intervals, paired differences, tests and advice."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from sim.cli.base import (
    PrecisionOpt,
    ReferenceOpt,
    app,
    err,
    fmt,
    friendly,
    out,
    print_unstable,
)
from sim.cli.experiments import horizon, print_intervals
from sim.errors import GovsimError, did_you_mean


@app.command()
@friendly
def analyze(
    experiment: str,
    reference: ReferenceOpt = None,
    precision: PrecisionOpt = 0.05,
    kpi: Annotated[list[str] | None, typer.Option(help="KPIs to analyse (default: main ones)")] = None,
) -> None:
    """KPIs per scenario with intervals; paired differences, Wilcoxon tests, effect sizes."""
    import sim.experiments.results
    from sim.experiments.compare import KPI_ORDER
    from sim.experiments.stability import mark_differences
    from sim.experiments.stats import replication_advice, warnings_for
    from sim.experiments.store import atomic_write_parquet
    from sim.experiments.uncertainty import differences_of, has_draws, intervals_of
    from sim.presentation.comparison import diff_cell
    from sim.presentation.findings import MINUS
    from sim.presentation.plots import kpi_label

    res = sim.experiments.results.open(experiment)
    s = res.summaries
    if s.empty:
        raise GovsimError(f"{res.path}: no finished runs to analyse")
    kpis = kpi or [k for k in KPI_ORDER if k in s.columns][:18]
    missing = [k for k in kpis if k not in s.columns]
    if missing:
        hint = did_you_mean(missing, res.kpis)
        raise GovsimError(f"--kpi: {missing} not in the results{hint}; available: {res.kpis}")
    scenarios = list(dict.fromkeys(s["scenario"]))
    if reference is not None and reference not in scenarios:
        hint = did_you_mean(reference, scenarios)
        among = f"is not among the experiment's scenarios {scenarios}{hint}"
        raise GovsimError(f"--reference: {reference!r} {among}")
    intervals = intervals_of(s, kpis)
    print_intervals(intervals)
    diffs = pd.DataFrame()
    draws = has_draws(s)
    if s["scenario"].nunique() > 1:
        diffs = mark_differences(differences_of(s, kpis, reference=reference), s)
        t = Table(
            "scenario − reference",
            "KPI",
            "difference [95% combined]" if draws else "difference [95% bootstrap]",
            *(("relative", "dominant uncertainty") if draws else ("relative", "Wilcoxon p", "effect size d")),
            title="paired differences (common random numbers); of shares, in percentage points (pp)",
        )
        for _, r in diffs.iterrows():
            tests = (str(r["dominant"] or "–"),) if draws else (fmt(r["wilcoxon_p"]), fmt(r["effect_size"]))
            t.add_row(
                f"{r['scenario']} − {r['reference']}"
                + (f" p{r['point']}" if diffs["point"].nunique() > 1 else ""),
                kpi_label(str(r["kpi"])),
                diff_cell(str(r["kpi"]), r.to_dict()),
                f"{r['relative_change']:+.1%}".replace("-", MINUS) if pd.notna(r["relative_change"]) else "–",
                *tests,
            )
        out.print(t)
    print_unstable(s, horizon(res), marked=bool(not diffs.empty and diffs["grows_with_horizon"].any()))
    folder = res.path / "analysis"
    if draws:  # the spread across runs is mostly the parameters': replication advice would mislead
        out.print(
            "intervals over posterior draws: where parameter uncertainty dominates, more replications "
            "will not narrow them",
            highlight=False,
        )
    else:
        advice = replication_advice(s, kpis, rel_half_width=precision)
        labelled = advice.assign(kpi=advice["kpi"].map(kpi_label))  # the table keeps the KPIs' codes
        for line in warnings_for(labelled, advice.attrs["level"], precision):
            err.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        atomic_write_parquet(folder / "advice.parquet", advice)
    atomic_write_parquet(folder / "intervals.parquet", intervals)
    if not diffs.empty:
        atomic_write_parquet(folder / "differences.parquet", diffs)
    _analysis_figures(folder, s, diffs)
    out.print(f"analysis tables and figures written to {folder}/", highlight=False)


def _analysis_figures(folder: Path, summaries: pd.DataFrame, diffs: pd.DataFrame) -> None:
    """``tier_shares.png`` (per scenario, and point if several) and ``differences.png`` in ``folder``."""
    import matplotlib

    from sim.cli.outputs import Outputs
    from sim.presentation import plots

    matplotlib.use("Agg")  # the CLI draws to files only; the library leaves the backend alone
    files = Outputs(folder, [], force=True)  # the analysis of this store, redone
    if all(f"tier_share_{t}" in summaries.columns for t in plots.TIERS):
        many = summaries["point"].nunique() > 1
        pairs = zip(summaries["scenario"], summaries["point"], strict=True)
        labelled = summaries.assign(scenario=[f"{s} p{p}" if many else str(s) for s, p in pairs])
        files.figure(plots.tier_shares_figure(labelled), "tier_shares.png")
    if not diffs.empty:
        files.figure(plots.differences_figure(diffs), "differences.png")
