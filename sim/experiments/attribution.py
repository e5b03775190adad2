"""Attribution: how much of the change between two scenarios each mechanism accounts for.

The parameters in which scenario ``TO`` differs from ``FROM`` are grouped into
*mechanisms*: the reform switches of :data:`sim.core.switches.SWITCHES` (a differing
path no switch owns becomes its own mechanism, named by its section). Every coalition
of mechanisms is run — ``FROM`` with ``TO``'s values for the coalition's parameters —
with the same replication seeds
(common random numbers). The Shapley value of a mechanism is its marginal contribution
averaged over all orders in which the mechanisms could be switched on; it is computed
per replication, so its interval is a paired one. Shapley values sum to the total
change (efficiency), and a mechanism that changes nothing gets zero. With more than
``max_exact`` mechanisms, orders are sampled (the same orders in every replication);
the sum still equals the total change exactly.

The equal-cost control is ``FROM`` with department, enforcement and desk staff scaled so
that its paid staff-hours equal ``TO``'s: the change it shows is what the money would buy
without the structure.

Over posterior draws (``draws``, :mod:`sim.experiments.posterior`) every coalition and the
control run under each draw's context parameters with the same replication seeds; Shapley values
are computed per draw and replication, and their intervals combine parameter and run-to-run
uncertainty (:func:`sim.experiments.uncertainty.combine`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.core.limits import check_runs
from sim.core.params import CONTEXT_SECTIONS, Params
from sim.core.rng import replication_seeds
from sim.core.runner import run
from sim.core.scenarios import load_scenario
from sim.core.staffing import scenario_paid_hours
from sim.core.switches import BY_NAME, switch_of
from sim.errors import GovsimError
from sim.experiments.replicate import Run, interval, local_executor, paired_runs, replicate
from sim.experiments.uncertainty import DRAW, combine

SKIP = ("name", "description", "context")


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping) and k != "categories" and not prefix.startswith("categories"):
            out.update(_flatten(v, path + "."))
        else:
            out[path] = v
    return out


def differences(a: Params, b: Params) -> dict[str, tuple[Any, Any]]:
    """Parameter paths whose values differ between two resolved scenarios."""
    fa, fb = _flatten(a.model_dump()), _flatten(b.model_dump())
    return {
        k: (fa.get(k), fb.get(k))
        for k in sorted(set(fa) | set(fb))
        if k not in SKIP and fa.get(k) != fb.get(k)
    }


def mechanism_of(path: str) -> str:
    """The mechanism a parameter path belongs to: its switch (:data:`sim.core.switches.SWITCHES`),
    or the switch that one requires (they can only be switched on together)."""
    name = switch_of(path)
    s = BY_NAME.get(name)
    return s.requires if s is not None and s.requires else name


def group(diff: Mapping[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    """Differing paths grouped by mechanism: mechanism → {path: TO's value}."""
    out: dict[str, dict[str, Any]] = {}
    for path, (_, to) in diff.items():
        out.setdefault(mechanism_of(path), {})[path] = to
    return out


def _apply(base: Params, values: Mapping[str, Any]) -> Params:
    tree = base.model_dump()
    for path, v in values.items():
        node = tree
        *parents, leaf = path.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = v
    return Params.model_validate(tree)


@dataclass(frozen=True)
class Attribution:
    """Results of an attribution.

    Attributes:
        shares: one row per KPI and mechanism: ``contribution_mean/lo/hi`` (Shapley value,
            KPI units) and ``share_mean`` (of the total change), plus a ``TOTAL`` row; over
            posterior draws also ``draws, var_parameter, var_runs, dominant``.
        runs: one row per coalition run (coalition, draw if any, replication seed, KPIs).
        control: the equal-cost control's change per KPI (mean and interval).
        mechanisms: mechanism → the paths and ``TO`` values it switches.
    """

    shares: pd.DataFrame
    runs: pd.DataFrame
    control: pd.DataFrame
    mechanisms: dict[str, dict[str, Any]]


def _coalition_run(r: Run) -> dict[str, Any]:
    summary = run(r.params, seed=r.seed, days=r.days, warmup=r.warmup).summary
    key = {"coalition": r.key[1], DRAW: r.key[0]} if isinstance(r.key, tuple) else {"coalition": r.key}
    return {**key, "seed": r.seed, **{str(k): v for k, v in summary.items()}}


def shapley_orders(mechs: Sequence[str], max_exact: int, samples: int, seed: int) -> list[tuple[str, ...]]:
    """All orders of the mechanisms, or ``samples`` random ones when there are too many."""
    if len(mechs) <= max_exact:
        return list(itertools.permutations(mechs))
    rng = np.random.default_rng(seed)
    return [tuple(mechs[i] for i in rng.permutation(len(mechs))) for _ in range(samples)]


def shapley(values: Mapping[frozenset[str], float], orders: Sequence[tuple[str, ...]]) -> dict[str, float]:
    """Average marginal contributions over ``orders`` (exact Shapley values over all orders)."""
    phi: dict[str, float] = dict.fromkeys(orders[0], 0.0)
    for order in orders:
        have: frozenset[str] = frozenset()
        for m in order:
            phi[m] += values[have | {m}] - values[have]
            have = have | {m}
    return {m: v / len(orders) for m, v in phi.items()}


def equal_cost_control(base: Params, target: Params, days: int = 365) -> Params:
    """``base`` with department, enforcement and desk staff scaled to ``target``'s paid
    staff-hours over ``days`` days (counted from the parameters, :mod:`sim.core.staffing`)."""
    goal = scenario_paid_hours(target, days)

    def hours(f: float) -> float:
        return scenario_paid_hours(_scaled(base, f), days)

    lo, hi = 0.1, 10.0
    if not hours(lo) <= goal <= hours(hi):
        raise GovsimError("no staffing of the baseline's departments matches the reform's staff-hours")
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if hours(mid) < goal else (lo, mid)
    return _scaled(base, (lo + hi) / 2).model_copy(update={"name": f"{base.name}_equal_cost"})


def _scaled(base: Params, f: float) -> Params:
    return _apply(
        base,
        {
            "departments.staff_per_10k": base.departments.staff_per_10k * f,
            "enforcement.staff_per_10k": base.enforcement.staff_per_10k * f,
            "one_window.desk_staff_per_10k": base.one_window.desk_staff_per_10k * f,
        },
    )


def attribute(
    a: Params,
    b: Params,
    kpis: Sequence[str],
    reps: int = 5,
    seed: int = 0,
    days: int = 365,
    workers: int = 1,
    max_exact: int = 6,
    samples: int = 200,
    progress: Callable[[int, int], None] | None = None,
    warmup: int | str = "auto",
    draws: Sequence[Mapping[str, Any]] = (),
) -> Attribution:
    """Shapley attribution of the change from ``a`` to ``b`` to mechanisms, with intervals.

    Args:
        a, b: the resolved FROM and TO scenarios (same context).
        kpis: the KPIs to attribute.
        reps, seed, days: replications (paired seeds), root seed and horizon.
        workers: parallel processes.
        max_exact: up to this many mechanisms, all orders are used (exact Shapley).
        samples: orders sampled beyond that.
        progress: called with the runs done and the runs in all: once with 0 when every
            check has passed and the runs begin, then after each run.
        warmup: days each run's KPIs leave out, or ``"auto"`` (:func:`sim.core.runner.run`).
        draws: the overrides of posterior draws, each applied to both ``a`` and ``b``; the
            attribution then runs under every draw (none: once, as ``a`` and ``b`` are).

    Raises:
        GovsimError: the scenarios differ in their context or not at all, a coalition cannot
            be switched on, a draw changes what differs, or there are more runs than
            :data:`sim.core.limits.MAX_RUNS` without the override (checked before any run).
    """
    diff = differences(a, b)
    if any(
        p.split(".", 1)[0] in CONTEXT_SECTIONS
        for p in diff
    ):
        raise GovsimError("the two scenarios have different contexts; attribution needs the same context")
    mechs = group(diff)
    if not mechs:
        raise GovsimError(f"{a.name} and {b.name} do not differ: nothing to attribute")
    names = list(mechs)
    orders = shapley_orders(names, max_exact, samples, seed)
    coalitions = sorted(
        {frozenset(o[:i]) for o in orders for i in range(len(o) + 1)}, key=lambda s: (len(s), sorted(s))
    )
    check_runs(
        (len(coalitions) + 1) * reps * max(len(draws), 1),
        f"coalitions{' × draws' if draws else ''} × replications, with the equal-cost control",
    )
    control_key = frozenset({"__control__"})
    variants: dict[Any, Params] = {}
    for d, a_d, b_d in _under_draws(a, b, draws):
        if d is not None and group(differences(a_d, b_d)) != mechs:
            raise GovsimError(f"posterior draw {d} changes what differs between {a.name} and {b.name}")
        for c in coalitions:
            try:
                values = {p: v for m in c for p, v in mechs[m].items()}
                variants[c if d is None else (d, c)] = _apply(a_d, values)
            except ValueError as exc:
                raise GovsimError(f"mechanisms {sorted(c)} cannot be switched on alone: {exc}") from None
        variants[control_key if d is None else (d, control_key)] = equal_cost_control(a_d, b_d, days)
    jobs = paired_runs(variants, reps, seed, days, warmup)
    seeds = replication_seeds(seed, reps)
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(jobs))

    if progress is not None:  # every check passed: the runs begin
        progress(0, len(jobs))
    with local_executor(workers) as pool:
        runs = pd.DataFrame(replicate(_coalition_run, jobs, pool, step))
    return Attribution(
        _shares(runs, names, orders, kpis, seeds),
        runs.assign(coalition=runs["coalition"].map(lambda c: "+".join(sorted(c)) or "FROM")),
        _control(runs, kpis, seeds, names, control_key),
        mechs,
    )


def _under_draws(
    a: Params, b: Params, draws: Sequence[Mapping[str, Any]]
) -> list[tuple[int | None, Params, Params]]:
    """(draw, FROM, TO) under each draw's overrides; (None, a, b) without draws."""
    if not draws:
        return [(None, a, b)]
    return [(d, load_scenario(a, overrides=o), load_scenario(b, overrides=o)) for d, o in enumerate(draws)]


def _replications(runs: pd.DataFrame, seeds: list[int]) -> Iterator[tuple[dict[str, int], pd.DataFrame]]:
    """({draw: d} or {}, the coalition runs of one replication), by draw, then replication seed."""
    for d in sorted(runs[DRAW].unique()) if DRAW in runs else [None]:
        at = runs if d is None else runs[runs[DRAW] == d]
        for s in seeds:
            yield ({} if d is None else {DRAW: int(d)}), at[at["seed"] == s]


def _summary(frame: pd.DataFrame, column: str) -> tuple[float, float, float, dict[str, Any]]:
    """Mean and interval of a column over replications (combined over draws, with its components)."""
    if DRAW not in frame:
        return (*interval(frame[column]), {})
    c = combine([g[column].dropna().to_numpy(dtype=float) for _, g in frame.groupby(DRAW)])
    return c.mean, c.lo, c.hi, c.components()


def _value_table(sub: pd.DataFrame, kpi: str) -> dict[frozenset[str], float]:
    return {c: float(v) for c, v in zip(sub["coalition"], sub[kpi], strict=True)}


def _shares(
    runs: pd.DataFrame,
    names: list[str],
    orders: Sequence[tuple[str, ...]],
    kpis: Sequence[str],
    seeds: list[int],
) -> pd.DataFrame:
    full = frozenset(names)
    rows = []
    for kpi in kpis:
        per_rep = []
        for key, sub in _replications(runs, seeds):
            v = _value_table(sub, kpi)
            per_rep.append({**key, **shapley(v, orders), "TOTAL": v[full] - v[frozenset()]})
        frame = pd.DataFrame(per_rep)
        total_mean = _summary(frame, "TOTAL")[0]
        for m in [*names, "TOTAL"]:
            mean, lo, hi, extra = _summary(frame, m)
            rows.append(
                {
                    "kpi": kpi,
                    "mechanism": m,
                    "contribution_mean": mean,
                    "contribution_lo": lo,
                    "contribution_hi": hi,
                    "share_mean": mean / total_mean if total_mean else math.nan,
                    "n": len(frame),
                    **extra,
                }
            )
    return pd.DataFrame(rows)


def _control(
    runs: pd.DataFrame, kpis: Sequence[str], seeds: list[int], names: list[str], key: frozenset[str]
) -> pd.DataFrame:
    rows = []
    for kpi in kpis:
        changes = []
        for at, sub in _replications(runs, seeds):
            v = _value_table(sub, kpi)
            changes.append(
                {**at, "control": v[key] - v[frozenset()], "reform": v[frozenset(names)] - v[frozenset()]}
            )
        frame = pd.DataFrame(changes)
        m, lo, hi, extra = _summary(frame, "control")
        rows.append(
            {
                "kpi": kpi,
                "control_change_mean": m,
                "control_change_lo": lo,
                "control_change_hi": hi,
                "reform_change_mean": float(np.mean(frame["reform"])),
                **extra,
            }
        )
    return pd.DataFrame(rows)
