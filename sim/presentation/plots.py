"""Figures from the project's tables (seaborn on matplotlib; no model code here).

Every function takes tables (DataFrames) and returns a :class:`matplotlib.figure.Figure`.
Scenarios keep one colour-blind-safe colour in every figure: pass the same ``colours``
mapping (from :func:`scenario_colours` over all scenarios of a study) to each function;
without it a figure colours its scenarios in order of appearance.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.core.kinds import LEVELS
from sim.core.metrics import TARGET_TIER_SHARES
from sim.experiments.uncertainty import mean_interval

PALETTE = "colorblind"
Colour = tuple[float, float, float]
Colours = Mapping[str, Colour]

#: Plain-words names (with units) of the run summary's KPIs, for axes, tables and sentences.
KPI_LABELS = {
    "cases_created": "issues that occurred (count)",
    "cases_closed": "cases closed (count)",
    "cases_open": "cases still open at the end (count)",
    "cases_dropped": "cases dropped (count)",
    "cases_timed_out": "cases closed without a resolution after waiting too long (count)",
    "cases_resolved": "cases resolved (count)",
    "resolution_rate": "share of settled cases that were resolved",
    "plan_share_grid": "share of resolved issues settled in the grid or the village (the plan's grid)",
    "plan_share_department": "share of resolved issues settled by departments (the plan's count)",
    "plan_share_enforcement": "share of resolved issues settled by enforcement (the plan's count)",
    "tier_share_grid": "share of resolved issues settled in the basic grid",
    "tier_share_village": "share of resolved issues settled by village staff",
    "structural_share_grid": "share of resolved issues that needed only the grid when they occurred (input)",
    "structural_share_village": "share of resolved issues that needed the village when they occurred (input)",
    "structural_share_department": "share of resolved issues that needed a department when they occurred "
    "(input)",
    "structural_share_enforcement": "share of resolved issues that needed enforcement when they occurred "
    "(input)",
    "tier_share_department": "share of resolved issues settled by departments",
    "tier_share_enforcement": "share of resolved issues settled by enforcement",
    "tier_distance_from_target": "distance of the tier shares from 70/20/10",
    "delay_total_mean_days": "mean delay from occurrence to resolution (days)",
    "delay_total_median_days": "median delay from occurrence to resolution (days)",
    "delay_total_p90_days": "90th-percentile delay from occurrence to resolution (days)",
    "delay_discovery_mean_days": "mean delay from occurrence to discovery (days)",
    "delay_dispatch_mean_days": "mean delay from discovery to a handling unit (days)",
    "delay_handling_mean_days": "mean handling time at the unit (days)",
    "on_site_disposal_rate": "share of enforcement cases settled at the first visit",
    "patrol_reported_share": "share of discovered issues found by patrollers",
    "professional_reported_share": "share of discovered issues found by professional-grid patrollers",
    "raised_from_below_share": "share of discovered issues raised from below",
    "completion_within_deadline_rate": "share of cases resolved within their deadline",
    "supervised_share": "share of discovered cases supervised by the centre (worked in overtime)",
    "escalations_per_case": "escalations per case",
    "bounces_per_case": "bounces per case",
    "approval_days_mean": "mean days to complete an approval (days)",
    "approval_trips_mean": "mean trips a resident makes per approval",
    "approval_completion_rate": "share of approvals completed within their deadline",
    "one_thing_days_mean": "mean days to complete a cross-department 'one thing' request (days)",
    "one_thing_steps_mean": "mean steps a 'one thing' request takes",
    "one_thing_trips_mean": "mean trips a resident makes per 'one thing' request",
    "staff_hours": "paid staff-hours including overtime (hours)",
    "overtime_hours": "overtime worked on supervised cases (hours)",
    "satisfaction_mean": "residents' mean satisfaction (0 to 1)",
    "reopened_share": "share of resolved cases reopened by a grid supervisor",
    "poor_closed_share": "share of closed cases closed on a poor resolution",
    "police_reported_share": "share of discovered cases found by grid police officers",
}
TIERS = list(TARGET_TIER_SHARES)
"""The three tiers of the 70/20/10 plan (001), the village counted in the grid."""
MIN_DELAY = 0.01
"""Smallest delay drawn on the log axis of :func:`delay_figure` (days; smaller ones are drawn here)."""


def kpi_label(kpi: str) -> str:
    """The plain-words name of a KPI (its column name when unknown)."""
    return KPI_LABELS.get(kpi, kpi.replace("_", " "))


def is_share(kpi: str) -> bool:
    """Whether a KPI is a share (shown as a percentage)."""
    tiers = kpi.startswith(("tier_share_", "plan_share_", "structural_share_"))
    return tiers or kpi.endswith(("_rate", "_share"))


def scenario_colours(scenarios: Sequence[str]) -> dict[str, Colour]:
    """One colour-blind-safe colour per scenario, the same in every figure."""
    colours = sns.color_palette(PALETTE, max(len(scenarios), 3))
    return {s: colours[i] for i, s in enumerate(scenarios)}


def _order(values: pd.Series) -> list[str]:
    return [str(v) for v in dict.fromkeys(values)]


def _colours(scenarios: Sequence[str], colours: Colours | None) -> Colours:
    if colours is None:
        return scenario_colours(scenarios)
    missing = [s for s in scenarios if s not in colours]
    if missing:
        raise ValueError(f"colours has no entry for scenario(s) {missing}")
    return colours


def _facets(n: int, ncols: int = 3, size: tuple[float, float] = (4.0, 3.2)) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` panels in rows of at most ``ncols``; unused panels removed."""
    cols = max(1, min(ncols, n))
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(size[0] * cols, size[1] * rows + 0.6), layout="constrained", squeeze=False
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def _panel_title(ax: Axes, text: str, ticks: bool = True) -> None:
    """A small panel title, wrapped so that it does not run past the panel; few x ticks
    unless ``ticks`` is false (categorical axes keep theirs)."""
    ax.set_title(textwrap.fill(text, 42), fontsize="medium")
    if ticks:
        ax.xaxis.set_major_locator(MaxNLocator(5))


def _suptitle(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to the figure's width (about 9 characters an inch)."""
    fig.suptitle(textwrap.fill(text, int(fig.get_figwidth() * 9)))


def _legend_below(fig: Figure, handles: Sequence[Any], labels: Sequence[str]) -> None:
    """One legend under the panels, where it covers no data: labels wrapped, as many columns
    as fit the figure's width (about 11 characters an inch)."""
    labels = [textwrap.fill(x, 40) for x in labels]
    longest = max((len(line) for x in labels for line in x.splitlines()), default=1)
    ncols = max(1, min(len(labels), int(fig.get_figwidth() * 11 // (longest + 4))))
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False)


def tier_shares_figure(summaries: pd.DataFrame, colours: Colours | None = None) -> Figure:
    """The plan's tier shares per scenario (mean and 95% interval across replications; over
    posterior draws, the combined interval of :mod:`sim.experiments.uncertainty`) against the
    reforms' 70/20/10 target, the village counted in the grid as 001 counts it.

    Args:
        summaries: run summaries with ``scenario`` and ``plan_share_*`` columns.
        colours: scenario -> colour (default :func:`scenario_colours` in order of appearance).
    """
    scenarios = _order(summaries["scenario"])
    colours = _colours(scenarios, colours)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    width = 0.8 / len(scenarios)
    for i, scen in enumerate(scenarios):
        grp = summaries[summaries["scenario"] == scen]
        stats_ = [mean_interval(grp, f"plan_share_{t}") for t in TIERS]
        means = [s[0] for s in stats_]
        err = [[s[0] - s[1] for s in stats_], [s[2] - s[0] for s in stats_]]
        xs = [j + (i - (len(scenarios) - 1) / 2) * width for j in range(len(TIERS))]
        ax.bar(
            xs,
            means,
            width,
            color=colours[scen],
            label=scen,
            yerr=None if any(pd.isna(e) for e in err[0]) else err,
            capsize=3,
        )
    for j, t in enumerate(TIERS):
        ax.hlines(
            TARGET_TIER_SHARES[t],
            j - 0.45,
            j + 0.45,
            colors="black",
            linestyles="dashed",
            label="reform target (001)" if j == 0 else "_nolegend_",
        )
    ax.set_xticks(range(len(TIERS)), ["grid (with village)", *TIERS[1:]])
    ax.set_ylabel("share of resolved cases")
    ax.set_xlabel("tier that resolved the case, as the 70/20/10 plan counts it")
    ax.set_ylim(0, 1)
    ax.set_title("Which tier resolves issues (bars: mean, whiskers: 95% interval)")
    _legend_below(fig, *ax.get_legend_handles_labels())
    return fig


def _stack(cases: Mapping[str, pd.DataFrame] | pd.DataFrame) -> pd.DataFrame:
    """One ledger with a ``scenario`` column, from a dict of ledgers or a stacked ledger."""
    if isinstance(cases, pd.DataFrame):
        if "scenario" not in cases.columns:
            raise ValueError("a stacked case ledger needs a 'scenario' column (or pass a dict)")
        return cases
    return pd.concat([c.assign(scenario=s) for s, c in cases.items()], ignore_index=True)


def _ecdf(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and their ECDF, thinned to at most ``max_points`` evenly spaced ranks."""
    x = np.sort(values)
    y = np.arange(1, x.size + 1) / x.size
    if x.size > max_points:
        idx = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
        x, y = x[idx], y[idx]
    return x, y


def delay_figure(
    cases: Mapping[str, pd.DataFrame] | pd.DataFrame,
    by: str = "tier",
    colours: Colours | None = None,
    max_points: int = 2000,
) -> Figure:
    """ECDF of the total delay (``resolved_at - occurred_at``, days) of resolved cases, one panel
    per tier or channel and one line per scenario.

    Args:
        cases: ``{scenario: case ledger}`` or a stacked ledger with a ``scenario`` column.
        by: ``"tier"`` (who resolved the case) or ``"channel"`` (how it was discovered).
        colours: scenario -> colour.
        max_points: most points drawn per line (the ECDF is thinned to evenly spaced ranks).
    """
    if by not in ("tier", "channel"):
        raise ValueError(f"by must be 'tier' or 'channel', got {by!r}")
    led = _stack(cases)
    delay = (led["resolved_at"] - led["occurred_at"]).to_numpy(dtype=float)
    # on a log axis a zero delay cannot be drawn: delays under MIN_DELAY are drawn at MIN_DELAY
    led = led.assign(delay=np.maximum(delay, MIN_DELAY))[np.isfinite(delay)]
    scenarios = _order(led["scenario"]) if len(led) else []
    colours = _colours(scenarios, colours)
    groups = [str(g) for g in led[by].astype(str).unique()]
    groups = [t for t in LEVELS if t in groups] if by == "tier" else sorted(groups)
    fig, axes = _facets(max(len(groups), 1))
    for ax, g in zip(axes, groups, strict=False):
        sub = led[led[by].astype(str) == g]
        for scen in scenarios:
            values = sub.loc[sub["scenario"] == scen, "delay"].to_numpy()
            if values.size:
                x, y = _ecdf(values, max_points)
                ax.plot(
                    x, y, drawstyle="steps-post", color=colours[scen], label=f"{scen} (n={values.size:,})"
                )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_title(f"{by}: {g}")
        ax.set_xlabel("delay, occurrence to resolution (days, log scale)")
        ax.set_ylabel("share of cases resolved within")
        ax.set_ylim(0, 1.02)
    # one legend for all panels (line labels keep each line's case count, for interactive use)
    _legend_below(fig, [Line2D([], [], color=colours[s]) for s in scenarios], scenarios)
    _suptitle(fig, f"How long resolved issues took, by {by} (cumulative share of cases)")
    return fig


def backlog_figure(daily: pd.DataFrame, colours: Colours | None = None) -> Figure:
    """Open cases at the end of each day: the mean across replications per scenario as a line,
    the range (min to max) across replications as a band.

    Args:
        daily: stacked daily tables with ``day``, ``open_cases``, ``scenario`` and ``replication``
            or ``run_id`` (what tells replications apart).
        colours: scenario -> colour.
    """
    rep = "replication" if "replication" in daily.columns else "run_id"
    scenarios = _order(daily["scenario"])
    colours = _colours(scenarios, colours)
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    for scen in scenarios:
        wide = daily[daily["scenario"] == scen].pivot_table(
            index="day", columns=rep, values="open_cases", aggfunc="mean"
        )
        ax.fill_between(wide.index, wide.min(axis=1), wide.max(axis=1), color=colours[scen], alpha=0.25, lw=0)
        ax.plot(wide.index, wide.mean(axis=1), color=colours[scen], label=f"{scen} ({wide.shape[1]} runs)")
    ax.set_xlabel("day of the simulation")
    ax.set_ylabel("open cases at the end of the day (count)")
    ax.set_ylim(bottom=0)
    ax.set_title("Backlog over time (line: mean across replications; band: lowest to highest)")
    _legend_below(fig, *ax.get_legend_handles_labels())
    return fig


def flow_table(cases: pd.DataFrame) -> pd.DataFrame:
    """Share of each channel's cases ending at each tier (rows sum to 1); ``unresolved`` are cases
    still open or dropped at the end."""
    tier = cases["tier"].astype(object).where(cases["resolved_at"].notna(), "unresolved")
    table = pd.crosstab(cases["channel"].astype(str), tier.astype(str), normalize="index")
    return table.reindex(columns=[*LEVELS, "unresolved"], fill_value=0.0)


def flow_figure(cases: Mapping[str, pd.DataFrame] | pd.DataFrame) -> Figure:
    """Where cases from each discovery channel end up: a heatmap per scenario of the share of a
    channel's cases resolved by each tier (or unresolved).

    Args:
        cases: ``{scenario: case ledger}`` or a stacked ledger with a ``scenario`` column.
    """
    led = _stack(cases)
    led = led[led["discovered_at"].notna()] if "discovered_at" in led.columns else led
    scenarios = _order(led["scenario"])
    fig, axes = _facets(len(scenarios), ncols=2, size=(5.0, 3.6))
    for ax, scen in zip(axes, scenarios, strict=True):
        sub = led[led["scenario"] == scen]
        table = flow_table(sub)
        counts = sub["channel"].astype(str).value_counts()
        table.index = [f"{c} (n={counts[c]:,})" for c in table.index]
        sns.heatmap(
            table * 100,
            ax=ax,
            vmin=0,
            vmax=100,
            cmap="cividis",
            annot=True,
            fmt=".0f",
            cbar=ax is axes[-1],
            cbar_kws={"label": "% of the channel's cases"},
            linewidths=0.5,
        )
        _panel_title(ax, scen, ticks=False)
        ax.tick_params(axis="x", labelrotation=20)
        ax.set_xlabel("where the case ended")
        ax.set_ylabel("how it was discovered")
    _suptitle(fig, "Flow of cases from discovery channel to resolving tier (% of each row)")
    return fig


def calibration_figure(fit: pd.DataFrame, colours: Colours | None = None) -> Figure:
    """Simulated value against each reported calibration target, one panel per target.

    Args:
        fit: one row per (target, scenario) with columns ``target`` (name of the reported figure),
            ``metric`` (the KPI it is compared with), ``scenario``, ``reported`` (the reported
            value), ``tolerance`` (accepted absolute deviation, in the metric's units), ``sim_mean``,
            ``sim_lo`` and ``sim_hi`` (simulated mean and its 95% interval across replications), and
            optionally ``direction`` (``eq``, ``at_least`` or ``at_most``: a one-sided band).
        colours: scenario -> colour.
    """
    scenarios = _order(fit["scenario"])
    colours = _colours(scenarios, colours)
    targets = _order(fit["target"])
    fig, axes = _facets(len(targets), size=(4.2, 1.9 + 0.5 * len(scenarios)))
    for ax, tgt in zip(axes, targets, strict=True):
        rows = fit[fit["target"] == tgt]
        first = rows.iloc[0]
        rep, tol = float(first["reported"]), float(first["tolerance"])
        ax.axvline(rep, color="black", lw=1.2, label="reported")
        for i, scen in enumerate(scenarios):
            for _, r in rows[rows["scenario"] == scen].iterrows():
                err = [[r["sim_mean"] - r["sim_lo"]], [r["sim_hi"] - r["sim_mean"]]]
                ax.errorbar(
                    [r["sim_mean"]], [i], xerr=err, fmt="o", color=colours[scen], capsize=3, label=scen
                )
        ax.axvline(rep - tol, alpha=0)  # keep both tolerance limits in view
        ax.axvline(rep + tol, alpha=0)
        left, right = ax.get_xlim()
        direction = str(first.get("direction", "eq"))
        lo = left if direction == "at_most" else rep - tol
        hi = right if direction == "at_least" else rep + tol
        ax.axvspan(lo, hi, color="0.85", label="accepted range (reported ± tolerance)", zorder=0)
        ax.set_xlim(left, right)
        ax.set_yticks(range(len(scenarios)), scenarios)
        ax.set_ylim(-0.7, len(scenarios) - 0.3)
        _panel_title(ax, tgt)
        ax.set_xlabel(kpi_label(str(first["metric"])))
    keep: dict[str, Any] = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        keep.update((lab, h) for lab, h in zip(labels, handles, strict=True) if lab not in keep)
    _legend_below(fig, list(keep.values()), list(keep.keys()))
    _suptitle(fig, "Calibration: simulated (dot: mean, whiskers: 95% interval) against reported figures")
    return fig


def _hbars(ax: Axes, table: pd.DataFrame, labels: list[str], hues: list[str], colours: Colours) -> None:
    """Horizontal bars of ``value`` ± ``conf`` per label (rows) and hue (side by side)."""
    h = 0.8 / len(hues)
    for i, hue in enumerate(hues):
        sub = table[table["hue"] == hue].set_index("label").reindex(labels)
        ys = np.arange(len(labels)) + (i - (len(hues) - 1) / 2) * h
        conf = sub["conf"].to_numpy(dtype=float)
        ax.barh(
            ys,
            sub["value"],
            h,
            xerr=None if np.isnan(conf).all() else conf,
            color=colours[hue],
            capsize=2,
            label=hue,
        )
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.8)


def sensitivity_figure(indices: pd.DataFrame, scenario: str | None = None) -> Figure:
    """Sensitivity indices per parameter, one panel per KPI: Morris ``mu_star`` or Sobol ``S1`` and
    ``ST``, each with its 95% confidence half-width.

    Args:
        indices: the tidy table of :func:`sim.experiments.sensitivity.analyze` (``kpi, factor, index, value,
            conf``), optionally with a ``scenario`` column.
        scenario: which scenario to show when the table holds several (default the first).
    """
    table = indices
    if "scenario" in table.columns:
        scenario = scenario or _order(table["scenario"])[0]
        table = table[table["scenario"] == scenario]
    shown = ["mu_star"] if (table["index"] == "mu_star").any() else ["S1", "ST"]
    table = table[table["index"].isin(shown)].assign(hue=lambda t: t["index"], label=lambda t: t["factor"])
    if table.empty:
        raise ValueError("indices has no mu_star, S1 or ST rows")
    kpis, factors = _order(table["kpi"]), _order(table["factor"])
    colours = dict(zip(shown, sns.color_palette(PALETTE, 6)[3:5], strict=False))
    fig, axes = _facets(len(kpis), ncols=2, size=(5.5, 1.0 + 0.45 * len(factors)))
    for ax, kpi in zip(axes, kpis, strict=True):
        _hbars(ax, table[table["kpi"] == kpi], factors, shown, colours)
        _panel_title(ax, kpi_label(kpi))
        ax.set_xlabel(
            "mean absolute elementary effect (KPI units)"
            if shown == ["mu_star"]
            else "share of the KPI's variance (0 to 1)"
        )
    method = "Morris screening" if shown == ["mu_star"] else "Sobol indices (S1 first-order, ST total)"
    if len(shown) > 1:
        _legend_below(fig, *axes[0].get_legend_handles_labels())
    of = f", {scenario}" if scenario else ""
    _suptitle(fig, f"Which parameters matter: {method}{of} (whiskers: 95% confidence)")
    return fig


def differences_figure(diffs: pd.DataFrame) -> Figure:
    """Paired differences from the reference scenario, one panel per KPI: each compared scenario
    (and parameter point) as its mean difference with its 95% bootstrap interval; shares in
    percentage points.

    Args:
        diffs: the table of :func:`sim.experiments.stats.paired_differences` (``scenario``,
            ``reference``, ``point``, ``kpi``, ``diff_mean``, ``diff_lo``, ``diff_hi``).
    """
    pairs = zip(diffs["scenario"], diffs["point"], strict=True)
    points = diffs["point"].nunique() > 1
    d = diffs.assign(label=[f"{s} p{p}" if points else str(s) for s, p in pairs])
    kpis, labels = _order(d["kpi"]), _order(d["label"])
    colour = sns.color_palette(PALETTE, 8)[0]
    fig, axes = _facets(len(kpis), size=(4.2, 1.0 + 0.4 * len(labels)))
    for ax, kpi in zip(axes, kpis, strict=True):
        sub = d[d["kpi"] == kpi].set_index("label").reindex(labels)
        scale = 100.0 if is_share(kpi) else 1.0
        mean, lo, hi = (sub[c].to_numpy(dtype=float) * scale for c in ("diff_mean", "diff_lo", "diff_hi"))
        err = np.vstack([mean - lo, hi - mean])
        ys = np.arange(len(labels))
        ax.errorbar(mean, ys, xerr=None if np.isnan(err).all() else err, fmt="o", color=colour, capsize=3)
        ax.set_yticks(ys, labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.axvline(0, color="black", lw=0.8)
        label = kpi_label(kpi)
        _panel_title(ax, label)
        unit = label[label.rfind("(") + 1 : -1] if label.endswith(")") else ""
        unit = "percentage points" if is_share(kpi) else unit
        ax.set_xlabel(f"difference ({unit})" if unit else "difference")
    ref = ", ".join(_order(d["reference"]))
    _suptitle(fig, f"Paired differences from {ref} (dot: mean; whiskers: 95% bootstrap interval)")
    return fig


def attribution_figure(shares: pd.DataFrame) -> Figure:
    """Share of a KPI's change (reform against baseline) attributed to each mechanism, with its
    95% interval, one panel per KPI.

    Args:
        shares: one row per (kpi, mechanism) with ``kpi``, ``mechanism``, ``share_mean``,
            ``share_lo`` and ``share_hi`` (fractions of the whole change; they may fall outside
            0–1 when mechanisms interact). A ``TOTAL`` mechanism row is left out; without
            ``share_lo``/``share_hi`` the interval is taken from ``contribution_lo``/``_hi`` over
            the ``TOTAL`` row's ``contribution_mean`` (as :mod:`sim.experiments.attribution`
            writes), else none.
    """
    shares = _with_share_bounds(shares[shares["mechanism"] != "TOTAL"], shares)
    kpis, mechanisms = _order(shares["kpi"]), _order(shares["mechanism"])
    colour = sns.color_palette(PALETTE, 8)[7]
    fig, axes = _facets(len(kpis), ncols=2, size=(5.5, 1.0 + 0.45 * len(mechanisms)))
    for ax, kpi in zip(axes, kpis, strict=True):
        sub = shares[shares["kpi"] == kpi].set_index("mechanism").reindex(mechanisms)
        mean = sub["share_mean"].to_numpy(dtype=float) * 100
        err = np.vstack([mean - sub["share_lo"] * 100, sub["share_hi"] * 100 - mean])
        ax.barh(
            range(len(mechanisms)), mean, xerr=None if np.isnan(err).all() else err, color=colour, capsize=3
        )
        ax.set_yticks(range(len(mechanisms)), mechanisms)
        ax.invert_yaxis()
        ax.axvline(0, color="black", lw=0.8)
        _panel_title(ax, kpi_label(kpi))
        ax.set_xlabel("% of the change attributed")
    _suptitle(fig, "What drives the change: share attributed to each mechanism (whiskers: 95% interval)")
    return fig


def _with_share_bounds(shares: pd.DataFrame, full: pd.DataFrame) -> pd.DataFrame:
    """``shares`` with ``share_lo``/``share_hi`` (derived from contributions when absent)."""
    if {"share_lo", "share_hi"} <= set(shares.columns):
        return shares
    out = shares.assign(share_lo=np.nan, share_hi=np.nan)
    if {"contribution_lo", "contribution_hi", "contribution_mean"} <= set(full.columns):
        total = full[full["mechanism"] == "TOTAL"].set_index("kpi")["contribution_mean"]
        denom = out["kpi"].map(total).astype(float)
        out["share_lo"] = np.fmin(out["contribution_lo"] / denom, out["contribution_hi"] / denom)
        out["share_hi"] = np.fmax(out["contribution_lo"] / denom, out["contribution_hi"] / denom)
    return out
