"""``govsim report``: a policy brief (one self-contained HTML file) from an experiment's results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.base import PrecisionOpt, ReferenceOpt, app, err, friendly, out
from sim.errors import GovsimError


@app.command()
@friendly
def report(
    experiment: str,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="HTML file (default: brief.html in the results folder)")
    ] = None,
    reference: ReferenceOpt = None,
    precision: PrecisionOpt = 0.05,
    calibration: Annotated[
        Path | None, typer.Option(help="fit table of govsim calibrate (results/calibration/fit.parquet)")
    ] = None,
    attribution: Annotated[
        Path | None,
        typer.Option(help="shares.parquet of govsim attribute"),
    ] = None,
) -> None:
    """Write a policy brief: question, scenarios, findings, KPI table, figures, provenance."""
    import matplotlib

    import sim.experiments.results
    from sim.experiments.store import atomic_write_bytes
    from sim.presentation.report import build_report

    extras = {k: v for k, v in (("calibration", calibration), ("attribution", attribution)) if v is not None}
    for name, path in extras.items():
        if not path.is_file():
            raise GovsimError(f"--{name}: {path} not found")
    matplotlib.use("Agg")  # the CLI draws to files only; the library leaves the backend alone
    page = build_report(experiment, reference=reference, precision=precision, extras=extras)
    target = out_file or sim.experiments.results.open(experiment).path / "brief.html"
    if target.is_dir():
        raise GovsimError(f"--out: {target} is a folder; give a file name such as {target / 'brief.html'}")
    try:
        atomic_write_bytes(target, page.encode("utf-8"))
    except OSError as exc:
        raise GovsimError(f"--out: cannot write {target} ({exc.strerror})") from None
    if len(page) > 5_000_000:
        err.print(f"[yellow]warning:[/yellow] the brief is {len(page) / 1e6:.1f} MB (figures embedded)")
    out.print(f"policy brief written to {target}", highlight=False)
