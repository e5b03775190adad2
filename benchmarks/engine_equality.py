"""Engine equality: every KPI of every shipped scenario, old engine against new (issue 12).

Runs each shipped scenario (``scenarios/*.yaml`` at the top of the new tree) for seeds
``0 .. reps-1`` in two source trees of the project, and compares every numeric KPI of the
run summary (``sim.run(...).summary``: the KPIs of :mod:`sim.core.metrics` and the
steady-state columns) seed by seed.

    python benchmarks/engine_equality.py --old-rev REV [--reps 5] [--days 365]
        [--context town] [--residents N] [--workers 2] [--all] [--out CSV]

**Trees.** ``--new`` defaults to the repository holding this script; the old tree is
``--old PATH`` or ``git archive REV`` of the new tree's repository, unpacked into a
temporary folder that is deleted afterwards (an export rather than ``git worktree add``:
nothing is registered in the shared ``.git``, and nothing is left behind if the script is
killed). Every run is a subprocess ``sys.executable`` with ``PYTHONPATH=<tree>`` and that
tree as working directory, so the two engines never share a process; the worker checks
that ``import sim`` resolved inside its tree (the venv's editable install would otherwise
answer) and that each tree runs its own scenario files (``GOVSIM_SCENARIOS`` is unset). A
hash of each resolved scenario is kept, so a scenario whose parameters changed between the
trees is marked (``params_equal`` = 0): its differences are then not the engine's alone.

**Statistics, per scenario x KPI** over the seeds where both trees gave a number:

- ``diff_mean``: the mean paired difference new - old (same seed), with its 95 % t-interval
  ``diff_lo .. diff_hi`` (``sd(d)/sqrt(n)``, ``n-1`` degrees of freedom). This is the paired
  comparison the issue asks for. It is valid whatever the correlation between the two runs
  of a seed, but pairing only reduces the variance if the two engines draw the same random
  numbers for the same seed. A rewritten engine draws them differently (other order, other
  streams), so after the rewrite the pairs are close to independent: the paired interval
  then has the variance of an unpaired one and fewer degrees of freedom, i.e. it is honest
  but slightly wider. ``corr`` (the correlation of old and new over the seeds) shows how
  much common randomness is left.
- ``welch_lo .. welch_hi``: the unpaired (Welch) 95 % interval of mean(new) - mean(old),
  the right interval when the pairs are independent. ``--test welch`` makes it the one that
  decides ``differs``.
- ``rel_diff``: ``diff_mean / |old_mean|`` (``/ |new_mean|`` when the old mean is 0; 0 when
  both are).
- ``differs`` = 1 when the chosen interval excludes 0 **and** ``|rel_diff| > --tolerance``
  (default 0.02): a difference both real and big enough to matter. A significant but small
  difference is counted as ``significant`` only. With ~70 KPIs x 7 scenarios, about 5 % of
  the rows have an interval excluding 0 by chance alone; the tolerance keeps most of those
  out of ``differs``, and the summary line states the number expected by chance.
- ``identical`` = 1 when every pair is exactly equal (same engine, same seed: the
  self-comparison ``--old-rev HEAD`` must give 1 on every row; ``--expect-identical`` exits
  with status 1 otherwise).

Differences that queue order causes (the old daily rounds let 6.6 % of baseline jobs be
overtaken, ``benchmarks/queue_order.py``) are expected in the delays and what depends on
them; the table shows them, it does not excuse them: reading them is the closing note's job.

Output: a markdown table on stdout (flagged rows only unless ``--all``) with a count
summary and the mean run time of each tree, and every row in a CSV (``--out``, default
``results/engine_equality.csv``). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
LEVEL = 0.95
COLUMNS = (
    "scenario",
    "kpi",
    "n",
    "old_mean",
    "new_mean",
    "old_sd",
    "new_sd",
    "diff_mean",
    "diff_sd",
    "diff_lo",
    "diff_hi",
    "welch_lo",
    "welch_hi",
    "rel_diff",
    "corr",
    "identical",
    "significant",
    "differs",
    "note",
)


# ---------------------------------------------------------------------------------------
# The comparison (pure: no model runs; tested in tests/test_engine_equality_script.py)


def _t_interval(mean: float, se: float, df: float, level: float) -> tuple[float, float]:
    if not np.isfinite(df) or df <= 0:
        return math.nan, math.nan
    if se == 0:
        return mean, mean
    h = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return mean - h, mean + h


def _welch(old: np.ndarray, new: np.ndarray, level: float) -> tuple[float, float]:
    n1, n2 = old.size, new.size
    if n1 < 2 or n2 < 2:
        return math.nan, math.nan
    v1, v2 = old.var(ddof=1) / n1, new.var(ddof=1) / n2
    diff = new.mean() - old.mean()
    if v1 + v2 == 0:
        return diff, diff
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    return _t_interval(diff, math.sqrt(v1 + v2), df, level)


def compare_kpi(
    old: Sequence[float],
    new: Sequence[float],
    tolerance: float = 0.02,
    level: float = LEVEL,
    test: str = "paired",
) -> dict[str, float]:
    """The statistics of one KPI from its values in the two trees, paired by position (seed).

    Pairs where either value is missing (NaN) are left out. See the module docstring for
    the definitions; ``test`` ("paired" or "welch") picks the interval behind ``differs``.
    """
    o, n = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    same = bool(np.array_equal(o, n, equal_nan=True))  # missing in the same seeds counts as equal
    keep = np.isfinite(o) & np.isfinite(n)
    o, n = o[keep], n[keep]
    k = int(o.size)
    out: dict[str, float] = dict.fromkeys(COLUMNS[2:-1], math.nan)
    out.update(n=k, identical=int(same), significant=0, differs=0)
    if k == 0:
        return out
    d = n - o
    old_mean, new_mean, diff_mean = float(o.mean()), float(n.mean()), float(d.mean())

    def sd(x: np.ndarray) -> float:
        return float(x.std(ddof=1)) if k > 1 else math.nan

    diff_sd = sd(d)
    lo, hi = _t_interval(diff_mean, diff_sd / math.sqrt(k), k - 1, level) if k > 1 else (math.nan, math.nan)
    wlo, whi = _welch(o, n, level)
    scale = abs(old_mean) if old_mean != 0 else abs(new_mean)
    rel = diff_mean / scale if scale > 0 else 0.0
    corr = float(np.corrcoef(o, n)[0, 1]) if k > 2 and o.std() > 0 and n.std() > 0 else math.nan
    c_lo, c_hi = (lo, hi) if test == "paired" else (wlo, whi)
    significant = bool(np.isfinite(c_lo) and (c_lo > 0 or c_hi < 0))
    out.update(
        old_mean=old_mean,
        new_mean=new_mean,
        old_sd=sd(o),
        new_sd=sd(n),
        diff_mean=diff_mean,
        diff_sd=diff_sd,
        diff_lo=lo,
        diff_hi=hi,
        welch_lo=wlo,
        welch_hi=whi,
        rel_diff=rel,
        corr=corr,
        significant=int(significant),
        differs=int(significant and abs(rel) > tolerance),
    )
    return out


def compare(
    old: pd.DataFrame, new: pd.DataFrame, tolerance: float = 0.02, level: float = LEVEL, test: str = "paired"
) -> pd.DataFrame:
    """Every scenario x KPI of two long tables (columns ``scenario, seed, kpi, value``).

    Values are paired on (scenario, seed). A KPI that only one tree reports gets a row with
    ``n`` = 0 and a note. Returns one row per scenario x KPI with :data:`COLUMNS`.
    """
    key = ["scenario", "kpi", "seed"]
    both = pd.merge(
        old[key + ["value"]],
        new[key + ["value"]],
        on=key,
        how="outer",
        suffixes=("_old", "_new"),
        indicator=True,
    )
    rows = []
    for (scenario, kpi), g in both.groupby(["scenario", "kpi"], sort=False):
        g = g.sort_values("seed")
        row = {"scenario": scenario, "kpi": kpi}
        row.update(
            compare_kpi(
                g["value_old"].to_numpy(float), g["value_new"].to_numpy(float), tolerance, level, test
            )
        )
        where = set(g["_merge"])
        row["note"] = (
            "only in old"
            if where == {"left_only"}
            else "only in new"
            if where == {"right_only"}
            else "no value"
            if row["n"] == 0
            else ""
        )
        if row["note"].startswith("only"):
            row["identical"] = 0
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ---------------------------------------------------------------------------------------
# The worker: one run per seed, in the tree on PYTHONPATH, JSON lines on stdout


def worker(args: argparse.Namespace) -> None:
    import sim  # the tree's own: PYTHONPATH

    tree = Path(args.tree).resolve()
    where = Path(sim.__file__).resolve()
    if tree not in where.parents:
        raise SystemExit(f"engine_equality worker: sim imported from {where}, not from the tree {tree}")
    overrides = json.loads(args.overrides) or None
    warmup: str | int = args.warmup if args.warmup == "auto" else int(args.warmup)
    for seed in args.seeds:
        t0 = time.perf_counter()
        result = sim.run(
            args.scenario, seed=seed, days=args.days, context=args.context, overrides=overrides, warmup=warmup
        )
        seconds = time.perf_counter() - t0
        kpis = {}
        for k, v in dict(result.summary).items():
            try:
                x = float(v)
            except (TypeError, ValueError):
                continue  # not a number: not a KPI to compare
            kpis[str(k)] = x if math.isfinite(x) else None
        params = json.dumps(result.params.model_dump(mode="json"), sort_keys=True, default=str)
        record = {
            "scenario": args.scenario,
            "seed": seed,
            "seconds": seconds,
            "sim": str(where),
            "params_sha": hashlib.sha256(params.encode()).hexdigest()[:16],
            "kpis": kpis,
            "daily_columns": [str(c) for c in result.daily.columns],
            "cases": len(result.cases),
        }
        print(json.dumps(record), flush=True)
        del result


# ---------------------------------------------------------------------------------------
# The parent: trees, jobs, the table


@dataclass(frozen=True)
class Job:
    side: str  # "old" or "new"
    tree: Path
    scenario: str
    seed: int


def export_rev(repo: Path, rev: str, dest: Path) -> Path:
    """The tree of ``rev`` (``git archive``) unpacked into ``dest``; returns ``dest``."""
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = dest.with_suffix(".tar")
    subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", "-o", str(archive), sha], check=True)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    (dest / ".engine_equality_rev").write_text(sha + "\n")
    return dest


def describe(tree: Path, rev: str | None = None) -> str:
    """The tree's commit (short), ``+changes`` when its checkout has uncommitted changes."""
    stamp = tree / ".engine_equality_rev"
    if stamp.exists():
        return f"{rev} = {stamp.read_text().strip()[:12]}"
    git = ["git", "-C", str(tree)]
    head = subprocess.run([*git, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return str(tree)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def scenarios_of(tree: Path) -> list[str]:
    return sorted(p.stem for p in (tree / "scenarios").glob("*.yaml"))


def run_job(job: Job, args: argparse.Namespace, overrides: dict) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOVSIM_SCENARIOS", "PYTHONPATH")}
    env["PYTHONPATH"] = str(job.tree)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--tree",
        str(job.tree),
        "--scenario",
        job.scenario,
        "--seeds",
        str(job.seed),
        "--days",
        str(args.days),
        "--overrides",
        json.dumps(overrides),
        "--warmup",
        str(args.warmup),
    ]
    if args.context:
        cmd += ["--context", args.context]
    proc = subprocess.run(cmd, env=env, cwd=job.tree, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"{job.side} {job.scenario} seed {job.seed} failed ({proc.returncode}):\n{tail}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def run_all(jobs: Sequence[Job], args: argparse.Namespace, overrides: dict) -> tuple[list[dict], list[str]]:
    records: list[dict] = []
    failures: list[str] = []
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:  # each thread drives one subprocess
        futures = {pool.submit(run_job, job, args, overrides): job for job in jobs}
        for done, future in enumerate(as_completed(futures), 1):
            job = futures[future]
            try:
                recs = future.result()
                for r in recs:
                    r["side"] = job.side
                records += recs
                what = f"{sum(r['seconds'] for r in recs):.1f} s"
            except Exception as exc:  # noqa: BLE001 - reported and counted, the others go on
                failures.append(str(exc))
                what = "FAILED"
            print(
                f"[{done}/{len(jobs)} {time.perf_counter() - t0:.0f} s] {job.side} {job.scenario} "
                f"seed {job.seed}: {what}",
                file=sys.stderr,
                flush=True,
            )
    return records, failures


def long_table(records: Iterable[dict], side: str) -> pd.DataFrame:
    rows = [
        (r["scenario"], r["seed"], k, math.nan if v is None else v)
        for r in records
        if r["side"] == side
        for k, v in r["kpis"].items()
    ]
    return pd.DataFrame(rows, columns=["scenario", "seed", "kpi", "value"])


def _num(x: float) -> str:
    if not np.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{x:+.2%}" if np.isfinite(x) else "–"


def markdown(table: pd.DataFrame) -> str:
    lines = [
        "| scenario | KPI | n | old | new | new − old [95% CI paired] | Welch 95% CI | rel. | corr |",
        "|---|---|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in table.itertuples():
        mark = " **≠**" if r.differs else " *" if r.significant else ""
        lines.append(
            f"| {r.scenario} | {r.kpi}{mark} | {r.n} | {_num(r.old_mean)} | {_num(r.new_mean)} | "
            f"{_num(r.diff_mean)} [{_num(r.diff_lo)}, {_num(r.diff_hi)}] | "
            f"[{_num(r.welch_lo)}, {_num(r.welch_hi)}] | "
            f"{_pct(r.rel_diff)} | {_num(r.corr)} |"
        )
    return "\n".join(lines)


def frame_markdown(df: pd.DataFrame) -> str:
    """A small frame as a markdown table (numbers as :func:`_num` writes them)."""
    cells = [[c if isinstance(c, str) else _num(float(c)) for c in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def scenario_notes(records: Sequence[dict]) -> pd.DataFrame:
    """Per scenario and tree: runs, mean seconds per run, and whether the trees agree on
    the resolved parameters and on the daily table's columns."""
    df = pd.DataFrame(records)
    if df.empty:
        return df
    df["daily_columns"] = df["daily_columns"].map(tuple)
    rows = []
    for scenario, g in df.groupby("scenario"):
        old, new = g[g.side == "old"], g[g.side == "new"]
        rows.append(
            {
                "scenario": scenario,
                "runs_old": len(old),
                "runs_new": len(new),
                "seconds_old": old["seconds"].mean(),
                "seconds_new": new["seconds"].mean(),
                "cases_old": old["cases"].mean(),
                "cases_new": new["cases"].mean(),
                "params_equal": int(
                    set(old["params_sha"]) == set(new["params_sha"]) and old["params_sha"].nunique() == 1
                ),
                "daily_columns_equal": int(
                    set(old["daily_columns"]) == set(new["daily_columns"])
                    and old["daily_columns"].nunique() == 1
                ),
            }
        )
    return pd.DataFrame(rows)


def parse_set(items: Sequence[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE, e.g. dispatch.deadline_watch=false")
        out[key.strip()] = yaml.safe_load(value)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    old = ap.add_mutually_exclusive_group()
    old.add_argument("--old", type=Path, help="the old source tree (a checkout of the project)")
    old.add_argument("--old-rev", help="git revision of the new tree's repository to export as the old tree")
    ap.add_argument("--new", type=Path, default=REPO, help="the new source tree (default: this repository)")
    ap.add_argument(
        "--scenarios", nargs="*", help="scenario names (default: every scenarios/*.yaml of --new)"
    )
    ap.add_argument("--reps", type=int, default=5, help="seeds 0 .. REPS-1 (default 5)")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--context", help="a context for every scenario (default: each scenario's own)")
    ap.add_argument("--residents", type=int, help="population.residents override (small = quick)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more overrides")
    ap.add_argument("--warmup", default="auto", help="warm-up days or 'auto' (MSER-5, as sim.run; default)")
    ap.add_argument("--tolerance", type=float, default=0.02, help="relative difference that matters (0.02)")
    ap.add_argument("--test", choices=("paired", "welch"), default="paired", help="interval behind 'differs'")
    ap.add_argument("--workers", type=int, default=2, help="runs at a time (default 2)")
    ap.add_argument("--all", action="store_true", help="print every row, not only the flagged ones")
    ap.add_argument("--out", type=Path, default=REPO / "results" / "engine_equality.csv")
    ap.add_argument(
        "--expect-identical",
        action="store_true",
        help="exit 1 unless every pair is exactly equal (self-comparison check)",
    )
    # the worker's own arguments (internal)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    ap.add_argument("--scenario", help=argparse.SUPPRESS)
    ap.add_argument("--seeds", type=int, nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    if args.old is None and args.old_rev is None:
        ap.error("give the old engine: --old-rev REV (e.g. the commit before the new engine) or --old PATH")
    if args.reps < 1:
        ap.error("--reps must be at least 1 (2 or more for intervals)")
    overrides = parse_set(args.set)
    if args.residents:
        overrides["population.residents"] = args.residents
    new_tree = args.new.resolve()
    scenarios = args.scenarios or scenarios_of(new_tree)
    tmp = Path(tempfile.mkdtemp(prefix="engine_equality_"))
    try:
        if args.old is not None:
            old_tree = args.old.resolve()
        else:
            old_tree = export_rev(new_tree, args.old_rev, tmp / "old")
        old_label, new_label = describe(old_tree, args.old_rev), describe(new_tree)
        print(f"old: {old_label} ({old_tree})\nnew: {new_label} ({new_tree})", file=sys.stderr)
        missing = sorted(set(scenarios) - set(scenarios_of(old_tree)))
        if missing:
            print(f"not in the old tree (compared as 'only in new'): {', '.join(missing)}", file=sys.stderr)
        jobs = [
            Job(side, tree, s, seed)
            for s in scenarios
            for seed in range(args.reps)
            for side, tree in (("old", old_tree), ("new", new_tree))
            if not (side == "old" and s in missing)
        ]
        print(
            f"{len(jobs)} runs: {len(scenarios)} scenarios x {args.reps} seeds x 2 trees, "
            f"{args.days} days, overrides {overrides or 'none'}, {args.workers} workers",
            file=sys.stderr,
        )
        records, failures = run_all(jobs, args, overrides)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    table = compare(long_table(records, "old"), long_table(records, "new"), args.tolerance, LEVEL, args.test)
    notes = scenario_notes(records)
    if not notes.empty:
        table = table.merge(notes[["scenario", "params_equal"]], on="scenario", how="left")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)

    shown = table if args.all else table[table["differs"] == 1]
    compared = table[~table["note"].str.startswith("only")]
    print(f"# Engine equality: old {old_label} → new {new_label}\n")
    print(
        f"{len(scenarios)} scenarios, seeds 0..{args.reps - 1}, {args.days} days, context "
        f"{args.context or 'own'}, overrides {overrides or 'none'}; interval {args.test}, "
        f"tolerance {args.tolerance:.1%}\n"
    )
    print(shown.pipe(markdown) if len(shown) else "No scenario x KPI differs.")
    n_sig = int(compared["significant"].sum())
    print(
        f"\n{len(compared)} scenario x KPI rows compared: "
        f"{int(compared['identical'].sum())} identical in every seed, "
        f"{n_sig} significant (about {0.05 * len(compared):.0f} expected by chance), "
        f"{int(compared['differs'].sum())} differ by more than {args.tolerance:.1%}; "
        f"{len(table) - len(compared)} only in one tree, {int((compared['n'] == 0).sum())} without a value. "
        f"CSV: {args.out}"
    )
    if not notes.empty:
        print("\nPer scenario (seconds: sim.run alone, mean over the seeds):\n")
        print(frame_markdown(notes))
    for f in failures:
        print(f"\nFAILED: {f}")
    if failures:
        return 1
    if args.expect_identical and not (len(table) and table["identical"].all()):
        print("\nNot identical: --expect-identical fails.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
