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


def _side_by_side(
    x: pd.DataFrame, y: pd.DataFrame, keep: list[str], pairs: dict[str, str], verdict: str
) -> pd.DataFrame:
    """The ``keep`` columns of ``x``; each ``pairs`` column (name: source) from ``x`` as
    ``name_a`` and from ``y`` as ``name_b``; and whether the ``verdict`` columns agree."""
    out = x[keep].copy()
    for name, src in pairs.items():
        out[f"{name}_a"], out[f"{name}_b"] = x[src].to_numpy(), y[src].to_numpy()
    out["same"] = x[verdict].to_numpy() == y[verdict].to_numpy()
    return out


def parameter_stability(a: Calibration, b: Calibration) -> pd.DataFrame:
    """Per parameter: posterior median, spread ratio and verdict in each fit, and whether
    the verdicts agree."""
    pairs = {"median": "median", "sd_ratio": "sd_ratio", "verdict": "verdict"}
    return _side_by_side(a.identification, b.identification, ["parameter"], pairs, "verdict")


def target_stability(a: Calibration, b: Calibration) -> pd.DataFrame:
    """Per figure: the posterior predictive median in each fit, whether each lies within
    tolerance, and whether they agree."""
    pairs = {"sim": "sim_mean", "within": "within"}
    return _side_by_side(a.predictive, b.predictive, ["target", "role", "reported"], pairs, "within")


__all__ = ["RERUN_SEEDS", "parameter_stability", "target_stability"]
