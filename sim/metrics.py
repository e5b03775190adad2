"""The run summary: one row of KPIs computed from the tidy tables of a run.

Definitions (all delays in days):

- tier shares: among cases resolved within the horizon, the share resolved by each tier;
- ``delay_total``: occurrence → resolution; ``delay_discovery``: occurrence → discovery;
  ``delay_dispatch``: discovery → first arrival at a handling unit; ``delay_handling``:
  that arrival → resolution (all over resolved cases);
- ``on_site_disposal_rate``: among cases resolved by enforcement, the share settled at
  the first visit; ``patrol_reported_share``: discovered cases found by patrollers;
  ``raised_from_below_share``: discovered cases not found by inspections from above;
- ``completion_within_deadline_rate``: among discovered cases whose deadline (from
  discovery) had passed by the horizon, the share resolved by then;
- ``approval_*``: service requests completed within the horizon (days and trips), and
  the share of requests whose deadline had passed that were completed within it;
- ``staff_hours``: paid hours of all staff (the cost); ``satisfaction_mean``: residents'
  mean satisfaction at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.output import staff_hours

if TYPE_CHECKING:
    from sim.model import GovModel

TARGET_TIER_SHARES = {"grid": 0.70, "department": 0.20, "enforcement": 0.10}
"""The reforms' stated aim (001): used only to report the distance from it, never in the model."""


def _mean(x: pd.Series | np.ndarray) -> float:
    arr = np.asarray(x, dtype=float)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def summary(model: GovModel, cases: pd.DataFrame, requests: pd.DataFrame) -> dict[str, float]:
    """The KPIs of one run as a flat mapping."""
    horizon = float(model.days)
    status = cases["status"]
    res = cases[cases["resolved_at"].notna()]
    n_res = len(res)
    share = res["tier"].value_counts(normalize=True) if n_res else pd.Series(dtype=float)
    total = res["resolved_at"] - res["occurred_at"]
    disc = cases[cases["discovered_at"].notna()]
    enf = res[res["tier"] == "enforcement"]
    due = disc[disc["discovered_at"] + disc["deadline_days"] <= horizon]
    in_time = (due["resolved_at"] - due["discovered_at"]) <= due["deadline_days"]
    req_done = requests[requests["completed_at"].notna()]
    req_due = requests[requests["submitted_at"] + model.params.service_requests.deadline_days <= horizon]
    req_in_time = (
        req_due["completed_at"] - req_due["submitted_at"]
    ) <= model.params.service_requests.deadline_days
    out = {
        "cases_created": float(len(cases)),
        "cases_closed": float((status == "closed").sum()),
        "cases_open": float((status == "open").sum()),
        "cases_dropped": float((status == "dropped").sum()),
        "cases_resolved": float(n_res),
        **{f"tier_share_{k}": float(share.get(k, 0.0)) for k in TARGET_TIER_SHARES},
        "delay_total_mean_days": _mean(total),
        "delay_total_median_days": float(np.median(total)) if n_res else float("nan"),
        "delay_total_p90_days": float(np.quantile(total, 0.9)) if n_res else float("nan"),
        "delay_discovery_mean_days": _mean(res["discovered_at"] - res["occurred_at"]),
        "delay_dispatch_mean_days": _mean(res["dispatched_at"] - res["discovered_at"]),
        "delay_handling_mean_days": _mean(res["resolved_at"] - res["dispatched_at"]),
        "on_site_disposal_rate": _mean(enf["on_site"]),
        "patrol_reported_share": float((disc["channel"] == "patrol").mean()) if len(disc) else float("nan"),
        "raised_from_below_share": float((disc["channel"] != "inspection").mean())
        if len(disc)
        else float("nan"),
        "completion_within_deadline_rate": float(in_time.mean()) if len(due) else float("nan"),
        "escalations_per_case": _mean(cases["escalations"]),
        "bounces_per_case": _mean(cases["bounces"]),
        "approval_days_mean": _mean(req_done["completed_at"] - req_done["submitted_at"]),
        "approval_trips_mean": _mean(req_done["trips"]),
        "approval_completion_rate": float(req_in_time.mean()) if len(req_due) else float("nan"),
        "staff_hours": staff_hours(model),
        "satisfaction_mean": float(model.population.satisfaction.mean()),
    }
    out["tier_distance_from_target"] = float(
        sum(abs(out[f"tier_share_{k}"] - v) for k, v in TARGET_TIER_SHARES.items()) / 2
    )
    return out


DELAYS = {
    "discovery": ("occurred_at", "discovered_at"),
    "dispatch": ("discovered_at", "dispatched_at"),
    "handling": ("dispatched_at", "resolved_at"),
    "total": ("occurred_at", "resolved_at"),
}


def delay_table(cases: pd.DataFrame, by: str) -> pd.DataFrame:
    """Mean, median and 90th percentile of each delay of resolved cases, by a ledger column.

    Args:
        cases: the case ledger.
        by: ``"tier"``, ``"category"``, ``"channel"`` or another ledger column.

    Returns:
        One row per group and delay: ``by, delay, n, mean_days, median_days, p90_days``.
    """
    res = cases[cases["resolved_at"].notna()]
    rows = []
    for key, grp in res.groupby(by, observed=True, sort=True):
        for name, (a, b) in DELAYS.items():
            d = (grp[b] - grp[a]).to_numpy(dtype=float)
            rows.append(
                {
                    by: key,
                    "delay": name,
                    "n": d.size,
                    "mean_days": float(d.mean()),
                    "median_days": float(np.median(d)),
                    "p90_days": float(np.quantile(d, 0.9)),
                }
            )
    return pd.DataFrame(rows)
