"""Is a calibration robust to the model's random numbers? The same calibration refitted
with other seeds for every run (``govsim calibrate --stability``), set beside the first.

A design point's runs differ only in their seeds from one fit to the other; so do the
posterior predictive runs. Where a verdict (a parameter identified or not, a figure within
tolerance or not) differs between the two fits, it is decided by run-to-run noise, not by
the figures, and is reported as unsettled.
"""

from __future__ import annotations

import pandas as pd

from sim.experiments.calibration_fit import Calibration

RERUN_SEEDS = 1_000_000
"""How far the rerun's first seed lies from the first fit's (no seed is shared)."""


def parameter_stability(a: Calibration, b: Calibration) -> pd.DataFrame:
    """Per parameter: posterior median, spread ratio and verdict in each fit, and whether
    the verdicts agree."""
    x, y = a.identification, b.identification
    return pd.DataFrame(
        {
            "parameter": x["parameter"],
            "median_a": x["median"],
            "median_b": y["median"],
            "sd_ratio_a": x["sd_ratio"],
            "sd_ratio_b": y["sd_ratio"],
            "verdict_a": x["verdict"],
            "verdict_b": y["verdict"],
            "same": x["verdict"].to_numpy() == y["verdict"].to_numpy(),
        }
    )


def target_stability(a: Calibration, b: Calibration) -> pd.DataFrame:
    """Per figure: the posterior predictive median in each fit, whether each lies within
    tolerance, and whether they agree."""
    x, y = a.predictive, b.predictive
    return pd.DataFrame(
        {
            "target": x["target"],
            "role": x["role"],
            "reported": x["reported"],
            "sim_a": x["sim_mean"],
            "sim_b": y["sim_mean"],
            "within_a": x["within"],
            "within_b": y["within"],
            "same": x["within"].to_numpy() == y["within"].to_numpy(),
        }
    )


__all__ = ["RERUN_SEEDS", "parameter_stability", "target_stability"]
