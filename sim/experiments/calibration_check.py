"""Before spending the budget: which parameters can the calibrated targets move at all?

``govsim calibrate --check`` runs a small Latin hypercube (``check.points`` points, at the
``check`` size) in the scenarios of the calibrated targets, and regresses each target's
KPI on the parameters scaled to the prior box. A parameter's effect on a target is the
change of the KPI across the parameter's whole prior range (the slope), in units of the
target's tolerance. A parameter *moves* a target when that effect is at least half a
tolerance and clearly not noise (at least two standard errors). A parameter that moves
no target cannot be identified by them: fix it at a value, or find a figure that moves
it. The screen is linear: a parameter acting only through interactions shows as weak.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiments.calibration import load_calibration
from sim.experiments.calibration_runs import Progress, RunLog, jobs_at
from sim.experiments.emulator import latin_hypercube

MOVES = 0.5
"""Effect across the prior range, in tolerances, from which a parameter moves a target."""


def effects(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slopes of ``y`` on ``x`` scaled to the unit box, and their standard errors."""
    keep = np.isfinite(y)
    u = (x[keep] - lo) / (hi - lo)
    a = np.column_stack([np.ones(len(u)), u])
    beta, *_ = np.linalg.lstsq(a, y[keep], rcond=None)
    dof = max(len(u) - a.shape[1], 1)
    sigma2 = float(np.sum((y[keep] - a @ beta) ** 2)) / dof
    cov = sigma2 * np.linalg.pinv(a.T @ a)
    return beta[1:], np.sqrt(np.maximum(np.diag(cov)[1:], 0.0))


def check(path: str | Path, folder: Path, workers: int = 1, progress: Progress | None = None) -> pd.DataFrame:
    """One row per parameter: its effect on each calibrated target (in tolerances, ``*``
    where it is within two standard errors of 0) and the targets it moves."""
    config, targets, _ = load_calibration(path)
    fitted = config.fitted(targets)
    lo = np.array([p.low for p in config.parameters], dtype=float)
    hi = np.array([p.high for p in config.parameters], dtype=float)
    c = config.check
    x = latin_hypercube(lo, hi, c.points, config.waves.seed)
    scenarios = sorted({t.scenario for t in fitted})
    metrics = sorted({t.metric for t in fitted})
    jobs = jobs_at(config, "check", x, scenarios, c, metrics, config.waves.run_seed)
    log = RunLog(folder)
    log.run(jobs, workers, progress)
    table: dict[str, list[str]] = {"parameter": [p.name for p in config.parameters]}
    moved: list[list[str]] = [[] for _ in config.parameters]
    for t in fitted:
        y = log.values([j for j in jobs if j.scenario == t.scenario], t.metric)
        beta, se = effects(x, y, lo, hi)
        size = beta / t.tolerance
        clear = np.abs(beta) >= 2.0 * se
        table[t.id] = [f"{v:+.2f}" + ("" if ok else "*") for v, ok in zip(size, clear, strict=True)]
        for i in np.flatnonzero(clear & (np.abs(size) >= MOVES)):
            moved[i].append(t.id)
    table["moves"] = [", ".join(m) if m else "no target" for m in moved]
    return pd.DataFrame(table)


__all__ = ["MOVES", "check", "effects"]
