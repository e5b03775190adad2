"""What every ``govsim`` command shares: the app, its consoles, options, errors and formatting."""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sim.cli.progress import LogLines
from sim.core.scenarios import (
    parse_override,
)
from sim.errors import GovsimError
from sim.experiments.stability import HORIZON_MARK

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's paragraphs wrap to the terminal, not at its line ends
    help="govsim: simulate grassroots-governance reforms (patrol–handling separation and more).",
)
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_WORKERS = os.cpu_count() or 1
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override a parameter: section.field=value")]
ContextOpt = Annotated[str | None, typer.Option(help="context name or file (replaces the scenario's)")]
SeedOpt = Annotated[int, typer.Option(help="root seed")]


def bounded(low: float, high: float | None = None) -> Callable[[typer.CallbackParam, Any], Any]:
    """An option callback that refuses a number outside ``low .. high`` in one line, exit 2.

    Used instead of typer's ``min=``/``max=``, whose refusal is a boxed usage message.
    """

    def check(param: typer.CallbackParam, value: Any) -> Any:
        if value is not None and (value < low or (high is not None and value > high)):
            allowed = f"at least {low:g}" if high is None else f"from {low:g} to {high:g}"
            _fail(f"{param.opts[0]}: {value:g} is not allowed: {allowed}")
        return value

    return check


def _days(param: typer.CallbackParam, value: int) -> int:
    """Refuse a horizon out of bounds (:func:`sim.core.limits.check_days`) in one line."""
    from sim.core.limits import check_days

    try:
        check_days(value, param.opts[0])
    except GovsimError as exc:
        _fail(str(exc))
    return value


DaysOpt = Annotated[int, typer.Option(callback=_days, help="days to simulate (1 to 3650)")]
ReferenceOpt = Annotated[str | None, typer.Option(help="scenario to compare against")]
PrecisionOpt = Annotated[
    float,
    typer.Option(
        callback=bounded(0.0001), help="target half-width of the 95% interval, relative to the mean"
    ),
]
DrawsOpt = Annotated[
    int | None,
    typer.Option(
        callback=bounded(1),
        help="run under each of the context's first N posterior draws (NAME.draws.json, from govsim "
        "calibrate); intervals then combine parameter and run-to-run uncertainty",
    ),
]
WarmupOpt = Annotated[
    str,
    typer.Option(
        help="days at the start the KPIs leave out, or auto: the MSER-5 warm-up of each run's "
        "open cases and backlogs"
    ),
]


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
    """Turn a GovsimError, or an OSError on a path the user gave, into one line on stderr and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GovsimError as exc:
            _fail(str(exc))
        except OSError as exc:  # an output folder that cannot be made, a full disk, ...
            _fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))

    return wrapper  # type: ignore[return-value]


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def overrides(items: list[str] | None) -> dict[str, Any]:
    """``--set`` items as a mapping of dotted paths to values."""
    return dict(parse_override(s) for s in items or [])


COMPILING = (
    "compiling the model for this machine first: about a minute, once after an install or "
    "an update (then it is cached)"
)


def compile_notice() -> None:
    """Say on stderr (:data:`COMPILING`) that the model will compile before its first
    run, when its compiled code is not cached: a display that does not move for a minute
    would look hung. For the commands that run the model, once the input is checked."""
    from sim.core.mechanisms import compiled

    if not compiled():
        err.print(COMPILING, highlight=False, soft_wrap=True)


def progress_bar(label: str = "{task.description}", failures: bool = False) -> Progress | LogLines:
    """A transient progress bar on stderr; log lines instead when stderr is not a terminal.

    Args:
        label: the bar's label (a rich format string).
        failures: also show the task's ``failed`` field.
    """
    if not err.is_terminal:
        return LogLines(err)
    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if failures:
        columns.append(TextColumn("failed {task.fields[failed]}"))
    return Progress(*columns, TimeRemainingColumn(), console=err, transient=True)


def fmt(x: float) -> str:
    """A number with about three significant digits, thousands separated; "–" for none (NaN)."""
    if not math.isfinite(x):
        return "–"
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if a >= 1 else f"{x:.3g}"


HORIZON_NOTE = (
    f"{HORIZON_MARK} grows with the horizon: a delay difference with a scenario that did not reach "
    "a steady state"
)


def print_unstable(summaries: pd.DataFrame, days: int | None, marked: bool) -> None:
    """A warning for each scenario (and point) of an experiment that did not reach a steady
    state, and, if ``marked``, what :data:`HORIZON_MARK` means."""
    from sim.experiments.stability import stability, unstable_note

    t = stability(summaries)
    multi = t["point"].nunique() > 1
    for r in t[t["unstable"]].to_dict("records"):
        label = {**r, "scenario": f"{r['scenario']} p{r['point']}"} if multi else r
        out.print(f"[yellow]warning:[/yellow] {unstable_note(label, days)}", highlight=False)
    if marked:
        out.print(HORIZON_NOTE, highlight=False)


