"""The dashboard web app (Dash) and its local server.

One callback drives the page: any control, button or play tick arrives there, is turned
into an action on the page's :class:`~sim.presentation.dashboard.state.Session` (rebuild, restart,
step) and the four charts are redrawn from the session's :class:`~sim.presentation.dashboard.state.View`.
Each open page has its own session (a random id kept in the page); models live in this
process, so the server is for one person on this machine and binds only loopback
addresses (there is no authentication). Because a web page elsewhere can still point a
name it controls at 127.0.0.1 (DNS rebinding), every request must also name a loopback
host in its ``Host`` header, and the page can only ask for a built-in scenario or a
scenario file inside the project, never any other file.

Why Dash and not Mesa's SolaraViz: Solara loads its JavaScript bundle from a CDN at run
time (through its server), so on a machine without internet — like CI — the page stays
blank; Dash serves every script from the installed packages. SolaraViz also applies
changed parameters only on Reset, with slider defaults fixed in code, whereas here
picking a scenario moves every control to that scenario's values.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dash import Dash, Input, Output, State, ctx, html, no_update
from flask import abort, request

from sim.core.scenarios import builtin_scenarios, load_scenario, scenario_dir
from sim.errors import GovsimError
from sim.presentation.dashboard.figures import delay_figure, map_figure, open_cases_figure, tier_figure
from sim.presentation.dashboard.layout import SLIDERS, control_values, index_string, page
from sim.presentation.dashboard.state import Controls, Session, SessionRegistry, View, controls_for

CONTROL_IDS = ("mechanisms", "enforcement-mode", *SLIDERS)
"""Elements whose change rebuilds the model (residents and seed too)."""

WEEK = 7
PROJECT = scenario_dir().resolve().parent
"""Scenario files the page may ask for live under this folder."""


def _fmt(x: float) -> str:
    if x != x:  # NaN
        return "–"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.2f}"


def kpi_chips(view: View) -> list[html.Span]:
    """The headline numbers as small labelled chips."""
    chips = [html.Span([html.B(_fmt(v)), f" {k}"], className="kpi") for k, v in view.kpis.items()]
    chips.append(html.Span([html.B(f"{view.step_ms:.1f} ms"), " last step"], className="kpi"))
    chips.append(html.Span(view.steady, className="kpi steady"))
    return chips


def read_controls(
    scenario: str,
    context: str | None,
    mechanisms: list[str] | None,
    mode: str,
    values: dict[str, float | None],
    residents: float | None,
    seed: float | None,
    fallback: Controls,
) -> Controls:
    """Controls from the page's element values (missing or invalid numbers keep ``fallback``'s).

    Args:
        scenario: the scenario dropdown.
        context: the dashboard's context.
        mechanisms: the checked mechanism switches.
        mode: the enforcement radio.
        values: slider values by element id (see :data:`sim.presentation.dashboard.layout.SLIDERS`).
        residents, seed: the number inputs (None while a person is typing something invalid).
        fallback: the controls the session runs now.
    """

    def num(key: str, current: float) -> float:
        v = values.get(key)
        return current if v is None else float(v)

    return Controls(
        scenario=scenario,
        context=context,
        residents=int(residents) if residents is not None and residents >= 100 else fallback.residents,
        seed=int(seed) if seed is not None and seed >= 0 else fallback.seed,
        mechanisms=frozenset(mechanisms or ()),
        enforcement_mode="comprehensive" if mode == "comprehensive" else "line",
        patrollers_per_grid=int(num("patrollers", fallback.patrollers_per_grid)),
        misroute_probability=num("misroute", fallback.misroute_probability),
        department_staff_per_10k=num("dept-staff", fallback.department_staff_per_10k),
        enforcement_staff_per_10k=num("enf-staff", fallback.enforcement_staff_per_10k),
    )


def first_action(triggered: list[str]) -> str | None:
    """The element a callback answers, of those that fired (None on page load).

    A person's action comes before a play tick: a tick that fires while the page waits for
    the server reaches it together with the click that follows, and must not hide it.
    """
    return next((t for t in triggered if t != "ticker"), triggered[0] if triggered else None)


def apply_action(session: Session, trigger: str | None, controls: Controls, speed: int) -> bool:
    """Do what the element ``trigger`` asks of the session.

    Play and pause live in the session (:attr:`Session.playing`), not in the page: a tick
    on its way when the person pauses finds the session paused and does nothing.

    Args:
        session: the page's session.
        trigger: the id of the element that fired (None on page load).
        controls: the controls as the page shows them now.
        speed: days per play tick.

    Returns:
        Whether the page should show the controls' values again (after a scenario pick,
        the controls move to that scenario's own values).

    Raises:
        GovsimError: controls that do not make a valid scenario, or name a scenario that
            is neither built in nor a file in the project (the session is unchanged).
    """
    allowed_scenario(controls.scenario)
    with session.lock:
        picked = trigger == "scenario"
        if picked:
            c = controls
            session.rebuild(controls_for(c.scenario, c.context, c.residents, c.seed))
        elif trigger == "play":
            session.playing = not session.playing
        elif trigger == "ticker":
            if session.playing:
                session.step(speed)
        elif trigger == "reset":
            session.rebuild(controls)
        elif trigger == "step":
            session.step(1)
        elif trigger == "step-week":
            session.step(WEEK)
        elif controls != session.controls and trigger != "map-metric":
            session.rebuild(controls)
        session.playing = session.playing and not session.done
        return picked


def allowed_scenario(name: str) -> str:
    """``name`` if the page may load it: a built-in scenario, or a YAML file in the project.

    Raises:
        GovsimError: anything else (the page only offers built-in names; a request for
            another file did not come from it).
    """
    builtin = builtin_scenarios()
    if name in builtin:
        return name
    path = Path(name).resolve()
    if path.suffix in (".yaml", ".yml") and path.is_file() and path.is_relative_to(PROJECT):
        return name
    raise GovsimError(
        f"scenario {name!r} is not allowed here: choose a built-in scenario ({', '.join(builtin)}) "
        f"or a scenario file under {PROJECT}"
    )


def local_host(host: str) -> bool:
    """Whether a ``Host`` header names this machine: ``localhost`` or a loopback address."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # strip a port
    if name.startswith("["):  # [::1]:8765
        name = name[1 : name.find("]")]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def create_app(
    context: str | None = None,
    horizon: int = 365,
    scenario: str = "baseline",
    sessions: SessionRegistry | None = None,
) -> Dash:
    """The Dash app.

    Args:
        context: a context replacing the scenarios' own (None: each scenario's).
        horizon: the last day a run may reach.
        scenario: the scenario shown first.
        sessions: where the pages' sessions live (default: a new registry).

    Raises:
        ScenarioError: an unknown scenario or context.
    """
    scenarios = builtin_scenarios()
    first = controls_for(scenario, context)
    residents = load_scenario(scenario, context=context).population.residents
    sessions = sessions if sessions is not None else SessionRegistry(horizon=horizon)
    app = Dash(__name__, title="govsim dashboard", update_title="")

    @app.server.before_request
    def _only_this_machine() -> None:
        if not local_host(request.host):
            abort(403, description="this dashboard only answers to localhost or a loopback address")

    app.index_string = index_string()
    app.layout = lambda: page(uuid.uuid4().hex, scenarios, first, residents, horizon)

    outputs = [Output(k, "value") for k in CONTROL_IDS] + [
        Output("map", "figure"),
        Output("tiers", "figure"),
        Output("delays", "figure"),
        Output("open-cases", "figure"),
        Output("day", "children"),
        Output("kpis", "children"),
        Output("label", "children"),
        Output("settings", "children"),
        Output("message", "children"),
        Output("ticker", "disabled"),
        Output("play", "children"),
    ]
    inputs = (
        [Input("scenario", "value")]
        + [Input(k, "value") for k in CONTROL_IDS]
        + [
            Input("residents", "value"),
            Input("seed", "value"),
            Input("step", "n_clicks"),
            Input("step-week", "n_clicks"),
            Input("reset", "n_clicks"),
            Input("play", "n_clicks"),
            Input("ticker", "n_intervals"),
            Input("map-metric", "value"),
        ]
    )
    states = [State("session-id", "data"), State("speed", "value")]

    @app.callback(*outputs, *inputs, *states)
    def update(scenario: str, mechanisms: list[str], mode: str, *rest: Any) -> tuple[Any, ...]:
        slider_values = dict(zip(SLIDERS, rest[: len(SLIDERS)], strict=True))
        residents_v, seed_v, *_, metric, sid, speed = rest[len(SLIDERS) :]
        session = sessions.get(sid, first)
        trigger = first_action([t for t in ctx.triggered_prop_ids.values() if isinstance(t, str)])
        message = ""
        controls = read_controls(
            scenario, context, mechanisms, mode, slider_values, residents_v, seed_v, session.controls
        )
        show_controls = False
        try:
            show_controls = apply_action(session, trigger, controls, int(speed or 1))
        except GovsimError as exc:
            message = f"not applied: {exc}"
        view = session.view(metric)
        values = control_values(session.controls) if show_controls else {}
        return (
            *[values.get(k, no_update) for k in CONTROL_IDS],
            map_figure(view),
            tier_figure(view),
            delay_figure(view),
            open_cases_figure(view),
            f"day {view.day} of {view.horizon}",
            kpi_chips(view),
            view.label,
            f"running: {session.controls.describe()}",
            message,
            not session.playing,
            "❚❚ Pause" if session.playing else "▶ Play",
        )

    return app


def loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    addrs = {info[4][0] for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addrs)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    context: str | None = None,
    horizon: int = 365,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard until interrupted (Ctrl-C).

    Args:
        host: a loopback address or name (the page has no authentication).
        port: the TCP port.
        context: a context replacing the scenarios' own.
        horizon: the last day a run may reach.
        on_ready: called with the page's address once the server listens.

    Raises:
        GovsimError: a host that is not loopback, or a port that cannot be bound.
        ScenarioError: an unknown context.
    """
    from werkzeug.serving import make_server

    if not loopback(host):
        raise GovsimError(
            f"--host {host!r} is not a loopback address; the dashboard has no authentication, "
            "so it only listens on this machine (use 127.0.0.1, ::1 or localhost)"
        )
    sessions = SessionRegistry(horizon=horizon)
    app = create_app(context=context, horizon=horizon, sessions=sessions)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    try:
        server = make_server(host, port, app.server, threaded=True)
    except OSError as exc:
        raise GovsimError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None
    name = f"[{host}]" if ":" in host else host
    if on_ready is not None:
        on_ready(f"http://{name}:{server.port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sessions.close_all()
