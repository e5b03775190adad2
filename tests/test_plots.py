"""Figures: each is built from real (small) runs or hand-built tables, and what it draws is checked."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import to_rgb
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import sim
from sim.core.kinds import LEVELS
from sim.experiments.compare import run_scenarios
from sim.experiments.replicate import interval
from sim.presentation import plots

SMALL = {"population.residents": 20_000}
SCENARIOS = ["baseline", "reform"]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ledgers() -> dict[str, pd.DataFrame]:
    """Case ledgers of baseline and reform: 20,000 residents, 60 days, seed 1."""
    return {s: sim.run(s, seed=1, days=60, overrides=SMALL).cases for s in SCENARIOS}


@pytest.fixture(scope="module")
def replicated() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summaries and daily tables of baseline and reform, 2 paired replications of 40 days."""
    return run_scenarios(SCENARIOS, reps=2, seed=3, days=40, overrides=SMALL)


def _groups(ax: Axes) -> list[BarContainer]:
    """The bar groups of an axes (one per ``bar``/``barh`` call), without error-bar containers."""
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def _bars(ax: Axes) -> list[Rectangle]:
    return [p for c in _groups(ax) for p in c.patches]


def _title(ax: Axes) -> str:
    """A panel's title with the line breaks of its wrapping undone."""
    return ax.get_title().replace("\n", " ")


def _texts(fig: Figure) -> str:
    parts = [fig.get_suptitle()]
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    return " | ".join(parts)


def test_tier_shares_bars_are_the_replication_means_with_intervals(
    replicated: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    summaries, _ = replicated
    colours = plots.scenario_colours(SCENARIOS)
    fig = plots.tier_shares_figure(summaries, colours)
    ax = fig.axes[0]
    assert len(_groups(ax)) == 2  # one bar group per scenario
    for container, scen in zip(_groups(ax), SCENARIOS, strict=True):
        grp = summaries[summaries["scenario"] == scen]
        heights = [p.get_height() for p in container.patches]
        expected = [interval(grp[f"plan_share_{t}"])[0] for t in plots.TIERS]
        assert heights == pytest.approx(expected)
        assert {to_rgb(p.get_facecolor()) for p in container.patches} == {colours[scen]}
    # the legend is the figure's, under the panel, where it covers no bar
    assert ax.get_legend() is None and {t.get_text() for t in fig.legends[0].get_texts()} >= set(SCENARIOS)
    assert "tier" in ax.get_xlabel() and "share" in ax.get_ylabel() and ax.get_title()


def test_delay_ecdf_lines_are_the_sorted_delays_per_tier(ledgers: dict[str, pd.DataFrame]) -> None:
    fig = plots.delay_figure(ledgers, by="tier", max_points=10**7)
    assert [ax.get_title() for ax in fig.axes] == [f"tier: {t}" for t in LEVELS]
    for ax, tier in zip(fig.axes, LEVELS, strict=True):
        lines = ax.get_lines()
        assert len(lines) == 2 and ax.get_xscale() == "log"
        for line, scen in zip(lines, SCENARIOS, strict=True):
            c = ledgers[scen]
            c = c[(c["tier"] == tier) & c["resolved_at"].notna()]
            delay = np.sort(np.maximum((c["resolved_at"] - c["occurred_at"]).to_numpy(), plots.MIN_DELAY))
            np.testing.assert_allclose(line.get_xdata(), delay)
            y = np.asarray(line.get_ydata())
            assert y[-1] == pytest.approx(1.0) and np.all(np.diff(y) > 0)
            assert f"n={len(delay):,}" in str(line.get_label())
    assert "days" in fig.axes[0].get_xlabel() and fig.get_suptitle()


def test_delay_by_channel_takes_a_stacked_ledger_and_thins_long_lines(
    ledgers: dict[str, pd.DataFrame],
) -> None:
    stacked = pd.concat([c.assign(scenario=s) for s, c in ledgers.items()], ignore_index=True)
    fig = plots.delay_figure(stacked, by="channel", max_points=50)
    resolved = stacked[stacked["resolved_at"].notna()]
    channels = sorted(resolved["channel"].astype(str).unique())
    assert [ax.get_title() for ax in fig.axes] == [f"channel: {c}" for c in channels]
    patrol = fig.axes[channels.index("patrol")].get_lines()[0]
    assert len(patrol.get_xdata()) <= 50 and patrol.get_ydata()[-1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="by must be"):
        plots.delay_figure(ledgers, by="category")
    with pytest.raises(ValueError, match="scenario"):
        plots.delay_figure(ledgers["reform"])


@pytest.mark.parametrize("key", ["replication", "run_id"])
def test_backlog_lines_are_daily_means_and_bands_the_range(
    replicated: tuple[pd.DataFrame, pd.DataFrame], key: str
) -> None:
    _, daily = replicated
    if key == "run_id":
        daily = daily.assign(run_id=daily["scenario"] + "#" + daily["replication"].astype(str))
        daily = daily.drop(columns="replication")
    fig = plots.backlog_figure(daily)
    ax = fig.axes[0]
    lines = ax.get_lines()
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(lines) == len(bands) == 2
    for line, band, scen in zip(lines, bands, SCENARIOS, strict=True):
        per_day = daily[daily["scenario"] == scen].groupby("day")["open_cases"]
        np.testing.assert_allclose(line.get_xdata(), per_day.mean().index)
        np.testing.assert_allclose(line.get_ydata(), per_day.mean().to_numpy())
        ys = band.get_paths()[0].vertices[:, 1]
        assert ys.max() == per_day.max().max() and ys.min() == per_day.min().min()
        assert to_rgb(band.get_facecolor()[0]) == to_rgb(line.get_color())
        assert line.get_label().startswith(f"{scen} (2 runs)")
    assert "open cases" in ax.get_ylabel() and "day" in ax.get_xlabel()


def test_same_scenario_same_colour_in_every_figure(
    replicated: tuple[pd.DataFrame, pd.DataFrame], ledgers: dict[str, pd.DataFrame]
) -> None:
    summaries, daily = replicated
    colours = plots.scenario_colours(SCENARIOS)
    only_reform = daily[daily["scenario"] == "reform"]
    backlog = plots.backlog_figure(only_reform, colours).axes[0]
    tiers = plots.tier_shares_figure(summaries, colours).axes[0]
    delay = plots.delay_figure({"reform": ledgers["reform"]}, colours=colours).axes[0]
    reform_bar = to_rgb(_groups(tiers)[1].patches[0].get_facecolor())
    assert (
        to_rgb(backlog.get_lines()[0].get_color()) == reform_bar == to_rgb(delay.get_lines()[0].get_color())
    )
    assert reform_bar == colours["reform"] != colours["baseline"]
    with pytest.raises(ValueError, match="no entry"):
        plots.backlog_figure(daily, {"reform": colours["reform"]})


def test_flow_heatmap_holds_the_share_of_each_channel_per_tier(ledgers: dict[str, pd.DataFrame]) -> None:
    fig = plots.flow_figure(ledgers)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    meshes = [(ax, c) for ax in panels for c in ax.collections if isinstance(c, QuadMesh)]
    assert [ax.get_title() for ax, _ in meshes] == SCENARIOS
    for (ax, mesh), scen in zip(meshes, SCENARIOS, strict=True):
        c = ledgers[scen]
        c = c[c["discovered_at"].notna()]
        channels = sorted(c["channel"].astype(str).unique())
        expected = np.array(
            [
                [((c["channel"] == ch) & (c["tier"] == t) & c["resolved_at"].notna()).sum() for t in LEVELS]
                + [((c["channel"] == ch) & c["resolved_at"].isna()).sum()]
                for ch in channels
            ],
            dtype=float,
        )
        expected = 100 * expected / expected.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(expected.shape), expected)
        assert [t.get_text() for t in ax.get_xticklabels()] == [*LEVELS, "unresolved"]
        assert [t.get_text().split(" (")[0] for t in ax.get_yticklabels()] == channels
    assert "channel" in fig.get_suptitle()


FIT = pd.DataFrame(
    {
        "target": ["grid share, Wujiang", "grid share, Wujiang", "mean delay"],
        "metric": ["tier_share_grid", "tier_share_grid", "delay_total_mean_days"],
        "scenario": ["baseline", "reform", "reform"],
        "reported": [0.70, 0.70, 3.0],
        "tolerance": [0.05, 0.05, 1.0],
        "sim_mean": [0.53, 0.68, 2.7],
        "sim_lo": [0.52, 0.66, 2.5],
        "sim_hi": [0.54, 0.70, 2.8],
    }
)


def test_calibration_points_intervals_and_tolerance_bands() -> None:
    colours = plots.scenario_colours(SCENARIOS)
    fig = plots.calibration_figure(FIT, colours)
    assert [_title(ax) for ax in fig.axes] == ["grid share, Wujiang", "mean delay"]
    for ax, (_, rows) in zip(fig.axes, FIT.groupby("target", sort=False), strict=True):
        band = ax.patches[0]  # the tolerance band (axvspan)
        xs = band.get_patch_transform().transform(band.get_path().vertices)[:, 0]
        rep, tol = rows["reported"].iloc[0], rows["tolerance"].iloc[0]
        assert xs.min() == pytest.approx(rep - tol) and xs.max() == pytest.approx(rep + tol)
        points = [line for line in ax.get_lines() if line.get_marker() == "o"]
        rows_at = [t.get_text() for t in ax.get_yticklabels()]  # a point's y is its scenario's row
        got = {rows_at[int(p.get_ydata()[0])]: (p.get_xdata()[0], to_rgb(p.get_color())) for p in points}
        assert len(points) == len(got) == len(rows)
        for _, r in rows.iterrows():
            x, colour = got[r["scenario"]]
            assert x == pytest.approx(r["sim_mean"]) and colour == colours[r["scenario"]]
        whiskers = [c for c in ax.collections if c.get_segments()]
        spans = sorted((s[:, 0].min(), s[:, 0].max()) for c in whiskers for s in c.get_segments())
        np.testing.assert_allclose(spans, sorted(zip(rows["sim_lo"], rows["sim_hi"], strict=True)))
        assert ax.get_xlabel() == plots.kpi_label(rows["metric"].iloc[0])
    legend = {t.get_text() for t in fig.legends[0].get_texts()}
    assert legend == {"accepted range (reported ± tolerance)", "reported", "baseline", "reform"}


def test_calibration_one_sided_targets_have_one_sided_bands() -> None:
    fit = FIT.assign(direction=["at_least", "at_least", "at_most"])
    fig = plots.calibration_figure(fit)
    for ax, (lo, hi) in zip(fig.axes, [(0.65, None), (None, 4.0)], strict=True):
        band = ax.patches[0]
        xs = band.get_patch_transform().transform(band.get_path().vertices)[:, 0]
        left, right = ax.get_xlim()
        assert xs.min() == pytest.approx(left if lo is None else lo)
        assert xs.max() == pytest.approx(right if hi is None else hi)


def _tidy(index: list[str]) -> pd.DataFrame:
    rows = []
    for k, kpi in enumerate(["tier_share_grid", "delay_total_mean_days"]):
        for f, factor in enumerate(["grid.patrollers_per_grid", "dispatch.misroute_probability", "x.y"]):
            for i, idx in enumerate(index):
                rows.append({"kpi": kpi, "factor": factor, "index": idx, "value": 0.1 * (k + f + i + 1),
                             "conf": 0.01 * (f + 1)})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("index", "shown"), [(["S1", "ST"], ["S1", "ST"]), (["mu_star", "sigma", "mu"], ["mu_star"])]
)
def test_sensitivity_bars_are_the_indices_per_kpi(index: list[str], shown: list[str]) -> None:
    table = _tidy(index)
    fig = plots.sensitivity_figure(table)
    assert [_title(ax) for ax in fig.axes] == [plots.kpi_label(k) for k in table["kpi"].unique()]
    for ax, (_, sub) in zip(fig.axes, table.groupby("kpi", sort=False), strict=True):
        assert len(_groups(ax)) == len(shown)
        for container, idx in zip(_groups(ax), shown, strict=True):
            widths = [p.get_width() for p in container.patches]
            assert widths == pytest.approx(sub.loc[sub["index"] == idx, "value"].tolist())
        assert [t.get_text() for t in ax.get_yticklabels()] == list(sub["factor"].unique())
    assert ("Morris" if shown == ["mu_star"] else "Sobol") in fig.get_suptitle()
    two = pd.concat([table.assign(scenario="baseline"), table.assign(scenario="reform", value=0.5)])
    fig2 = plots.sensitivity_figure(two, scenario="reform")
    assert "reform" in fig2.get_suptitle()
    assert {p.get_width() for p in _bars(fig2.axes[0])} == {0.5}


def test_attribution_bars_are_percent_shares_with_intervals() -> None:
    shares = pd.DataFrame(
        {
            "kpi": ["delay_total_mean_days"] * 3 + ["tier_share_grid"] * 3,
            "mechanism": ["separation", "command_centre", "one_window"] * 2,
            "share_mean": [0.6, 0.3, 0.1, 0.5, 0.5, 0.0],
            "share_lo": [0.5, 0.2, 0.0, 0.4, 0.4, -0.1],
            "share_hi": [0.7, 0.4, 0.2, 0.6, 0.6, 0.1],
        }
    )
    fig = plots.attribution_figure(shares)
    assert len(fig.axes) == 2 and "mechanism" in fig.get_suptitle()
    for ax, (kpi, sub) in zip(fig.axes, shares.groupby("kpi", sort=False), strict=True):
        assert [p.get_width() for p in _bars(ax)] == pytest.approx(list(sub["share_mean"] * 100))
        assert [t.get_text() for t in ax.get_yticklabels()] == list(sub["mechanism"])
        assert _title(ax) == plots.kpi_label(str(kpi)) and "%" in ax.get_xlabel()
        err = _groups(ax)[0].errorbar
        segments = err.lines[2][0].get_segments()
        assert [s[:, 0].min() for s in segments] == pytest.approx(list(sub["share_lo"] * 100))
        assert [s[:, 0].max() for s in segments] == pytest.approx(list(sub["share_hi"] * 100))


def test_attribution_accepts_the_attribution_modules_table() -> None:
    """The attribution writes contributions and a TOTAL row; shares' intervals are derived from them."""
    shares = pd.DataFrame(
        {
            "kpi": ["delay_total_mean_days"] * 3,
            "mechanism": ["separation", "one_window", "TOTAL"],
            "contribution_mean": [-6.0, -4.0, -10.0],
            "contribution_lo": [-7.0, -5.0, -11.0],
            "contribution_hi": [-5.0, -3.0, -9.0],
            "share_mean": [0.6, 0.4, 1.0],
        }
    )
    ax = plots.attribution_figure(shares).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["separation", "one_window"]
    segments = _groups(ax)[0].errorbar.lines[2][0].get_segments()
    assert [(s[:, 0].min(), s[:, 0].max()) for s in segments] == [
        pytest.approx((50, 70)),
        pytest.approx((30, 50)),
    ]


def test_every_figure_has_titles_and_labels(
    replicated: tuple[pd.DataFrame, pd.DataFrame], ledgers: dict[str, pd.DataFrame]
) -> None:
    summaries, daily = replicated
    figs = [
        plots.tier_shares_figure(summaries),
        plots.delay_figure(ledgers),
        plots.backlog_figure(daily),
        plots.flow_figure(ledgers),
        plots.calibration_figure(FIT),
        plots.sensitivity_figure(_tidy(["S1", "ST"])),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                assert ax.get_ylabel(), _texts(fig)  # the colour scale says what it measures
                continue
            assert ax.get_xlabel(), _texts(fig)
            assert ax.get_ylabel() or [t.get_text() for t in ax.get_yticklabels()], _texts(fig)
        assert fig.get_suptitle() or fig.axes[0].get_title()
