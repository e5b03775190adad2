"""``govsim dashboard``: the interactive dashboard in a local web page."""

from __future__ import annotations

from typing import Annotated

import typer

from sim.cli.base import ContextOpt, app, bounded, compile_notice, err, friendly, out
from sim.errors import GovsimError


@app.command()
@friendly
def dashboard(
    port: Annotated[int, typer.Option(callback=bounded(0, 65535), help="TCP port (0: any free port)")] = 8765,
    host: Annotated[str, typer.Option(help="loopback address to listen on")] = "127.0.0.1",
    context: ContextOpt = None,
    days: Annotated[
        int, typer.Option(callback=bounded(1), help="horizon: the last day a run may reach")
    ] = 365,
) -> None:
    """Open an interactive dashboard: pick a scenario, switch mechanisms, step day by day."""
    try:
        from sim.presentation.dashboard.app import serve
    except ImportError as exc:
        raise GovsimError(
            f"the dashboard needs the viz extra ({exc.name} is missing): pip install 'govsim[viz]'"
        ) from None

    def ready(url: str) -> None:
        out.print(f"govsim dashboard on {url} (Ctrl-C stops it)", highlight=False, soft_wrap=True)
        compile_notice()  # the first run the page starts compiles the model

    serve(host=host, port=port, context=context, horizon=days, on_ready=ready)
    err.print("dashboard stopped", highlight=False)
