"""``docs/calibration.md``, written from a finished calibration by ``govsim calibrate``.

Every figure in the page comes from the :class:`~sim.experiments.calibration_fit.Calibration`
it is given; the text around the tables says how to read them. A section kept between
the markers ``<!-- draws:start -->`` and ``<!-- draws:end -->`` in the existing page is
carried over unchanged (it documents the commands that run over posterior draws).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.experiments.calibration import Target
from sim.experiments.calibration_fit import Calibration
from sim.experiments.calibration_stability import parameter_stability, target_stability
from sim.experiments.emulator import CUTOFF

KEEP = re.compile(r"<!-- draws:start -->.*?<!-- draws:end -->", re.DOTALL)
BOUND = {"eq": "±", "at_least": "≥ −", "at_most": "≤ +"}


def _g(v: float) -> str:
    return "—" if pd.isna(v) else f"{v:.3g}"


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _reported(t: pd.Series | Target) -> str:
    value, tol, d = (
        (t["reported"], t["tolerance"], t["direction"])
        if isinstance(t, pd.Series)
        else (
            t.value,
            t.tolerance,
            t.direction,
        )
    )
    return f"{_g(value)} ({BOUND[d]}{_g(tol)})"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _yes(v: object) -> str:
    return "yes" if bool(v) else "**no**"


def _targets(cal: Calibration) -> list[str]:
    rows = [
        [f"`{t.id}`", t.role, t.reading, t.scenario, f"`{t.metric}`", _reported(t), t.denominator, t.source]
        for t in cal.targets
    ]
    return _table(
        ["target", "role", "reading", "scenario", "KPI", "reported (tolerance)", "of what", "source"], rows
    )


def _predictive(cal: Calibration, role: str) -> tuple[list[str], int, int]:
    fit = cal.predictive[cal.predictive["role"] == role]
    rows = [
        [
            f"`{r['target']}`",
            r["scenario"],
            _reported(r),
            f"{_g(r['sim_mean'])} [{_g(r['sim_lo'])}, {_g(r['sim_hi'])}]",
            _yes(r["within"]),
            _yes(r["covered"]),
        ]
        for _, r in fit.iterrows()
    ]
    header = [
        "target",
        "scenario",
        "reported",
        "simulated median [95% interval]",
        "within tolerance",
        "in interval",
    ]
    return _table(header, rows), int(fit["within"].sum()), len(fit)


def _identification(cal: Calibration) -> list[str]:
    rows = [
        [
            f"`{r['parameter']}`",
            f"{_g(r['prior_low'])}–{_g(r['prior_high'])}",
            f"{_g(r['median'])} [{_g(r['lo'])}, {_g(r['hi'])}]",
            f"{r['sd_ratio']:.2f}",
            r["verdict"],
        ]
        for _, r in cal.identification.iterrows()
    ]
    return _table(
        ["parameter", "prior (uniform)", "posterior median [95%]", "sd posterior / prior", "verdict"], rows
    )


def _lopo(cal: Calibration) -> list[str]:
    if cal.lopo.empty:
        return ["(no source has calibrated targets beside others')"]
    rows = [
        [
            r["left_out"],
            f"`{r['target']}`",
            f"{_g(r['reported'])} (±{_g(r['tolerance'])})",
            f"{_g(r['pred_median'])} [{_g(r['pred_lo'])}, {_g(r['pred_hi'])}]",
            _yes(r["within"]),
            _yes(r["covered"]),
        ]
        for _, r in cal.lopo.iterrows()
    ]
    return _table(
        ["left out", "target", "reported", "predicted median [95%]", "within tolerance", "in interval"], rows
    )


Stability = tuple[pd.DataFrame, pd.DataFrame]
"""The parameters' and the figures' verdicts in a fit and its rerun with other seeds."""


def _conflict(cal: Calibration) -> str:
    """What an empty not-ruled-out region means for the posterior, when it is empty."""
    if cal.nroy_share >= 0.01:
        return ""
    missed = cal.predictive[(cal.predictive["role"] == "calibrate") & ~cal.predictive["within"]]
    names = ", ".join(f"`{t}`" for t in missed["target"]) or "none in the posterior predictive"
    wide = cal.identification[cal.identification["sd_ratio"] > 1.0]["parameter"]
    spread = (
        f"; the posterior of {', '.join(f'`{p}`' for p in wide)} spreads wider than its uniform prior, "
        "its mass towards both ends of the range"
        if len(wide)
        else ""
    )
    return (
        f" No point of the prior box is consistent with every calibrated figure at once (history "
        f"matching left {100 * cal.nroy_share:.1f}% of it; missed: {names}): the posterior is then "
        f"the best compromise the box allows{spread}. Read it as the model's closest approach to the "
        "figures, not as an estimate of the parameters."
    )


def _held(stab: Stability) -> str:
    par, tgt = stab
    return (
        f"{int(par['same'].sum())} of {len(par)} parameter verdicts and {int(tgt['same'].sum())} "
        f"of {len(tgt)} figures' verdicts"
    )


def _stability(cal: Calibration, rerun: Calibration, stab: Stability) -> list[str]:
    par, tgt = stab
    par_rows = [
        [
            f"`{r['parameter']}`",
            f"{_g(r['median_a'])} / {_g(r['median_b'])}",
            f"{r['sd_ratio_a']:.2f} / {r['sd_ratio_b']:.2f}",
            f"{r['verdict_a']} / {r['verdict_b']}",
            _yes(r["same"]),
        ]
        for _, r in par.iterrows()
    ]
    tgt_rows = [
        [
            f"`{r['target']}`",
            r["role"],
            _g(r["reported"]),
            f"{_g(r['sim_a'])} / {_g(r['sim_b'])}",
            f"{'yes' if r['within_a'] else 'no'} / {'yes' if r['within_b'] else 'no'}",
            _yes(r["same"]),
        ]
        for _, r in tgt.iterrows()
    ]
    return [
        "## Robust to the model's random numbers?",
        "",
        f"The whole calibration run a second time (`--stability`), every run with other seeds "
        f"(the first seed {rerun.config.waves.run_seed:,} instead of {cal.config.waves.run_seed:,}), "
        f"the design's points drawn by the same rule. {_held(stab)} (within tolerance or not) are the "
        "same in both fits; a "
        "verdict that differs is decided by run-to-run noise, not by the figures, and is unsettled. "
        "The calibrated context and its draws are the first fit's.",
        "",
        *_table(["parameter", "median (first / second)", "sd ratio", "verdict", "same"], par_rows),
        "",
        *_table(["target", "role", "reported", "simulated median", "within tolerance", "same"], tgt_rows),
        "",
    ]


def calibration_markdown(
    cal: Calibration, command: str, minutes: float, previous: str = "", rerun: Calibration | None = None
) -> str:
    """The page, from ``cal``; ``previous`` is the page it replaces (its draws section is
    kept); ``rerun``, the same calibration with other seeds, adds the stability section."""
    c = cal.config
    stab = None if rerun is None else (parameter_stability(cal, rerun), target_stability(cal, rerun))
    ident = cal.identification
    n_id = int((ident["verdict"] == "identified").sum())
    cal_rows, cal_hit, cal_n = _predictive(cal, "calibrate")
    val_rows, val_hit, val_n = _predictive(cal, "validate")
    plan_rows, plan_hit, plan_n = _predictive(cal, "plan")
    lopo_hit = int(cal.lopo["within"].sum()) if not cal.lopo.empty else 0
    corr = (
        "; ".join(f"`{r['a']}` and `{r['b']}` {r['r']:+.2f}" for _, r in cal.correlations.iterrows())
        or "none above 0.5 in size"
    )
    checks = "; ".join(
        f"`{r['target']}` R² {_g(r['r2'])}, {_g(100 * r['coverage'])}% of held-out runs in its 95% interval"
        for _, r in cal.emulators.iterrows()
    )
    kept = KEEP.search(previous)
    ctx = Path(c.context_out).stem
    lines = [
        "# Calibration: the shared context against the reported figures",
        "",
        f"Written by `{command}` on this project's 2-core machine: {cal.runs} model runs in its run "
        f"log ({cal.failures} failed), of which this invocation did {cal.new_runs}"
        + ("" if rerun is None else f" (and {rerun.new_runs} for its rerun with other seeds, below)")
        + f" in {minutes:.0f} minute{'' if round(minutes) == 1 else 's'} (the others it resumed). "
        "Every figure below comes from that command.",
        "",
        "**In brief.** "
        f"{cal_hit} of {cal_n} calibrated figures and {val_hit} of {val_n} held-back figures lie within "
        f"tolerance in the posterior predictive runs; {plan_hit} of {plan_n} parts of the 70/20/10 plan "
        f"are reached. {n_id} of {len(ident)} parameters are identified by the figures; the others keep "
        "most of their prior uncertainty, which the answers over posterior draws carry."
        + _conflict(cal)
        + ("" if stab is None else f" Refitted with other seeds (`--stability`, below), {_held(stab)} hold."),
        "",
        "## What is fitted, and how",
        "",
        f"Only the shared context's parameters ({len(c.parameters)}, below) are fitted, once for every "
        f"scenario, starting from the `{c.base_context}` context: the mechanisms alone carry the change "
        "from before to after. The scenarios' mechanisms and the programmes' values are not fitted.",
        "",
        "- **Method**: Bayesian calibration with Gaussian-process emulators (scikit-learn), as in "
        "history matching (Vernon et al. 2010) — chosen over ABC-SMC (pyabc) because one design of "
        "model runs then serves the posterior, every leave-one-programme-out posterior and the "
        "identifiability report, within an hour on 2 cores; ABC-SMC would need thousands of runs per fit. "
        "The code: `sim/experiments/emulator.py`, `calibration_fit.py`.",
        f"- **Design**: a Latin hypercube of {c.waves.first} points over the prior box, then "
        f"{c.waves.second} points from the region the first wave's emulators did not rule out "
        f"(largest implausibility ≤ {CUTOFF:g}; it held {100 * cal.nroy_share:.1f}% of the box; when "
        "fewer points survive than the wave needs, it takes the least implausible), then "
        f"{c.waves.third} points drawn from the posterior of the emulators of those two waves "
        "(where the emulators are unsure, a figure the model misses looks less missed, so a "
        "posterior can settle where the design is thin; runs there settle it). Each "
        f"point runs {_times(c.waves.replicates)} in each scenario of the calibrated figures at "
        f"{c.evaluation.residents:,} residents for {c.evaluation.days} days, each run of a point with "
        "its own seed (the scenarios of one run share it: common random numbers), so that the "
        "emulators learn the run-to-run noise from the replicates instead of fitting one seed's "
        "noise as if it were the model.",
        "- **Likelihood**: a figure `v` with tolerance `τ` is read as observed with standard deviation "
        "`τ/2`; the emulator's own doubt adds to it; one-sided figures penalise only the wrong side.",
        f"- **Posterior**: uniform priors on the box, sampled by an ensemble MCMC (emcee) on the "
        f"emulators (effective sample size {cal.ess:,.0f}); {len(cal.draws)} equally weighted draws kept in "
        f"`{ctx}.draws.json` beside the calibrated context `{ctx}.yaml`, which holds the posterior "
        "median of each parameter.",
        f"- **Emulator check** (five-fold over the design's points, a point's replicates held out "
        f"together; all waves): {checks}.",
        f"- **Posterior predictive**: the first {c.predictive.draws} draws run once, each with its own "
        f"seed, in the scenario of every figure at {c.predictive.residents:,} residents for "
        f"{c.predictive.days} days; the intervals hold parameter and run-to-run uncertainty "
        "together. *Within tolerance*: the median lies in the figure's band; *in interval*: the "
        "reported value lies in the 95% interval.",
        "- **Resumable**: each run is appended to `runs.jsonl` in the output folder as it ends; a "
        "rerun does only what is missing. `govsim calibrate --check` screens, in a few minutes, "
        "which parameters the figures can move at all.",
        "",
        "## The figures and how each is read",
        "",
        'MODEL.md §2 ("How to read these figures") and §2b. A figure that is an input of the model '
        "is not a target (the house-building steps, 7 and 3, are set by the scenarios; the town's "
        "size by its 800+ cases a day). The 70/20/10 split is a plan counted with the village grids: "
        "it is reported as reached or not, never fitted. Beijing's figures (§2b) are from another "
        "place and channel: orders of magnitude, with wide tolerances.",
        "",
        *_targets(cal),
        "",
        "## Calibrated figures (posterior predictive)",
        "",
        *cal_rows,
        "",
        "Approval days before and the house-building days before are set mostly by their own service "
        "parameters (approval processing and the trip interval, which trade off against each other: "
        "see their correlation below; the one-thing processing time): meeting them shows those "
        "parameters are pinned, not that the model explains the figures. The on-site scale "
        "likewise sets the on-site rate.",
        "",
        "## Validation: held-back figures, predicted",
        "",
        *val_rows,
        "",
        "## Leave one programme out",
        "",
        "For each source with calibrated figures: the posterior without them (emulators), and "
        f"its prediction of them. {lopo_hit} of {len(cal.lopo)} within tolerance.",
        "",
        *_lopo(cal),
        "",
        "## The plan (001's 70/20/10, not fitted)",
        "",
        *plan_rows,
        "",
        "## Parameters: identified or not",
        "",
        f"Identified: posterior standard deviation under {0.5:g} of the prior's; weakly: under 0.8; "
        "a ratio above 1 means more spread than the uniform prior: the mass sits towards both ends "
        f"of the range. Posterior correlations: {corr}.",
        "",
        *_identification(cal),
        "",
        *([] if rerun is None or stab is None else _stability(cal, rerun, stab)),
    ]
    text = "\n".join(lines)
    return text + ("\n" + kept.group(0) + "\n" if kept else "")


__all__ = ["calibration_markdown"]
