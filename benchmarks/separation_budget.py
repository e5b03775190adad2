"""Diagnostic: where separation's effect comes from (the grid workers' time budget).

Runs the reform on the town context (seed 1, 365 days) with and without separation,
with and without the workers' reluctance to report their own work, and at several
assigned-task loads, and prints grid tier share, mean total and discovery delay (days)
and the patrol-reported share. Run:  python benchmarks/separation_budget.py
"""

from __future__ import annotations

import sim

KPIS = [
    "plan_share_grid",
    "tier_share_grid",
    "delay_total_mean_days",
    "delay_discovery_mean_days",
    "patrol_reported_share",
]
NO_SEP = {"grid.separation": False}
NO_RELUCTANCE = {"grid.report_reluctance": 0.0}
CASES = {
    "reform": {},
    "no separation": NO_SEP,
    "no separation, no reluctance": {**NO_SEP, **NO_RELUCTANCE},
    "tasks 0": {"assigned_tasks.hours_per_worker_per_day": 0},
    "tasks 0, no separation, no reluctance": {
        "assigned_tasks.hours_per_worker_per_day": 0,
        **NO_SEP,
        **NO_RELUCTANCE,
    },
    "tasks 3.5, separation, tasks to the village": {
        "assigned_tasks.hours_per_worker_per_day": 3.5,
        "grid.tasks_to": "village",
    },
    "tasks 3.5, no separation": {"assigned_tasks.hours_per_worker_per_day": 3.5, **NO_SEP},
}


def main() -> None:
    print(f"{'variant':46s} " + " ".join(f"{k:>26s}" for k in KPIS))
    for name, over in CASES.items():
        s = sim.run(sim.load_scenario("reform", context="town", overrides=over or None), seed=1).summary
        print(f"{name:46s} " + " ".join(f"{s[k]:26.3f}" for k in KPIS), flush=True)


if __name__ == "__main__":
    main()
