"""Plotly figures of a :class:`~sim.presentation.dashboard.state.View`, as plain dicts.

Plain dicts (the JSON that plotly.js draws) skip plotly's Python-side validation, which
would cost more than a day's step; the browser draws them the same. Each function is
pure: a view in, a figure out.
"""

from __future__ import annotations

import math
from typing import Any

from sim.presentation.dashboard.state import MAP_METRICS, View

Figure = dict[str, Any]

TIER_COLOURS = {"grid": "#0173b2", "department": "#de8f05", "enforcement": "#029e73"}
"""Colour-blind-safe colours (seaborn's "colorblind" palette, as in :mod:`sim.presentation.plots`)."""

SERIES_COLOURS = ("#333333", "#949494", "#0173b2", "#de8f05", "#029e73")
DELAY_COLOURS = {"total": "#333333", "discovery": "#cc78bc", "dispatch": "#ca9161", "handling": "#56b4e9"}
_MARGIN = {"l": 50, "r": 20, "t": 40, "b": 40}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "margin": _MARGIN,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "uirevision": "keep",  # keep zoom and hidden series across updates
        "font": {"family": "system-ui, sans-serif", "size": 11},
        **extra,
    }


def _over_time(data: list[dict[str, Any]], view: View, title: str, unit: str) -> Figure:
    """Line series against the day, from day 0 to the current day (at least 10), legend below."""
    return {
        "data": data,
        "layout": _layout(
            title,
            xaxis={"title": {"text": "day"}, "range": [0, max(view.day, 10)], "gridcolor": "#eee"},
            yaxis={"title": {"text": unit}, "rangemode": "tozero", "gridcolor": "#eee"},
            legend={"orientation": "h", "y": -0.2},
        ),
    }


def map_figure(view: View) -> Figure:
    """A heatmap of the grids, town by town (rows: villages; columns: grids of a village)."""
    gm = view.grid_map
    gpv = next((i for i, lab in enumerate(gm.x_labels) if lab == ""), len(gm.x_labels))
    towns = [
        {
            "x": first + (gpv - 1) / 2,
            "y": 1.0,
            "xref": "x",
            "yref": "paper",
            "yanchor": "bottom",
            "text": f"town {t + 1}",
            "showarrow": False,
        }
        for first, t in gm.towns
    ]
    hover = [
        [
            f"grid {g} · village {r + 1} · town {c // (gpv + 1) + 1}" if g >= 0 else ""
            for c, g in enumerate(row)
        ]
        for r, row in enumerate(gm.grid)
    ]
    return {
        "data": [
            {
                "type": "heatmap",
                "z": gm.z,
                "text": hover,
                "hovertemplate": "%{text}<br>%{z:.0f} cases<extra></extra>",
                "colorscale": "YlOrRd",
                "reversescale": True,  # plotly's YlOrRd runs dark to light; more cases, darker
                "zmin": 0,
                "zmax": gm.zmax,
                "xgap": 1,
                "ygap": 1,
                "colorbar": {"title": {"text": "cases", "side": "right"}, "thickness": 12},
                "hoverongaps": False,
            }
        ],
        "layout": _layout(
            f"Grids coloured by {MAP_METRICS[gm.metric]}",
            xaxis={
                "tickmode": "array",
                "tickvals": list(range(len(gm.x_labels))),
                "ticktext": gm.x_labels,
                "title": {"text": "grid within its village"},
                "showgrid": False,
                "zeroline": False,
            },
            yaxis={
                "tickmode": "array",
                "tickvals": list(range(len(gm.y_labels))),
                "ticktext": [str(i + 1) for i in range(len(gm.y_labels))],
                "title": {"text": "village"},
                "autorange": "reversed",
                "showgrid": False,
                "zeroline": False,
            },
            annotations=towns if len(towns) > 1 else [],
            margin={**_MARGIN, "t": 60 if len(towns) > 1 else 40},
        ),
    }


def tier_figure(view: View) -> Figure:
    """Share of resolved cases per tier so far, against the reforms' 70/20/10 aim."""
    tiers = list(view.tier_shares)
    shares = [None if math.isnan(v) else v for v in view.tier_shares.values()]
    labels = [
        f"{t}<br><b>{'–' if v is None else f'{v:.0%}'}</b> (aim {view.targets[t]:.0%})"
        for t, v in zip(tiers, shares, strict=True)
    ]
    n = sum(view.tier_counts.values())
    return {
        "data": [
            {
                "type": "bar",
                "x": labels,
                "y": shares,
                "marker": {"color": [TIER_COLOURS.get(t, "#888") for t in tiers]},
                "name": "so far",
                "customdata": [view.tier_counts[t] for t in tiers],
                "hovertemplate": "%{y:.1%} (%{customdata:,} cases)<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": labels,
                "y": [view.targets[t] for t in tiers],
                "marker": {
                    "symbol": "line-ew-open",
                    "size": 46,
                    "color": "black",
                    "line": {"width": 3, "color": "black"},
                },
                "name": "aim 70/20/10",
                "hovertemplate": "aim: %{y:.0%}<extra></extra>",
            },
        ],
        "layout": _layout(
            f"Which tier resolves issues ({n:,} resolved so far)",
            yaxis={"range": [0, 1.03], "tickformat": ".0%", "gridcolor": "#eee"},
            showlegend=True,
            legend={"orientation": "h", "y": -0.2},
        ),
    }


def delay_figure(view: View) -> Figure:
    """Delays of the cases resolved each day (trailing means), by component."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": view.days,
            "y": [None if math.isnan(v) else v for v in view.delays[k]],
            "name": k,
            "line": {"color": DELAY_COLOURS[k], "width": 3 if k == "total" else 1.5},
        }
        for k in view.delays
    ]
    return _over_time(data, view, "Delays of cases resolved (7-day mean, days)", "days")


def open_cases_figure(view: View) -> Figure:
    """Day-end open cases and where they wait; the previous run's open cases dashed."""
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": view.days,
            "y": ys,
            "name": name,
            "line": {"color": SERIES_COLOURS[i % len(SERIES_COLOURS)], "width": 3 if i == 0 else 1.5},
        }
        for i, (name, ys) in enumerate(view.open_series.items())
    ]
    if view.previous is not None:
        label, ys = view.previous
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": list(range(1, len(ys) + 1)),
                "y": ys,
                "name": "open cases, previous settings",
                "hovertext": label,
                "line": {"color": "#d55e00", "dash": "dash", "width": 2},
            }
        )
    return _over_time(data, view, "Open cases over time (day end)", "cases")
