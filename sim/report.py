"""A policy brief from an experiment store: one self-contained HTML file.

:func:`build_report` reads a store (:func:`sim.results.open`) and writes, in this order: the
question (the design's description), the scenarios compared, findings in plain sentences
generated from the numbers, a headline KPI table with 95% intervals, the figures (PNG embedded
as data URIs), a note on whether the replications suffice, and the provenance (manifest).

A finding says a scenario *changed* a KPI only when the 95% paired bootstrap interval of the
difference (:func:`sim.stats.paired_differences`) excludes zero; otherwise it says the difference
is not distinguishable from zero with that many replications. Designs with many parameter points
(samplers) are summarised per scenario, averaged over the points of each replication (still
paired: every scenario runs the same points with the same seeds).

Optional tables in the store add figures: ``sensitivity.parquet`` (``govsim sensitivity``),
``calibration.parquet`` (columns of :func:`sim.plots.calibration_figure`) and
``attribution.parquet`` (columns of :func:`sim.plots.attribution_figure`). There is no network
access and no external resource: styles are inline and images are data URIs.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

import sim
import sim.results
from sim import plots
from sim.errors import GovsimError
from sim.metrics import TARGET_TIER_SHARES
from sim.stats import kpi_intervals, paired_differences, replication_advice, warnings_for

#: KPIs of the headline table and the findings, when the store has them.
HEADLINE = (
    "tier_share_grid",
    "tier_share_department",
    "tier_share_enforcement",
    "delay_total_mean_days",
    "delay_total_p90_days",
    "on_site_disposal_rate",
    "completion_within_deadline_rate",
    "approval_days_mean",
    "staff_hours",
    "satisfaction_mean",
)
#: With more parameter points than this, a design is summarised per scenario (points averaged).
MAX_POINTS = 6
KEYS = ("run_id", "scenario", "point", "replication", "seed")
MINUS = "\u2212"
Row = Mapping[Hashable, Any]


# ---- numbers as text ------------------------------------------------------------------------------


def _is_share(kpi: str) -> bool:
    return kpi.startswith("tier_share_") or kpi.endswith(("_rate", "_share"))


def _sig(x: float) -> str:
    """About three significant digits, thousands separated, with a true minus sign."""
    a = abs(x)
    s = f"{a:,.0f}" if a >= 100 else f"{a:.1f}" if a >= 10 else f"{a:.2f}" if a >= 1 else f"{a:#.3g}"
    return (MINUS if x < 0 and s.strip("0.,") else "") + s


def _unit(kpi: str) -> str:
    """The unit written after a KPI's numbers ('' for shares, counts and plain numbers)."""
    label = plots.kpi_label(kpi)
    unit = label[label.rfind("(") + 1 : -1] if label.endswith(")") else ""
    return f" {unit}" if unit in ("days", "hours") else ""


def format_value(kpi: str, x: float) -> str:
    """A KPI value as shown in the brief: shares as percentages, others to about 3 digits."""
    if not math.isfinite(x):
        return "–"
    x += 0.0  # -0.0 -> 0.0, so that a zero never shows a minus sign
    if _is_share(kpi):
        return f"{x * 100:.1f}%".replace("-", MINUS)
    return _sig(x)


def format_diff(kpi: str, d: float) -> str:
    """A difference (or interval bound) with its sign; shares in percentage points."""
    if not math.isfinite(d):
        return "–"
    if _is_share(kpi):  # percentage points to one decimal, more digits if that would show 0.0
        text = f"{abs(d) * 100:.1f}"
        text = (MINUS if d < 0 else "") + (f"{abs(d) * 100:#.2g}" if text == "0.0" else text)
    else:
        text = _sig(d)
    return text if text.startswith(MINUS) or not d else "+" + text


def _noun(kpi: str) -> str:
    label = plots.kpi_label(kpi)
    return label[: label.rfind(" (")] if label.endswith(")") else label


# ---- reading the store ----------------------------------------------------------------------------


@dataclass
class Study:
    """An experiment store prepared for the brief: runs labelled, summaries keyed by label."""

    res: sim.results.Results
    design: dict[str, Any]
    labels: dict[tuple[str, int], str]
    summaries: pd.DataFrame
    kpis: list[str]
    reference: str
    pooled_points: int

    @property
    def names(self) -> list[str]:
        """Labels of what is compared, in design order."""
        return list(dict.fromkeys(self.labels.values()))


def _point_labels(design: pd.DataFrame) -> tuple[dict[tuple[str, int], str], int]:
    """(scenario, point) -> label, and how many points are pooled per label (1 if none)."""
    params = [c for c in design.columns if c not in KEYS]
    pts = design.drop_duplicates(["scenario", "point"])
    n_points = pts["point"].nunique()
    pooled = n_points > MAX_POINTS
    labels = {}
    for row in pts.to_dict("records"):
        label = str(row["scenario"])
        if n_points > 1 and not pooled:
            label += " (" + ", ".join(f"{p.split('.')[-1]}={row[p]}" for p in params) + ")"
        labels[(str(row["scenario"]), int(row["point"]))] = label
    return labels, n_points if pooled else 1


def load_study(experiment_path: str | Path, reference: str | None = None) -> Study:
    """Open a store and key its finished runs by label (scenario, or scenario and point).

    Raises:
        GovsimError: no store, no finished runs, or an unknown reference scenario.
    """
    res = sim.results.open(experiment_path)
    s = res.summaries
    if s.empty:
        raise GovsimError(f"{res.path}: no finished runs to report on; run govsim batch first")
    design_file = res.path / "design.json"
    design = json.loads(design_file.read_text()) if design_file.is_file() else {}
    labels, pooled = _point_labels(res.design)
    label = [labels[(str(a), int(b))] for a, b in zip(s["scenario"], s["point"], strict=True)]
    s = s.assign(scenario=label)
    kpis = [k for k in s.columns if k not in KEYS]
    if pooled > 1:
        s = s.groupby(["scenario", "replication"], sort=False)[kpis].mean().reset_index()
    s = s.assign(point=0)
    headline = [k for k in HEADLINE if k in kpis] or kpis
    scenarios = list(dict.fromkeys(str(x) for x in res.design["scenario"]))
    ref = reference or scenarios[0]
    if ref not in scenarios:
        raise GovsimError(
            f"--reference: {ref!r} is not a scenario of this experiment; choose from {scenarios}"
        )
    return Study(res, design, labels, s, headline, ref, pooled)


# ---- findings -------------------------------------------------------------------------------------


def finding_sentence(kpi: str, row: Row, name: str, ref: str) -> str:
    """One plain sentence about one paired difference, claiming a change only when it is clear.

    Args:
        kpi: the KPI compared.
        row: a row of :func:`sim.stats.paired_differences` (``n_pairs``, ``mean_reference``,
            ``mean_scenario``, ``diff_mean``, ``diff_lo``, ``diff_hi``).
        name: what is compared (the scenario's label).
        ref: what it is compared with.

    Returns:
        "X raised/cut the ... (paired difference ..., 95% interval ...)." when the interval excludes
        zero (or every paired difference is the same non-zero amount); otherwise a sentence saying
        the difference is not distinguishable from zero with that many replications.
    """
    n, noun, unit = int(row["n_pairs"]), _noun(kpi), _unit(kpi)
    d, lo, hi = row["diff_mean"], row["diff_lo"], row["diff_hi"]
    fr, to = format_value(kpi, row["mean_reference"]), format_value(kpi, row["mean_scenario"])
    reps = f"{n} replication{'s' if n != 1 else ''}"
    every = "both replications" if n == 2 else f"all {reps}"
    subject = name[:1].upper() + name[1:]
    verb = "raised" if d > 0 else "cut"
    pp = " percentage points" if _is_share(kpi) else unit
    if n == 0:
        return f"The {noun} has no value in the paired runs of {name} and {ref}, so it cannot be compared."
    if n < 2:
        return (
            f"The {noun} was {fr}{unit} under {ref} and {to}{unit} under {name}; with 1 paired "
            "replication no interval can be given, so this is not evidence of a difference."
        )
    if not (math.isfinite(lo) and math.isfinite(hi)):  # all paired differences were equal
        if d == 0:
            return (
                f"The difference in the {noun} between {name} and {ref} is not distinguishable from zero "
                f"with {reps}: the two gave identical results in {every} (mean {fr}{unit})."
            )
        return (
            f"{subject} {verb} the {noun} from {fr} to {to}{unit}, by the same amount in {every} "
            f"(paired difference {format_diff(kpi, d)}{pp})."
        )
    if lo > 0 or hi < 0:
        return (
            f"{subject} {verb} the {noun} from {fr} to {to}{unit} (paired difference "
            f"{format_diff(kpi, d)}{pp}, 95% interval {format_diff(kpi, lo)} to {format_diff(kpi, hi)})."
        )
    return (
        f"The difference in the {noun} between {name} ({to}{unit}) and {ref} ({fr}{unit}) is not "
        f"distinguishable from zero with {reps} (paired difference {format_diff(kpi, d)}{pp}, "
        f"95% interval {format_diff(kpi, lo)} to {format_diff(kpi, hi)})."
    )


def _target_sentence(name: str, row: Row) -> str:
    """Where the grid share stands against the reforms' 70% target."""
    target = TARGET_TIER_SHARES["grid"]
    m, lo, hi = row["mean"], row["lo"], row["hi"]
    share = f"{format_value('tier_share_grid', m)} of resolved issues were settled in the grid"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"Under {name}, {share} (target {target:.0%}; no interval with one replication)."
    where = "below" if hi < target else "above" if lo > target else "not distinguishable from"
    return (
        f"Under {name}, {share} (95% interval {format_value('tier_share_grid', lo)} to "
        f"{format_value('tier_share_grid', hi)}), {where} the reforms' {target:.0%} target."
    )


def _clear(row: Row) -> bool:
    """Whether a paired difference is clearly not zero (what :func:`finding_sentence` calls a change)."""
    if row["n_pairs"] < 2:
        return False
    if not (math.isfinite(row["diff_lo"]) and math.isfinite(row["diff_hi"])):
        return bool(row["diff_mean"] != 0 and math.isfinite(row["diff_mean"]))
    return bool(row["diff_lo"] > 0 or row["diff_hi"] < 0)


def findings(study: Study) -> list[tuple[str, list[str]]]:
    """Sentences per comparison (each scenario against the reference, point by point).

    Returns:
        ``(heading, sentences)`` pairs: clear changes first, then the rest, in KPI order.
    """
    s, out = study.summaries, []
    ref_of = {lab: study.labels.get((study.reference, p), "") for (_, p), lab in study.labels.items()}
    for name in study.names:
        ref = ref_of[name]
        if name == ref or ref not in set(s["scenario"]):
            continue
        pair = s[s["scenario"].isin([ref, name])]
        diffs = paired_differences(pair, study.kpis, reference=ref)
        rows = diffs.to_dict("records")
        ordered = [r for r in rows if _clear(r)] + [r for r in rows if not _clear(r)]
        out.append(
            (
                f"{name[:1].upper()}{name[1:]} compared with {ref}",
                [finding_sentence(r["kpi"], r, name, ref) for r in ordered],
            )
        )
    if "tier_share_grid" in study.kpis:
        grid = kpi_intervals(s, ["tier_share_grid"]).to_dict("records")
        out.append(("Against the 70/20/10 target", [_target_sentence(r["scenario"], r) for r in grid]))
    return out


# ---- figures --------------------------------------------------------------------------------------


def _data_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _with_labels(study: Study, table: pd.DataFrame) -> pd.DataFrame:
    keys = study.res.design[["run_id", "scenario", "point"]].rename(columns={"scenario": "_scen"})
    t = table.drop(columns=["scenario"], errors="ignore").merge(keys, on="run_id")
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
    if all(f"tier_share_{t}" in s.columns for t in plots.TIERS):
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
                raise GovsimError(f"{path}: cannot draw it ({exc}); see sim.plots.{draw.__name__}") from None
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
    if d.get("overrides"):
        setup.append("fixed settings " + ", ".join(f"{k} = {v}" for k, v in d["overrides"].items()))
    if d.get("parameters"):
        setup.append("varied " + ", ".join(d["parameters"]))
    if study.pooled_points > 1:
        setup.append(f"figures averaged over {study.pooled_points} sampled parameter points")
    ref = f"Differences are taken against <b>{escape(study.reference)}</b>."
    return f"<ul>{''.join(items)}</ul><p>{escape('; '.join(setup))}. {ref}</p>"


def _bounds(kpi: str, lo: float, hi: float) -> str:
    """An interval as text, cut at the KPI's natural limits (every KPI is >= 0; shares <= 100%)."""
    lo, hi = max(lo, 0.0), min(hi, 1.0) if _is_share(kpi) else hi
    return f"[{format_value(kpi, lo)}, {format_value(kpi, hi)}]"


def _kpi_table(study: Study) -> str:
    t = kpi_intervals(study.summaries, study.kpis)
    head = "".join(f"<th>{escape(n).replace(' (', '<br>(')}</th>" for n in study.names)
    rows = []
    for kpi in study.kpis:
        cells = []
        for name in study.names:
            r = t[(t["kpi"] == kpi) & (t["scenario"] == name)].iloc[0]
            ci = _bounds(kpi, r["lo"], r["hi"]) if r["n"] >= 2 and math.isfinite(r["lo"]) else ""
            mean = escape(format_value(kpi, r["mean"]))
            cells.append(f"<td class='num'>{mean}<br><span class='ci'>{escape(ci)}</span></td>")
        rows.append(f"<tr><th scope='row'>{escape(plots.kpi_label(kpi))}</th>{''.join(cells)}</tr>")
    return (
        f"<div class='scroll'><table id='headline'><thead><tr><th>KPI</th>{head}</tr></thead><tbody>"
        f"{''.join(rows)}</tbody></table></div><p class='note'>Mean across replications and, below it, "
        "[its 95% t-interval], cut at the natural limits 0 and 100%; shares in percent.</p>"
    )


def _adequacy(study: Study, precision: float) -> str:
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
    if n < 5:
        text += (
            f"<p>With only {n} replications the paired bootstrap intervals are rough (they cannot be "
            "wider than the spread of the observed differences); treat the findings as indicative.</p>"
        )
    failed = study.res.runs[study.res.runs["status"] != "ok"]
    if len(failed):
        text += f"<p>{len(failed)} of {len(study.res.runs)} runs did not finish and are left out.</p>"
    return text


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
    sections = [
        ("The question", f"<p class='lead'>{escape(question)}</p>"),
        ("Scenarios compared", _scenarios_section(study)),
        ("Findings", found),
        ("Headline figures", _kpi_table(study)),
        ("Figures", figs or "<p>The store holds no tables to draw.</p>"),
        ("Are there enough replications?", _adequacy(study, precision)),
        ("Provenance", _provenance(study)),
    ]
    body = "".join(f"<section><h2>{escape(h)}</h2>{c}</section>" for h, c in sections)
    calibrated = (study.res.path / "calibration.parquet").is_file() or bool((extras or {}).get("calibration"))
    caveat = (
        ""
        if calibrated
        else (
            " The model's parameters are assumptions, not yet calibrated: read differences as what the "
            "mechanisms do under those assumptions."
        )
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Policy brief: {escape(name)}</title><style>{CSS}</style></head><body>"
        f"<h1>Policy brief: {escape(name)}</h1><p class='note'>Simulation results from govsim, an "
        f"agent-based model of grassroots-governance reforms.{escape(caveat)}</p>{body}</body></html>\n"
    )


__all__: Sequence[str] = [
    "HEADLINE",
    "Study",
    "build_report",
    "finding_sentence",
    "findings",
    "format_diff",
    "format_value",
    "load_study",
]
