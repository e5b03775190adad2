"""Benchmark: each part of a run's time split into a fixed cost a year and a cost per case.

Runs each scenario on one context at several population sizes (``--sizes``, residents;
the context's towns and grids unchanged, so the demand per grid grows with the size),
times each part of every run as ``profile_run.py --plain`` does (the day's acts, building
the model, the result tables; the fastest of ``--runs`` runs), and fits each part's
seconds to ``fixed + per_case × cases`` by least squares over the sizes. The fixed part
is what a year costs whatever the demand (the daily steps' calls on small arrays); the
per-case part is what each case adds. A target for a run's time at the largest size is
then a budget per case: ``(target − fixed) / cases``, printed beside the measured cost.

    python benchmarks/cost_per_case.py [--scenarios baseline,reform] [--context town]
        [--sizes 1k,50k,100k,190k] [--runs 3] [--days 365] [--target 0.3]
"""

from __future__ import annotations

import argparse

import numpy as np
from profile_run import plain
from scaling import parse_size

import sim


def fit(cases: np.ndarray, seconds: np.ndarray) -> tuple[float, float]:
    """Least-squares ``seconds ≈ fixed + per_case × cases``: (fixed, per_case)."""
    per_case, fixed = np.polyfit(cases, seconds, 1)
    return float(fixed), float(per_case)


def measure(scenario: str, context: str, sizes: list[int], runs: int, days: int, target: float) -> None:
    """Time every part of a run at each size; print the fitted costs as a table."""
    cases, totals, parts = [], [], []
    for residents in sizes:
        params = sim.load_scenario(scenario, context=context, overrides={"population.residents": residents})
        total, spent, n_cases = min((plain(params, days) for _ in range(max(runs, 1))), key=lambda r: r[0])
        cases.append(n_cases)
        totals.append(total)
        parts.append(spent)
        print(f"  {scenario}: {residents:,} residents, {cases[-1]:,} cases, {total:.3f} s", flush=True)
    n = np.array(cases, dtype=float)
    print(f"\n{scenario} on {context}, {days} days; sizes {', '.join(f'{r:,}' for r in sizes)} residents\n")
    print(f"| part | fixed (s a year) | per case (µs) | at {cases[-1]:,} cases (s) | share |")
    print("|---|---|---|---|---|")
    rows = [(label, np.array([p.get(label, 0.0) for p in parts])) for label in parts[-1]]
    for label, secs in [*rows, ("whole run", np.array(totals))]:
        part_fixed, part_per_case = fit(n, secs)
        print(
            f"| {label} | {part_fixed:.3f} | {part_per_case * 1e6:.2f} | {secs[-1]:.3f} "
            f"| {secs[-1] / totals[-1]:.0%} |"
        )
    fixed, per_case = fit(n, np.array(totals))
    budget = (target - fixed) / n[-1]
    print(
        f"\nA run of {target:g} s at {cases[-1]:,} cases leaves {budget * 1e6:.2f} µs a case after the fixed "
        f"{fixed:.3f} s; a case costs {per_case * 1e6:.2f} µs ({per_case / budget:.1f}× the budget)."
        if budget > 0
        else f"\nThe fixed cost alone ({fixed:.3f} s) exceeds a run of {target:g} s."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="baseline,reform")
    ap.add_argument("--context", default="town")
    ap.add_argument("--sizes", default="1k,50k,100k,190k", help="residents, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="runs at each size, the fastest kept")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--target", type=float, default=0.3, help="a run's target seconds at the largest size")
    args = ap.parse_args()
    sizes = sorted(parse_size(s) for s in args.sizes.split(","))
    if len(sizes) < 2:
        raise SystemExit("--sizes: give at least two sizes to fit a line")
    sim.run("baseline", days=5, overrides={"population.residents": 5000})  # warm-up / JIT
    for scenario in args.scenarios.split(","):
        measure(scenario, args.context, sizes, args.runs, args.days, args.target)


if __name__ == "__main__":
    main()
