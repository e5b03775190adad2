"""``govsim calibrate``: the Bayesian calibration of the shared context, or its check."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import TaskID
from rich.table import Table

from sim.cli.base import DEFAULT_WORKERS, app, bounded, compile_notice, friendly, out, progress_bar
from sim.experiments.store import atomic_write_bytes, atomic_write_parquet


def _show(df: pd.DataFrame, title: str) -> None:
    t = Table(*[str(c) for c in df.columns], title=title)
    for _, r in df.iterrows():
        t.add_row(*[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r])
    out.print(t)


StageBar = Callable[[str], Callable[[int, int], None]]


def _prefixed(stage: StageBar) -> StageBar:
    """The progress of the rerun's stages, named apart from the first fit's."""
    return lambda name: stage(f"rerun {name}")


@app.command()
@friendly
def calibrate(
    config: Annotated[Path, typer.Argument(help="calibration file")] = Path("experiments/calibration.yaml"),
    check: Annotated[
        bool,
        typer.Option("--check", help="only screen which parameters the targets can move (a small design)"),
    ] = False,
    stability: Annotated[
        bool,
        typer.Option(
            "--stability",
            help="also refit with other seeds for every run (twice the runs) and report which verdicts hold",
        ),
    ] = False,
    workers: Annotated[int, typer.Option(callback=bounded(1), help="parallel processes")] = DEFAULT_WORKERS,
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder for the runs and tables")] = None,
) -> None:
    """Fit the shared context to the reported figures (posterior draws, validation, the docs page)."""
    from sim.core.scenarios import load_scenario
    from sim.experiments.calibration import context_yaml, load_calibration
    from sim.experiments.calibration_check import check as run_check
    from sim.experiments.calibration_fit import calibrate as run_calibration
    from sim.experiments.calibration_fit import draw_overrides
    from sim.experiments.calibration_stability import RERUN_SEEDS, parameter_stability, target_stability
    from sim.experiments.posterior import write_posterior
    from sim.presentation.calibration_doc import calibration_markdown

    cfg, targets, folder = load_calibration(config)
    target_dir = out_dir or Path("results") / cfg.name
    fitted = cfg.fitted(targets)
    with progress_bar() as bar:
        tasks: dict[str, TaskID] = {}
        noticed = False

        def stage(name: str) -> Callable[[int, int], None]:
            def update(done: int, total: int) -> None:
                nonlocal noticed
                if not noticed and done < total:  # the first stage with runs to do begins
                    compile_notice()
                    noticed = True
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done)

            return update

        if check:
            out.print(
                f"screening {len(cfg.parameters)} parameters against {len(fitted)} calibrated targets "
                f"({cfg.check.points} points at {cfg.check.residents:,} residents, {cfg.check.days} days)",
                highlight=False,
            )
            table = run_check(config, target_dir / "check", workers, stage("check runs"))
        else:
            out.print(
                f"calibrating {len(cfg.parameters)} context parameters to {len(fitted)} figures "
                f"({len(targets) - len(fitted)} held back); runs kept in {target_dir}/runs.jsonl",
                highlight=False,
            )
            start = time.monotonic()
            cal = run_calibration(config, target_dir, workers, stage)
            rerun = None
            if stability:
                seed = cfg.waves.run_seed + RERUN_SEEDS
                rerun = run_calibration(config, target_dir / "rerun", workers, _prefixed(stage), seed)
    if check:
        _show(table, "effect across each prior range, in tolerances (* within two standard errors of 0)")
        atomic_write_bytes(target_dir / "check.csv", table.to_csv(index=False).encode())
        lost = table[table["moves"] == "no target"]["parameter"].tolist()
        out.print(
            ("no target moves: " + ", ".join(lost) + " (they cannot be identified)")
            if lost
            else "every parameter moves at least one target",
            highlight=False,
        )
        return
    _show(
        cal.predictive[["target", "role", "reported", "sim_mean", "sim_lo", "sim_hi", "within"]],
        "posterior predictive",
    )
    _show(cal.identification[["parameter", "median", "lo", "hi", "sd_ratio", "verdict"]], "parameters")
    for name, df in (
        ("fit", cal.predictive),
        ("identification", cal.identification),
        ("lopo", cal.lopo),
        ("emulators", cal.emulators),
        ("correlations", cal.correlations),
    ):
        atomic_write_bytes(target_dir / f"{name}.csv", df.to_csv(index=False).encode())
    atomic_write_parquet(target_dir / "fit.parquet", cal.predictive)
    if rerun is not None:
        par = parameter_stability(cal, rerun)
        _show(par[["parameter", "median_a", "median_b", "verdict_a", "verdict_b", "same"]], "stability")
        atomic_write_bytes(target_dir / "stability_parameters.csv", par.to_csv(index=False).encode())
        atomic_write_bytes(
            target_dir / "stability_targets.csv", target_stability(cal, rerun).to_csv(index=False).encode()
        )
    command = (
        "govsim calibrate " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if len(sys.argv) > 2
        else f"govsim calibrate {config}"
    )
    context_path = (folder / cfg.context_out).resolve()
    header = (
        f"Written by `{command}`: the {cfg.base_context} context at the posterior median of the "
        f"fitted parameters;\nthe posterior draws are in {context_path.stem}.draws.json. "
        "See docs/calibration.md."
    )
    atomic_write_bytes(
        context_path,
        context_yaml(
            cfg, load_scenario("baseline", context=cfg.base_context), cal.median().tolist(), header
        ).encode(),
    )
    write_posterior(context_path, cal.names, cal.draws, draw_overrides(cfg, cal.draws), command)
    written = [str(context_path)]
    if cfg.docs_out:
        docs = (folder / cfg.docs_out).resolve()
        previous = docs.read_text(encoding="utf-8") if docs.is_file() else ""
        page = calibration_markdown(cal, command, (time.monotonic() - start) / 60.0, previous, rerun)
        atomic_write_bytes(docs, page.encode())
        written.append(str(docs))
    out.print(f"tables in {target_dir}/; written: {', '.join(written)}", highlight=False)
