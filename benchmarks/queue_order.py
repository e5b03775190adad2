"""Diagnostic: how often the daily rounds break first-come-first-served order (ODD §3.4).

Within one round of the case-flow loop jobs are booked in arrival order; a job queued in a
later round of the same day can have an earlier arrival than jobs already booked at its
unit. This script wraps the queue kernel of the handling mechanism, records every booking
(unit, arrival, start) and counts the jobs that waited while a job that arrived after them
at the same unit had started before them ("overtaken"), and by how many hours.
Run:  python benchmarks/queue_order.py [SCENARIO ...] [--days N]
"""

from __future__ import annotations

import argparse

import numpy as np

import sim
import sim.core.mechanisms.handling as handling

WINDOW = 300
"""Bookings looked back at, per unit, for a job that overtook (same-day rounds are close)."""


def overtaken(unit: np.ndarray, arrival: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Hours by which each overtaken job was overtaken (jobs given in booking order)."""
    out = []
    for u in np.unique(unit):
        idx = np.flatnonzero(unit == u)
        a, s = arrival[idx], start[idx]
        for j in np.flatnonzero(s > a + 1e-9):
            lo = max(0, j - WINDOW)
            passed = (a[lo:j] > a[j]) & (s[lo:j] < s[j])
            if passed.any():
                out.append((s[j] - s[lo:j][passed].min()) * 24.0)
    return np.asarray(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", default=["baseline", "reform"])
    ap.add_argument("--days", type=int, default=120)
    args = ap.parse_args()
    kernel, log = handling.serve_watched, []

    def recording(*a: np.ndarray) -> tuple[np.ndarray, ...]:
        start, finish, overtime, booked = kernel(*a)
        taken = booked & ~overtime  # jobs on the regular servers
        log.append((a[7][taken].copy(), a[8][taken].copy(), start[taken].copy()))  # unit, arrival, start
        return start, finish, overtime, booked

    handling.serve_watched = recording  # overtime books other servers: the watch is switched off below
    for name in args.scenarios:
        log.clear()
        params = sim.load_scenario(name, context="town", overrides={"dispatch.deadline_watch": False})
        sim.run(params, seed=0, days=args.days)
        unit, arrival, start = (np.concatenate([row[i] for row in log]) for i in range(3))
        hours = overtaken(unit, arrival, start)
        print(
            f"{name:10s} jobs={unit.size:,} overtaken={hours.size:,} ({hours.size / unit.size:.2%}) "
            f"by mean {hours.mean() if hours.size else 0:.1f} h, "
            f"p90 {np.quantile(hours, 0.9) if hours.size else 0:.1f} h"
        )


if __name__ == "__main__":
    main()
