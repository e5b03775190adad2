"""Figures from the project's tables (seaborn on matplotlib; no model code here)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.compare import interval  # noqa: E402
from sim.metrics import TARGET_TIER_SHARES  # noqa: E402

PALETTE = "colorblind"


def scenario_colours(scenarios: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour-blind-safe colour per scenario, the same in every figure."""
    colours = sns.color_palette(PALETTE, max(len(scenarios), 3))
    return {s: colours[i] for i, s in enumerate(scenarios)}


def tier_shares_figure(summaries: pd.DataFrame) -> Figure:
    """Tier shares per scenario (mean and 95% interval across replications) against the
    reforms' 70/20/10 target.

    Args:
        summaries: run summaries with ``scenario`` and ``tier_share_*`` columns.
    """
    scenarios = list(dict.fromkeys(summaries["scenario"]))
    colours = scenario_colours(scenarios)
    tiers = list(TARGET_TIER_SHARES)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    width = 0.8 / len(scenarios)
    for i, scen in enumerate(scenarios):
        grp = summaries[summaries["scenario"] == scen]
        stats_ = [interval(grp[f"tier_share_{t}"]) for t in tiers]
        means = [s[0] for s in stats_]
        err = [[s[0] - s[1] for s in stats_], [s[2] - s[0] for s in stats_]]
        xs = [j + (i - (len(scenarios) - 1) / 2) * width for j in range(len(tiers))]
        ax.bar(
            xs,
            means,
            width,
            color=colours[scen],
            label=scen,
            yerr=None if any(pd.isna(e) for e in err[0]) else err,
            capsize=3,
        )
    for j, t in enumerate(tiers):
        ax.hlines(
            TARGET_TIER_SHARES[t],
            j - 0.45,
            j + 0.45,
            colors="black",
            linestyles="dashed",
            label="reform target (001)" if j == 0 else "_nolegend_",
        )
    ax.set_xticks(range(len(tiers)), [f"{t}" for t in tiers])
    ax.set_ylabel("share of resolved cases")
    ax.set_xlabel("tier that resolved the case")
    ax.set_ylim(0, 1)
    ax.set_title("Which tier resolves issues (bars: mean, whiskers: 95% interval)")
    ax.legend(frameon=False)
    return fig
