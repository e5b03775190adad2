"""The page's components: the controls panel, the status bar and the four charts (Dash).

Only layout lives here; what the controls do is in :mod:`sim.presentation.dashboard.app` and what
the charts show in :mod:`sim.presentation.dashboard.state` and :mod:`sim.presentation.dashboard.figures`.
Element ids are the page's interface (the callbacks and the browser test use them).
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from sim.core.switches import BY_NAME
from sim.presentation.dashboard.state import MAP_METRICS, MECHANISM_SWITCHES, Controls

SHORT_LABELS = {
    "separation": "patrol–handling separation",
    "command_centre": "command centre dispatches",
    "deadline_watch": "centre watches deadlines (overtime)",
    "one_window": "one window for approvals",
    "assessment": "two-way assessment",
}
"""Checklist labels of the switches whose declared label is too long for the panel."""

MECHANISM_LABELS = {n: SHORT_LABELS.get(n, BY_NAME[n].label) for n in MECHANISM_SWITCHES}
"""The mechanism switches, as the checklist shows them (the declared label on hover)."""

SLIDERS: dict[str, dict[str, Any]] = {
    "patrollers": {"label": "patrollers per grid", "min": 1, "max": 4, "step": 1},
    "misroute": {"label": "misroute probability", "min": 0.0, "max": 0.5, "step": 0.01},
    "dept-staff": {"label": "department staff per 10,000 residents", "min": 8, "max": 40, "step": 1},
    "enf-staff": {"label": "enforcement staff per 10,000 residents", "min": 2, "max": 12, "step": 0.5},
}
"""The parameter sliders by element id."""

CSS = """
body { margin: 0; font-family: system-ui, sans-serif; background: #f4f5f7; color: #222; }
.header { background: #1f3a5f; color: white; padding: 10px 18px; display: flex; gap: 18px;
          align-items: baseline; flex-wrap: wrap; }
.header h1 { font-size: 20px; margin: 0; }
.header .note { font-size: 12px; opacity: 0.85; }
.body { display: flex; gap: 12px; padding: 12px; align-items: flex-start; }
.controls { width: 300px; flex: none; background: white; border-radius: 8px; padding: 12px 14px;
            box-shadow: 0 1px 3px rgba(0,0,0,.12); font-size: 13px; }
.controls h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #1f3a5f;
               margin: 14px 0 6px; }
.controls h3:first-child { margin-top: 0; }
.controls .field { display: block; margin: 4px 0; }
.controls .hint { font-size: 11px; color: #666; margin: 4px 0; }
.slider-label { margin-top: 8px; font-size: 12px; }
.buttons { display: flex; gap: 6px; flex-wrap: wrap; margin: 6px 0; }
.buttons button { padding: 6px 10px; border: 1px solid #1f3a5f; background: #1f3a5f; color: white;
                  border-radius: 4px; cursor: pointer; font-size: 13px; }
.buttons button.secondary { background: white; color: #1f3a5f; }
.main { flex: 1; min-width: 0; }
.status { background: white; border-radius: 8px; padding: 8px 12px; margin-bottom: 12px;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); display: flex; gap: 10px; flex-wrap: wrap;
          align-items: center; font-size: 13px; }
.day { font-size: 20px; font-weight: 600; color: #1f3a5f; margin-right: 8px; }
.kpi { background: #eef2f7; border-radius: 4px; padding: 3px 8px; }
.kpi b { font-weight: 600; }
.settings { flex-basis: 100%; font-size: 12px; color: #555; }
.message { color: #b00020; font-size: 12px; margin-top: 8px; white-space: pre-wrap; }
.charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
.card { background: white; border-radius: 8px; padding: 4px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.map-metric { font-size: 12px; padding: 2px 8px; }
.map-metric label { display: inline-block; margin-right: 12px; }
"""


def index_string() -> str:
    """The page template: Dash's default with the stylesheet inlined (no asset files)."""
    return (
        "<!DOCTYPE html><html><head>{%metas%}<title>{%title%}</title>{%favicon%}{%css%}"
        f"<style>{CSS}</style></head><body>{{%app_entry%}}<footer>{{%config%}}{{%scripts%}}"
        "{%renderer%}</footer></body></html>"
    )


def _slider(key: str, value: float) -> html.Div:
    spec = SLIDERS[key]
    span = spec["max"] - spec["min"]
    marks = {spec["min"]: str(spec["min"]), spec["max"]: str(spec["max"])}
    if span <= 4:
        marks = (
            {v: str(v) for v in range(int(spec["min"]), int(spec["max"]) + 1)} if spec["step"] == 1 else marks
        )
    return html.Div(
        [
            html.Div(spec["label"], className="slider-label"),
            dcc.Slider(
                id=key,
                min=spec["min"],
                max=spec["max"],
                step=spec["step"],
                value=value,
                marks=marks,
                tooltip={"placement": "bottom", "always_visible": False},
                updatemode="mouseup",
            ),
        ]
    )


def control_values(c: Controls) -> dict[str, Any]:
    """The value of each control element for ``c`` (element id → value)."""
    return {
        "mechanisms": [n for n in MECHANISM_SWITCHES if n in c.mechanisms],
        "enforcement-mode": c.enforcement_mode,
        "patrollers": c.patrollers_per_grid,
        "misroute": c.misroute_probability,
        "dept-staff": c.department_staff_per_10k,
        "enf-staff": c.enforcement_staff_per_10k,
    }


def controls_panel(scenarios: list[str], c: Controls, residents: int, horizon: int) -> html.Aside:
    """The left-hand panel: scenario, mechanisms, parameters, place and the run buttons."""
    v = control_values(c)
    return html.Aside(
        className="controls",
        children=[
            html.H3("Scenario"),
            dcc.Dropdown(
                id="scenario",
                options=[{"label": s, "value": s} for s in scenarios],
                value=c.scenario,
                clearable=False,
                searchable=False,
            ),
            html.Div("Picking a scenario sets every control below to its values.", className="hint"),
            html.H3("Mechanisms"),
            dcc.Checklist(
                id="mechanisms",
                options=[
                    {"label": html.Span(lab, title=BY_NAME[n].label), "value": n}
                    for n, lab in MECHANISM_LABELS.items()
                ],
                value=v["mechanisms"],
            ),
            html.Div("enforcement", className="slider-label"),
            dcc.RadioItems(
                id="enforcement-mode",
                options=[
                    {"label": "line teams (county, one domain each)", "value": "line"},
                    {"label": "comprehensive town squad", "value": "comprehensive"},
                ],
                value=v["enforcement-mode"],
            ),
            html.H3("Parameters"),
            *[_slider(k, v[k]) for k in SLIDERS],
            html.H3("Place and seed"),
            html.Label(
                className="field",
                children=[
                    "residents ",
                    dcc.Input(
                        id="residents",
                        type="number",
                        value=residents,
                        min=1000,
                        max=2_000_000,
                        step=1000,
                        debounce=True,
                        style={"width": "150px"},
                    ),
                ],
            ),
            html.Label(
                className="field",
                children=[
                    "seed ",
                    dcc.Input(
                        id="seed",
                        type="number",
                        value=c.seed,
                        min=0,
                        step=1,
                        debounce=True,
                        style={"width": "110px"},
                    ),
                ],
            ),
            html.H3("Run"),
            html.Div(
                className="buttons",
                children=[
                    html.Button("Step 1 day", id="step", n_clicks=0),
                    html.Button("+7 days", id="step-week", n_clicks=0),
                    html.Button("▶ Play", id="play", n_clicks=0),
                    html.Button("Restart", id="reset", n_clicks=0, className="secondary"),
                ],
            ),
            html.Div("days per tick while playing", className="slider-label"),
            dcc.Slider(id="speed", min=1, max=10, step=1, value=2, marks={1: "1", 5: "5", 10: "10"}),
            html.Div(
                f"Changing a control restarts the run at day 0 (horizon {horizon} days); the previous "
                "run's open cases stay on the chart as a dashed line. The built-in parameters are "
                "assumptions, not calibrated: read the charts as what the mechanisms do under them.",
                className="hint",
            ),
            html.Div(id="message", className="message"),
            dcc.Interval(id="ticker", interval=300, disabled=True),
        ],
    )


def main_panel() -> html.Main:
    """The right-hand panel: the day, headline numbers and the four charts."""
    graph_style = {"height": "360px"}
    config = dcc.Graph.Config(displayModeBar=False, responsive=True)
    return html.Main(
        className="main",
        children=[
            html.Div(
                className="status",
                children=[
                    html.Span("day 0", id="day", className="day"),
                    html.Span(id="kpis"),
                    html.Div(id="settings", className="settings"),
                ],
            ),
            html.Div(
                className="charts",
                children=[
                    html.Div(
                        className="card",
                        children=[
                            dcc.RadioItems(
                                id="map-metric",
                                className="map-metric",
                                options=[{"label": k.replace("_", " "), "value": k} for k in MAP_METRICS],
                                value="backlog",
                                inline=True,
                            ),
                            dcc.Graph(id="map", style={"height": "336px"}, config=config),
                        ],
                    ),
                    html.Div(
                        className="card", children=dcc.Graph(id="tiers", style=graph_style, config=config)
                    ),
                    html.Div(
                        className="card", children=dcc.Graph(id="delays", style=graph_style, config=config)
                    ),
                    html.Div(
                        className="card",
                        children=dcc.Graph(id="open-cases", style=graph_style, config=config),
                    ),
                ],
            ),
        ],
    )


def page(sid: str, scenarios: list[str], c: Controls, residents: int, horizon: int) -> html.Div:
    """The whole page for one session id."""
    return html.Div(
        [
            dcc.Store(id="session-id", data=sid),
            html.Div(
                className="header",
                children=[
                    html.H1("govsim dashboard"),
                    html.Span(id="label"),
                    html.Span(
                        "One day per step. The parameters are assumptions, not calibrated.",
                        className="note",
                    ),
                ],
            ),
            html.Div(
                className="body", children=[controls_panel(scenarios, c, residents, horizon), main_panel()]
            ),
        ]
    )
