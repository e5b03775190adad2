"""The run summary: one row of KPIs computed from the tidy tables of a run.

**Warm-up.** A run starts empty (ODD §5), so its first weeks are a transient. Every
rate, share and delay below counts a case only when it is *observed* on or after the
warm-up day, as discrete-event simulation tallies do: at its resolution (tier shares,
delays, on-site rate), at its settlement (resolution rate: resolved or dropped), at its
discovery (channel shares, supervised share), at its deadline (completion within
deadline); escalations and bounces per case count cases that occurred after it, and
service requests count at completion (at their deadline for the completion rate).
Counting resolved cases by their occurrence instead would leave out the slow ones still
open at the horizon, so that delays would grow with the horizon. The counts
(``cases_*``), the cost (``staff_hours``, ``overtime_hours``) and ``satisfaction_mean``
cover the whole run, so that they add up over the ledger and compare between runs
whatever their warm-ups. The runner picks the warm-up (:mod:`sim.core.steady`); with a
warm-up of 0 every KPI is a whole-run figure.

Definitions (all delays in days):

- ``tier_share_*``: among cases resolved within the horizon, the share resolved by each
  of the four tiers (grid, village, department, enforcement); ``plan_share_*``: the same
  cases counted as the 70/20/10 plan counts them (001), the village inside "the grid";
  ``structural_share_*``: the same cases by the level they needed when they occurred
  (the catalogue's mix, before growth and the service lists): the difference from the
  ``tier_share_*`` is what the mechanisms add;
- ``resolution_rate``: among cases whose fate was settled within the horizon (resolved,
  or dropped: lost, bounced out, or closed without a resolution after waiting past their
  patience), the share resolved — the figure hotlines publish (解决率); ``cases_timed_out``:
  cases closed without a resolution because no unit took them up within their patience;
- ``delay_total``: occurrence → resolution; ``delay_discovery``: occurrence → discovery;
  ``delay_dispatch``: discovery → first arrival at a handling unit; ``delay_handling``:
  that arrival → resolution (all over resolved cases);
- ``on_site_disposal_rate``: among cases resolved by enforcement, the share settled at
  the first visit; ``patrol_reported_share``: discovered cases found by patrollers (of
  the basic grids or the professional grids); ``professional_reported_share``: those
  found by the professional grids' patrollers (001; 0 without them);
  ``raised_from_below_share``: discovered cases not found by inspections from above;
- ``completion_within_deadline_rate``: among discovered cases whose deadline (from
  discovery) had passed by the horizon, the share resolved by then;
  ``supervised_share``: discovered cases the centre's deadline watch had worked in
  overtime, or a county unit answering its two-way assessment (0 without either);
- ``approval_*``: ordinary service requests completed within the horizon (days and
  trips), and the share of requests whose deadline had passed that were completed in it;
- ``one_thing_*``: the same for cross-department "one thing" requests (004: a farmer's
  house-building), with the number of steps they took;
- ``staff_hours``: paid hours of all staff (the cost), overtime included; ``overtime_hours``:
  the overtime alone; ``satisfaction_mean``: residents'
  mean satisfaction at the end;
- ``reopened_share``: resolved cases a grid supervisor reopened at least once;
  ``poor_closed_share``: closed cases whose (last) resolution was poor (0 where every
  resolution is sound); ``police_reported_share``: discovered cases found by the grid
  police officers (0 without them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.core.kinds import LEVELS, PLAN_TIERS
from sim.core.ledger import CHANNELS, DROP_REASONS

if TYPE_CHECKING:
    from sim.core.model import GovModel

KPIS = (
    "cases_created",
    "cases_closed",
    "cases_open",
    "cases_dropped",
    "cases_timed_out",
    "cases_resolved",
    "resolution_rate",
    "tier_share_grid",
    "tier_share_village",
    "tier_share_department",
    "tier_share_enforcement",
    "plan_share_grid",
    "plan_share_department",
    "plan_share_enforcement",
    "structural_share_grid",
    "structural_share_village",
    "structural_share_department",
    "structural_share_enforcement",
    "delay_total_mean_days",
    "delay_total_median_days",
    "delay_total_p90_days",
    "delay_discovery_mean_days",
    "delay_dispatch_mean_days",
    "delay_handling_mean_days",
    "on_site_disposal_rate",
    "patrol_reported_share",
    "professional_reported_share",
    "raised_from_below_share",
    "completion_within_deadline_rate",
    "supervised_share",
    "escalations_per_case",
    "bounces_per_case",
    "approval_days_mean",
    "approval_trips_mean",
    "approval_completion_rate",
    "one_thing_days_mean",
    "one_thing_steps_mean",
    "one_thing_trips_mean",
    "staff_hours",
    "overtime_hours",
    "satisfaction_mean",
    "reopened_share",
    "poor_closed_share",
    "police_reported_share",
    "tier_distance_from_target",
)
"""Names of the run summary's KPIs, in the order :func:`summary` returns them."""

PATROL_CHANNELS = (CHANNELS.index("patrol"), CHANNELS.index("professional"))
"""The channels of patrollers: the basic grids' and the professional grids'."""

TARGET_TIER_SHARES = {"grid": 0.70, "department": 0.20, "enforcement": 0.10}
"""The reforms' stated aim (001), a plan counting the village in the grid
(:data:`sim.core.kinds.PLAN_TIERS`): used only to report the distance from it, never in
the model."""

DELAYS = {
    "discovery": ("occurred_at", "discovered_at"),
    "dispatch": ("discovered_at", "dispatched_at"),
    "handling": ("dispatched_at", "resolved_at"),
    "total": ("occurred_at", "resolved_at"),
}
"""Each delay: the case-table columns of the times it runs from and to."""

DELAY_TIMES = tuple(dict.fromkeys(c for pair in DELAYS.values() for c in pair))
"""The case-table columns of the times the delays run between."""


def delay_parts(times: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every delay of :data:`DELAYS`, case by case.

    Args:
        times: arrays of times (days) of the same cases, by case-table column
            (``occurred_at``, ``discovered_at``, ``dispatched_at``, ``resolved_at``).

    Returns:
        The delays by name (NaN where a time is missing).
    """
    return {name: times[b] - times[a] for name, (a, b) in DELAYS.items()}


def tier_distance(shares: Mapping[str, float]) -> float:
    """Distance of the plan's shares from :data:`TARGET_TIER_SHARES`: half the sum of the
    absolute differences (0 on the target, at most 1; NaN if a share is NaN).

    Args:
        shares: the share of resolved cases per tier of the plan (``grid`` with the village,
            ``department``, ``enforcement``).
    """
    return float(sum(abs(shares[k] - v) for k, v in TARGET_TIER_SHARES.items()) / 2)


def _delay(times: Mapping[str, np.ndarray], among: np.ndarray, name: str) -> np.ndarray:
    """One delay of :data:`DELAYS` of the cases ``among``, as in :func:`delay_parts`."""
    from sim.core.metrics_compiled import masked_difference  # compiled: loaded to summarise a run

    a, b = DELAYS[name]
    return masked_difference(times[a], times[b], among)


def _mean(x: np.ndarray) -> float:
    """The mean of the values that are not NaN (NaN if none is)."""
    missing = np.isnan(x)
    if missing.any():
        x = x[~missing]
    return float(x.mean()) if x.size else float("nan")


def _int_mean(x: np.ndarray, where: np.ndarray) -> float:
    """The mean of integers where ``where``, as :func:`_mean` of them as floats (their sums
    are exact either way)."""
    return _ratio(int(np.sum(x, where=where, dtype=np.int64)), _count(where))


def _count(mask: np.ndarray) -> int:
    """How many are true."""
    return int(np.count_nonzero(mask))


def _ratio(k: int, n: int) -> float:
    """``k`` of ``n`` as a share (NaN of none)."""
    return k / n if n else float("nan")


def _share(mask: np.ndarray, among: np.ndarray) -> float:
    return _ratio(_count(mask & among), _count(among))


def _counts(cases: pd.DataFrame, status: np.ndarray) -> dict[str, float]:
    """The ledger's accounting: cases created, closed, open, dropped (timed out), resolved."""
    dropped = status == 2
    timed_out = cases["drop_reason"].cat.codes.to_numpy() == DROP_REASONS.index("timed_out")
    return {
        "cases_created": float(len(cases)),
        "cases_closed": float(_count(status == 0)),
        "cases_open": float(_count(status == 1)),
        "cases_dropped": float(_count(dropped)),
        "cases_timed_out": float(_count(timed_out & dropped)),
        "cases_resolved": float(_count(~np.isnan(cases["resolved_at"].to_numpy(dtype=float)))),
    }


def summary(
    model: GovModel, cases: pd.DataFrame, requests: pd.DataFrame, warmup: int = 0
) -> dict[str, float]:
    """The KPIs of one run as a flat mapping.

    Args:
        model: the finished model.
        cases, requests: its case ledger and service requests.
        warmup: the day from which the rates, shares and delays observe cases and
            requests (see the module docstring).
    """
    from sim.core.output import staff_hours  # the model's tables: loaded only to summarise a run

    horizon = float(model.days)
    col = {k: cases[k].to_numpy(dtype=float) for k in (*DELAY_TIMES, "closed_at", "deadline_days")}
    disc, res_t, deadline = col["discovered_at"], col["resolved_at"], col["deadline_days"]
    status = cases["status"].cat.codes.to_numpy()  # closed, open, dropped
    tier = cases["tier"].cat.codes.to_numpy()  # -1 unresolved, else a Tier code
    channel = cases["channel"].cat.codes.to_numpy()
    # observed after the warm-up (a time that is NaN, not reached, compares False)
    res = res_t >= warmup
    n_res = _count(res)
    settled = res | ((status == 2) & (col["closed_at"] >= warmup))
    total = _delay(col, res, "total")
    tiers = tier[res]
    needs = cases["need"].cat.codes.to_numpy()[res]  # the level at occurrence
    by_tier = [_count(tiers == i) for i in range(len(LEVELS))]
    by_need = [_count(needs == i) for i in range(len(LEVELS))]
    found = disc >= warmup
    channels = channel[found]
    by_channel = {c: _count(channels == CHANNELS.index(c)) for c in CHANNELS}
    deadline_at = disc + deadline
    due = (deadline_at >= warmup) & (deadline_at <= horizon)
    in_time = np.subtract(res_t, disc, out=deadline_at) <= deadline  # False where unresolved (NaN)
    enf = res & (tier == LEVELS.index("enforcement"))
    since = col["occurred_at"] >= warmup
    one = (requests["kind"] == "one_thing").to_numpy()
    ot = requests[one]
    ot_done = ot[ot["completed_at"].to_numpy() >= warmup]
    requests = requests[~one]
    sub, done = requests["submitted_at"].to_numpy(), requests["completed_at"].to_numpy()
    finished = done >= warmup
    req_due_at = sub + model.params.service_requests.deadline_days
    req_due = (req_due_at >= warmup) & (req_due_at <= horizon)
    nan = float("nan")
    out = {
        **_counts(cases, status),
        "resolution_rate": _ratio(n_res, _count(settled)),
        **{f"tier_share_{k}": _ratio(by_tier[i], n_res) for i, k in enumerate(LEVELS)},
        **{f"plan_share_{k}": _ratio(sum(by_tier[t] for t in ts), n_res) for k, ts in PLAN_TIERS.items()},
        **{f"structural_share_{k}": _ratio(by_need[i], n_res) for i, k in enumerate(LEVELS)},
        "delay_total_mean_days": _mean(total),
        # the order statistics after the mean: they reorder ``total`` in place
        "delay_total_median_days": float(np.median(total, overwrite_input=True)) if n_res else nan,
        "delay_total_p90_days": float(np.quantile(total, 0.9, overwrite_input=True)) if n_res else nan,
        # the others one at a time: with ``total`` the largest temporaries
        **{f"delay_{k}_mean_days": _mean(_delay(col, res, k)) for k in ("discovery", "dispatch", "handling")},
        "on_site_disposal_rate": _mean(cases["on_site"].to_numpy(dtype=float)[enf]),
        "patrol_reported_share": _ratio(sum(by_channel[CHANNELS[c]] for c in PATROL_CHANNELS), channels.size),
        "professional_reported_share": _ratio(by_channel["professional"], channels.size),
        "raised_from_below_share": _ratio(channels.size - by_channel["inspection"], channels.size),
        "completion_within_deadline_rate": _share(in_time, due),
        "supervised_share": _share(cases["supervised"].to_numpy(), found),
        "escalations_per_case": _int_mean(cases["escalations"].to_numpy(), since),
        "bounces_per_case": _int_mean(cases["bounces"].to_numpy(), since),
        "approval_days_mean": _mean((done - sub)[finished]),
        "approval_trips_mean": _mean(requests["trips"].to_numpy()[finished]),
        "approval_completion_rate": _share(done <= req_due_at, req_due),
        "one_thing_days_mean": _mean((ot_done["completed_at"] - ot_done["submitted_at"]).to_numpy()),
        "one_thing_steps_mean": _mean(ot_done["steps"].to_numpy(dtype=float)),
        "one_thing_trips_mean": _mean(ot_done["trips"].to_numpy(dtype=float)),
        "staff_hours": staff_hours(model),
        "overtime_hours": float(model.world.work.overtime_hours.sum()),
        "satisfaction_mean": float(model.mechanisms["population"].satisfaction.mean()),
        "reopened_share": _share(cases["reopened"].to_numpy() > 0, res),
        "poor_closed_share": _share(cases["poor"].to_numpy(), status == 0),
        "police_reported_share": _ratio(by_channel["police"], channels.size),
    }
    out["tier_distance_from_target"] = tier_distance({k: out[f"plan_share_{k}"] for k in TARGET_TIER_SHARES})
    return out


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
        for name, d in delay_parts({c: grp[c].to_numpy(dtype=float) for c in DELAY_TIMES}).items():
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
