"""A policy brief from an experiment store: one self-contained HTML file.

:func:`build_report` reads a store (:func:`sim.presentation.findings.load_study`) and writes, under a
title taken from the design's description (:func:`sim.presentation.executive.brief_title`), in
this order: an executive summary (:func:`sim.presentation.executive.executive_summary`), the
question (the design's description), the scenarios compared, whether each reached a steady
state (:mod:`sim.experiments.stability`), findings in plain sentences
generated from the numbers (:func:`sim.presentation.findings.findings`), a headline KPI table with 95%
intervals, the figures (PNG embedded as data URIs), a note on whether the replications suffice,
and the provenance (manifest).

Optional tables in the store add figures: ``sensitivity.parquet`` (``govsim sensitivity``),
``calibration.parquet`` (columns of :func:`sim.presentation.plots.calibration_figure`) and
``attribution.parquet`` (columns of :func:`sim.presentation.plots.attribution_figure`). There is no network
access and no external resource: styles are inline and images are data URIs.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim.errors import GovsimError
from sim.experiments.stability import unstable_note
from sim.experiments.stats import replication_advice, warnings_for
from sim.experiments.uncertainty import PARAMETERS, intervals_of
from sim.presentation import plots
from sim.presentation.comparison import ROUGH_BELOW, interval_text
from sim.presentation.executive import brief_title, executive_summary
from sim.presentation.findings import Study, findings, format_value, load_study


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _with_labels(study: Study, table: pd.DataFrame) -> pd.DataFrame:
    keys = study.res.design[["run_id", "scenario", "point"]].rename(columns={"scenario": "_scen"})
    t = table.drop(columns=["scenario", "point"], errors="ignore").merge(keys, on="run_id")
    label = [study.labels[(str(a), int(b))] for a, b in zip(t["_scen"], t["point"], strict=True)]
    return t.drop(columns=["_scen", "point"]).assign(scenario=label)


def _cases(study: Study) -> pd.DataFrame:
    """The needed ledger columns of every kept case ledger (empty when the design kept none)."""
    try:
        cases = study.res.query(
            "SELECT run_id, channel, tier, occurred_at, discovered_at, resolved_at FROM cases"
        )
    except GovsimError:
        return pd.DataFrame()
    return _with_labels(study, cases)


CAPTIONS = {
    "tiers": "Which tier resolves issues, against the reforms' 70/20/10 target.",
    "backlog": "Open cases at the end of each day: is the backlog stable or growing?",
    "delay": "How long resolved issues took, by the tier that resolved them.",
    "flow": "Where issues from each discovery channel were resolved.",
    "sensitivity": "Which parameters move the KPIs most.",
    "calibration": "The model against reported figures.",
    "attribution": "Which mechanisms account for the change.",
}
OPTIONAL: dict[str, Callable[[pd.DataFrame], Figure]] = {
    "sensitivity": plots.sensitivity_figure,
    "calibration": plots.calibration_figure,
    "attribution": plots.attribution_figure,
}


def figures(study: Study, extras: Mapping[str, Path] | None = None) -> list[tuple[str, str]]:
    """The brief's figures as (caption, data URI), in the order they appear.

    Raises:
        GovsimError: an optional table of the store cannot be drawn (it names the file).
    """
    colours = plots.scenario_colours(study.names)
    s, figs = study.summaries, []
    if all(f"plan_share_{t}" in s.columns for t in plots.TIERS):
        figs.append((CAPTIONS["tiers"], plots.tier_shares_figure(s, colours)))
    daily = study.res.daily
    if not daily.empty and "open_cases" in daily.columns:
        d = _with_labels(study, daily[["run_id", "day", "open_cases"]])
        figs.append((CAPTIONS["backlog"], plots.backlog_figure(d, colours)))
    cases = _cases(study)
    if not cases.empty:
        figs.append((CAPTIONS["delay"], plots.delay_figure(cases, "tier", colours)))
        figs.append((CAPTIONS["flow"], plots.flow_figure(cases)))
    for name, draw in OPTIONAL.items():
        path = Path((extras or {}).get(name) or study.res.path / f"{name}.parquet")
        if path.is_file():
            table = pd.read_parquet(path)
            try:
                if name == "sensitivity" and "scenario" in table.columns:  # one figure per scenario
                    for scen, sub in table.groupby("scenario", sort=False):
                        figs.append((f"{CAPTIONS[name]} ({scen})", draw(sub)))
                else:
                    figs.append((CAPTIONS[name], draw(table)))
            except (KeyError, ValueError) as exc:
                raise GovsimError(
                    f"{path}: cannot draw it ({exc}); see sim.presentation.plots.{draw.__name__}"
                ) from None
    return [(caption, _data_uri(fig)) for caption, fig in figs]


# ---- the page -------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;max-width:64rem;
margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
h3{font-size:1rem;margin-bottom:.3rem}.lead{font-size:1.1rem;color:#333}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th[scope=row]{min-width:11rem;font-weight:normal}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}.ci{color:#555;font-size:.85em}th{background:#f2f2f2}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9rem;color:#444}.note{font-size:.9rem;color:#444}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;font-size:.9rem}dt{font-weight:600}
dd{margin:0;word-break:break-all}summary{cursor:pointer}
"""
PRINT_CSS = """
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt;line-height:1.35}
.scroll{overflow:visible}table{width:100%;font-size:7.5pt;table-layout:auto}
th[scope=row]{min-width:0}td.num{white-space:normal}th,td{padding:.15rem .25rem;overflow-wrap:anywhere}
figure,tr,li{break-inside:avoid}h2,h3{break-after:avoid}figure img{max-height:24cm;border:0}
details>summary{list-style:none}}
"""
"""Print layout: the page's width, tables that wrap instead of scrolling (nothing clipped on
paper), figures and rows kept whole."""


def _caveat(study: Study) -> str:
    """What the reader must know about the parameters behind runs without posterior draws."""
    d = study.design
    try:
        context = sim.load_scenario(str(d["scenarios"][0]), context=d.get("context")).context
    except (GovsimError, KeyError, IndexError):
        context = ""
    if context.startswith("calibrated"):
        return (
            " The model runs on the calibrated context at its posterior median: the intervals show "
            "run-to-run noise only, not the parameters' uncertainty (run over posterior draws for that)."
        )
    return (
        " The model's parameters are assumptions, not yet calibrated: read differences as what the "
        "mechanisms do under those assumptions."
    )


def _scenarios_section(study: Study) -> str:
    d = study.design
    items = []
    for scen in dict.fromkeys(str(x) for x in d.get("scenarios", [])):
        try:
            desc = sim.load_scenario(scen, context=d.get("context")).description
        except GovsimError:
            desc = ""
        items.append(f"<li><b>{escape(Path(scen).stem)}</b>{': ' + escape(desc) if desc else ''}</li>")
    setup = [f"{d.get('days', '?')} simulated days", f"{d.get('replications', '?')} paired replications"]
    if d.get("context"):
        setup.append(f"context {d['context']}")
    if study.draws:
        setup.append(f"each under {study.draws} posterior draws of the context's calibrated parameters")
    if d.get("overrides"):
        setup.append("fixed settings " + ", ".join(f"{k} = {v}" for k, v in d["overrides"].items()))
    if d.get("parameters"):
        setup.append("varied " + ", ".join(d["parameters"]))
    if study.pooled_points > 1:
        setup.append(f"figures averaged over {study.pooled_points} sampled parameter points")
    ref = f"Differences are taken against <b>{escape(study.reference)}</b>."
    return f"<ul>{''.join(items)}</ul><p>{escape('; '.join(setup))}. {ref}</p>"


def _steady_section(study: Study) -> str:
    """Whether every scenario reached a steady state, and for each that did not, how its stocks grew."""
    t = study.steady
    if t.empty or not t["judged"].any():
        return (
            "<p>The runs carry no steady-state verdict (too short after the warm-up, or stored by "
            "older code).</p>"
        )
    days, setting = study.design.get("days"), study.design.get("warmup", "auto")
    lo, hi = t["warmup_days"].min(), t["warmup_days"].max()
    warm = f"{lo:.0f}" if lo == hi else f"{lo:.0f} to {hi:.0f}"
    how = "chosen by MSER-5 run by run" if setting == "auto" else "set by the design"
    head = (
        f"<p>The rates, shares and delays count what was observed (cases resolved, settled or "
        f"discovered) after each run's warm-up ({how}; {warm} days on average per scenario). A trend "
        "test then asks whether open cases or any unit's backlog still grew after it.</p>"
    )
    bad = t[t["unstable"]]
    if bad.empty:
        return head + "<p>Every scenario reached a steady state: no stock grows after the warm-up.</p>"
    notes = "".join(f"<li>{escape(unstable_note(r, days))}</li>" for r in bad.to_dict("records"))
    return head + f"<ul class='unstable'>{notes}</ul>"


def _kpi_table(study: Study) -> str:
    t = intervals_of(study.summaries, study.kpis)
    head = "".join(
        f"<th>{escape(n).replace(' (', '<br>(')}"
        + ("<br><span class='ci'>(no steady state)</span>" if n in study.unstable else "")
        + "</th>"
        for n in study.names
    )
    rows = []
    for kpi in study.kpis:
        cells = []
        for name in study.names:
            hit = t[(t["kpi"] == kpi) & (t["scenario"] == name)]
            if hit.empty:  # every run of this scenario (at this point) failed
                cells.append("<td class='num'>–</td>")
                continue
            r = hit.iloc[0]
            ci = interval_text(kpi, r["lo"], r["hi"]) if r["n"] >= 2 and math.isfinite(r["lo"]) else ""
            mean = escape(format_value(kpi, r["mean"]))
            source = f"<br><span class='ci'>{r['dominant']}</span>" if r.get("dominant") else ""
            cells.append(f"<td class='num'>{mean}<br><span class='ci'>{escape(ci)}</span>{source}</td>")
        rows.append(f"<tr><th scope='row'>{escape(plots.kpi_label(kpi))}</th>{''.join(cells)}</tr>")
    note = (
        "Mean across replications and, below it, [its 95% t-interval], cut at the natural limits 0 and "
        "100%; shares in percent."
    )
    if study.draws:
        note = (
            f"Mean over {study.draws} posterior draws and, below it, [its 95% interval combining the "
            "parameter uncertainty (the draws) and run-to-run noise (the replications within each)], "
            "cut at the natural limits 0 and 100%, and which of the two dominates (parameters or "
            "runs); shares in percent."
        )
    return (
        f"<div class='scroll'><table id='headline'><thead><tr><th>KPI</th>{head}</tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table></div><p class='note'>{escape(note)}</p>"
    )


def _draws_adequacy(study: Study) -> str:
    """Over posterior draws: which source dominates the headline figures' intervals."""
    t = intervals_of(study.summaries, study.kpis)
    judged = t[t["dominant"] != ""]
    by_params = int((judged["dominant"] == PARAMETERS).sum())
    reps = study.design.get("replications", "?")
    return (
        f"<p>{study.draws} posterior draws × {reps} replications per scenario. Parameter uncertainty "
        f"dominates the interval of {by_params} of {len(judged)} headline figures: more replications "
        "would not narrow those, a sharper calibration would; run-to-run noise dominates the other "
        f"{len(judged) - by_params}, which more replications would narrow.</p>" + _failed(study)
    )


def _failed(study: Study) -> str:
    failed = study.res.runs[study.res.runs["status"] != "ok"]
    if not len(failed):
        return ""
    return f"<p>{len(failed)} of {len(study.res.runs)} runs did not finish and are left out.</p>"


def _adequacy(study: Study, precision: float) -> str:
    if study.draws:
        return _draws_adequacy(study)
    advice = replication_advice(study.summaries, study.kpis, rel_half_width=precision)
    advice["kpi"] = advice["kpi"].map(plots.kpi_label)
    lines = warnings_for(advice)
    n = int(study.summaries.groupby("scenario").size().min())
    if not lines:
        text = (
            f"<p>{n} replications per scenario: every headline figure's 95% interval is within "
            f"±{precision:.0%} of its mean.</p>"
        )
    else:
        needed = advice["needed"].max()
        most = f" The least precise would need about {needed:,.0f} in all." if math.isfinite(needed) else ""
        text = (
            f"<p>{n} replications per scenario: {len(lines)} of {len(advice)} headline figures have a 95% "
            f"interval wider than ±{precision:.0%} of their mean.{most}</p><details><summary>Which "
            "figures, and how many more replications would do</summary><ul>"
            + "".join(f"<li>{escape(w)}</li>" for w in lines)
            + "</ul></details>"
        )
    if n < ROUGH_BELOW:
        text += (
            f"<p>With only {n} replications the paired bootstrap intervals are rough (they cannot be "
            "wider than the spread of the observed differences); treat the findings as indicative.</p>"
        )
    return text + _failed(study)


def _provenance(study: Study) -> str:
    m = study.res.manifest
    rows = {
        "experiment": m.get("experiment"),
        "govsim version (runs)": m.get("package_version"),
        "git commit": m.get("git_commit") or "not recorded (not run from a git checkout)",
        "design hash": m.get("design_hash"),
        "root seed": m.get("root_seed"),
        "replication seeds": ", ".join(str(x) for x in m.get("replication_seeds", [])),
        "runs": f"{m.get('runs')} ({m.get('status')}, backend {m.get('backend')})",
        "run between": f"{m.get('started_at')} and {m.get('finished_at')}",
        "store": str(study.res.path),
        "brief written": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC by govsim {sim.__version__}",
    }
    return (
        "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in rows.items()) + "</dl>"
    )


def build_report(
    experiment_path: str | Path,
    reference: str | None = None,
    precision: float = 0.05,
    extras: Mapping[str, Path] | None = None,
) -> str:
    """The policy brief of an experiment as one self-contained HTML page.

    Args:
        experiment_path: the store folder, or an experiment name under ``results/``.
        reference: scenario the others are compared with (default: the design's first).
        precision: target half-width of the 95% intervals, relative to the mean, for the
            replication note.
        extras: tables kept outside the store, by name: ``calibration`` (the fit table of
            ``govsim calibrate``, ``fit.parquet``) and ``attribution`` (``shares.parquet`` of
            ``govsim attribute``); they replace ``<store>/<name>.parquet``.

    Returns:
        The HTML text (UTF-8; no external resources).

    Raises:
        GovsimError: no store, no finished runs, or an unknown reference scenario.
    """
    study = load_study(experiment_path, reference)
    name = study.design.get("name") or study.res.manifest.get("experiment") or study.res.path.name
    title = brief_title(study)
    question = study.design.get("description") or "The design gives no description."
    found = (
        "".join(
            f"<h3>{escape(head)}</h3><ul>{''.join(f'<li>{escape(x)}</li>' for x in lines)}</ul>"
            for head, lines in findings(study)
        )
        or "<p>Only one scenario was run, so there is nothing to compare.</p>"
    )
    figs = "".join(
        f"<figure><img src='{uri}' alt='{escape(cap)}'><figcaption>{escape(cap)}</figcaption></figure>"
        for cap, uri in figures(study, extras)
    )
    summary = "".join(f"<li>{escape(x)}</li>" for x in executive_summary(study))
    sections = [
        ("In brief", f"<ul class='lead'>{summary}</ul>"),
        ("The question", f"<p class='lead'>{escape(question)}</p>"),
        ("Scenarios compared", _scenarios_section(study)),
        ("Did every scenario settle?", _steady_section(study)),
        ("Findings", found),
        ("Headline figures", _kpi_table(study)),
        ("Figures", figs or "<p>The store holds no tables to draw.</p>"),
        ("Are there enough replications?", _adequacy(study, precision)),
        ("Provenance", _provenance(study)),
    ]
    body = "".join(f"<section><h2>{escape(h)}</h2>{c}</section>" for h, c in sections)
    carried = (
        (study.res.path / "calibration.parquet").is_file()
        or bool((extras or {}).get("calibration"))
        or study.draws > 0  # runs over posterior draws carry the calibration's uncertainty
    )
    caveat = "" if carried else _caveat(study)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Policy brief: {escape(title)}</title><style>{CSS}{PRINT_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class='note'>Policy brief of the experiment {escape(str(name))}: "
        "simulation results from govsim, an agent-based model of grassroots-governance "
        f"reforms.{escape(caveat)}</p>{body}</body></html>\n"
    )


__all__: Sequence[str] = ["build_report", "figures"]
