"""The dashboard's state, without any web framework: controls, the live model, chart data.

Everything the page shows is computed here, so it can be tested without a browser:

- :class:`Controls` — what the person chose (scenario, mechanism switches, a few key
  parameters); :func:`controls_for` reads a scenario's own values into controls and
  :func:`build_params` turns controls back into a validated :class:`~sim.core.params.Params`.
- :class:`Session` — one live :class:`~sim.core.model.GovModel` built from controls, stepped
  day by day, with the per-day history the charts need (recorded as it steps, so a
  chart never rescans the whole ledger).
- :class:`View` — an immutable snapshot of the chart data after the latest step.

The model core knows nothing of this module (nor of the dashboard package).
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from sim.core.kinds import LEVELS, PLAN_TIERS, Kind
from sim.core.metrics import DELAYS, TARGET_TIER_SHARES, delay_parts, tier_distance
from sim.core.model import GovModel
from sim.core.params import Params
from sim.core.scenarios import load_scenario
from sim.core.steady import STOCKS, TREND_BATCHES, assess
from sim.core.switches import BY_NAME, SWITCHES

EnforcementMode = Literal["line", "comprehensive"]
MapMetric = Literal["backlog", "grid_queue", "latent"]

MAP_METRICS: dict[str, str] = {
    "backlog": "open cases found but not yet resolved (waiting anywhere)",
    "grid_queue": "cases queued at the grid team",
    "latent": "issues not yet discovered",
}
"""What the map can colour the grids by, with the legend text."""

DELAY_PARTS = tuple(DELAYS)
"""Delay components shown over time (defined in :data:`sim.core.metrics.DELAYS`)."""

SMOOTHING_DAYS = 7
"""The delay chart shows means over this many trailing days."""

MECHANISM_SWITCHES: dict[str, str] = {s.name: s.toggle for s in SWITCHES if s.toggle is not None}
"""The page's mechanism switches: each reform switch of :data:`sim.core.switches.SWITCHES`
that a boolean parameter turns on (name → that parameter), in the declared order."""

PARAMETERS: dict[str, str] = {
    "enforcement_mode": "enforcement.mode",
    "patrollers_per_grid": "grid.patrollers_per_grid",
    "misroute_probability": "dispatch.misroute_probability",
    "department_staff_per_10k": "departments.staff_per_10k",
    "enforcement_staff_per_10k": "enforcement.staff_per_10k",
}
"""The other controls: field of :class:`Controls` → the parameter it sets."""


def _value(tree: Any, path: str) -> Any:
    """The value at a dotted parameter path (``grid.separation``) of a parameter tree."""
    return functools.reduce(getattr, path.split("."), tree)


def _default(path: str) -> Any:
    """The default value of a parameter, from its section's defaults in :class:`Params`."""
    section, rest = path.split(".", 1)
    return _value(Params.model_fields[section].default, rest)


@dataclass(frozen=True)
class Controls:
    """What the person chose on the page; defaults are the parameter tree's.

    Attributes:
        scenario: a built-in scenario name.
        context: a context name or file replacing the scenario's, or None for its own.
        residents: residents of the place (None: the context's).
        seed: the run's seed.
        mechanisms: the names of the checked mechanism switches (keys of
            :data:`MECHANISM_SWITCHES`); see :meth:`is_on` for what runs.
        enforcement_mode: ``enforcement.mode``; ``comprehensive`` on a scenario that
            devolves no domains devolves all of them (else the switch would change nothing).
        patrollers_per_grid: ``grid.patrollers_per_grid``.
        misroute_probability: ``dispatch.misroute_probability``.
        department_staff_per_10k: ``departments.staff_per_10k``.
        enforcement_staff_per_10k: ``enforcement.staff_per_10k``.

    Raises:
        ValueError: a mechanism that is not a switch of the page.
    """

    scenario: str = "baseline"
    context: str | None = None
    residents: int | None = None
    seed: int = 0
    mechanisms: frozenset[str] = frozenset(n for n, path in MECHANISM_SWITCHES.items() if _default(path))
    enforcement_mode: EnforcementMode = _default(PARAMETERS["enforcement_mode"])
    patrollers_per_grid: int = _default(PARAMETERS["patrollers_per_grid"])
    misroute_probability: float = _default(PARAMETERS["misroute_probability"])
    department_staff_per_10k: float = _default(PARAMETERS["department_staff_per_10k"])
    enforcement_staff_per_10k: float = _default(PARAMETERS["enforcement_staff_per_10k"])

    def __post_init__(self) -> None:
        unknown = sorted(self.mechanisms - MECHANISM_SWITCHES.keys())
        if unknown:
            raise ValueError(
                f"no mechanism switch {unknown} on the page; use some of {list(MECHANISM_SWITCHES)}"
            )

    def is_on(self, name: str) -> bool:
        """Whether a mechanism runs: it is checked, and so is the switch it requires, if any
        (the deadline watch needs a centre: nobody watches without one)."""
        required = BY_NAME[name].requires
        return name in self.mechanisms and (required is None or self.is_on(required))

    def describe(self) -> str:
        """A one-line label of the controls (for the page and chart legends)."""
        switches = [f"{n.replace('_', ' ')} {'on' if self.is_on(n) else 'off'}" for n in MECHANISM_SWITCHES]
        return " · ".join(
            [
                self.scenario,
                *switches,
                f"{self.enforcement_mode} enforcement",
                f"{self.patrollers_per_grid} patroller(s) per grid",
                f"misroute {self.misroute_probability:.2f}",
                f"staff per 10k: departments {self.department_staff_per_10k:g}, "
                f"enforcement {self.enforcement_staff_per_10k:g}",
            ]
        )


def controls_for(
    scenario: str, context: str | None = None, residents: int | None = None, seed: int = 0
) -> Controls:
    """The controls showing a scenario's own values.

    Args:
        scenario: a built-in scenario name or a scenario file.
        context: a context replacing the scenario's, or None.
        residents: residents override, or None for the context's.
        seed: the seed to keep.

    Returns:
        Controls whose :func:`build_params` gives back the scenario unchanged (apart from
        ``residents``).
    """
    p = load_scenario(scenario, context=context)
    return Controls(
        scenario=scenario,
        context=context,
        residents=residents,
        seed=seed,
        mechanisms=frozenset(n for n, path in MECHANISM_SWITCHES.items() if _value(p, path)),
        **{name: _value(p, path) for name, path in PARAMETERS.items()},
    )


def overrides_for(c: Controls) -> dict[str, Any]:
    """The parameter overrides (dotted paths) that the controls stand for."""
    out: dict[str, Any] = {path: c.is_on(n) for n, path in MECHANISM_SWITCHES.items()}
    out |= {path: getattr(c, name) for name, path in PARAMETERS.items()}
    if c.residents is not None:
        out["population.residents"] = int(c.residents)
    if c.enforcement_mode == "comprehensive":
        base = load_scenario(c.scenario, context=c.context)
        if not base.enforcement.devolved_domains:
            out["enforcement.devolved_domains"] = list(base.domains)
    return out


def build_params(c: Controls) -> Params:
    """The validated parameter tree of the controls.

    Raises:
        ScenarioError: a control value the parameter tree does not allow.
    """
    return load_scenario(c.scenario, context=c.context, overrides=overrides_for(c))


# ------------------------------------------------------------------------ chart data
@dataclass(frozen=True)
class GridMap:
    """Grids laid out town by town: one row per village, one column per grid of a village.

    Towns sit side by side, separated by an empty column. There are no coordinates in
    the model; the layout only keeps neighbours in the hierarchy together.

    Attributes:
        z: values per cell (None where there is no grid).
        grid: the grid number of each cell (-1 where there is none).
        x_labels: column labels (the grid's place in its village; "" between towns).
        y_labels: row labels (the village's place in its town).
        towns: (first column, town number) of each town block.
        zmax: the top of the colour scale.
        metric: what the values are (a key of :data:`MAP_METRICS`).
    """

    z: list[list[float | None]]
    grid: list[list[int]]
    x_labels: list[str]
    y_labels: list[str]
    towns: list[tuple[int, int]]
    zmax: float
    metric: str


@dataclass(frozen=True)
class View:
    """Everything the page shows after the latest step (immutable).

    Attributes:
        day: days simulated so far.
        horizon: the last day the run may reach.
        label: what is running (scenario, context, residents).
        kpis: headline numbers so far.
        grid_map: the map of grids.
        tier_shares: share of resolved cases per tier of the 70/20/10 plan, the village in the
            grid (NaN before any is resolved).
        tier_counts: resolved cases per tier.
        targets: the reforms' 70/20/10 aim.
        days: day numbers of the series (1 … day).
        delays: trailing-mean delay per component (days; NaN on days with nothing resolved).
        open_series: day-end stocks (open, latent, backlog by unit kind).
        previous: the open-cases series of the run before the last change, if any.
        step_ms: wall time of the latest day's step in milliseconds.
        steady: whether the run so far has reached a steady state (:func:`steady_verdict`).
    """

    day: int
    horizon: int
    label: str
    kpis: dict[str, float]
    grid_map: GridMap
    tier_shares: dict[str, float]
    tier_counts: dict[str, int]
    targets: dict[str, float]
    days: list[int]
    delays: dict[str, list[float]]
    open_series: dict[str, list[float]]
    previous: tuple[str, list[float]] | None
    step_ms: float
    steady: str


def steady_verdict(snapshots: dict[str, list[float]]) -> str:
    """The steady-state verdict of the days run so far, as the page shows it: the MSER-5
    warm-up and the trend of each stock after it (:func:`sim.core.steady.assess`)."""
    st = assess(pd.DataFrame({k: snapshots[k] for k in STOCKS if k in snapshots}))
    if st.steady is None:
        return f"steady state: too early to tell (needs {2 * TREND_BATCHES} days after the warm-up)"
    if st.steady:
        return f"steady state reached after a {st.warmup}-day warm-up"
    grows = ", ".join(f"{t.stock.replace('_', ' ')} {t.slope_per_day:+.1f}/day" for t in st.growing)
    return f"NO steady state: {grows}; delays grow with the horizon"


def grid_layout(model: GovModel) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Row and column of every grid on the map.

    Returns:
        (row, col, n_rows, n_cols): rows are villages of a town, columns grids of a
        village; town ``t`` starts at column ``t * (grids_per_village + 1)``.
    """
    P = model.places
    gpv = model.params.population.grids_per_village
    g = np.arange(P.n_grids)
    town = P.town_of_grid.astype(np.int64)
    local = g - town * P.grids_per_town
    row, pos = local // gpv, local % gpv
    col = town * (gpv + 1) + pos
    n_rows = int(-(-P.grids_per_town // gpv))
    n_cols = int(P.towns * (gpv + 1) - 1)
    return row, col, n_rows, n_cols


def grid_values(model: GovModel, metric: str) -> np.ndarray:
    """One value per grid for the map.

    Args:
        model: the live model.
        metric: ``backlog`` (cases found and not yet resolved, wherever they wait),
            ``grid_queue`` (cases queued at the grid's own team) or ``latent``
            (issues not yet discovered).
    """
    L, n = model.ledger, model.places.n_grids
    if metric == "backlog":
        ids = L.found_unresolved()
    elif metric == "grid_queue":
        queued = L.queued()
        ids = queued[model.units.kind[L.unit[queued]] == Kind.GRID]
    elif metric == "latent":
        ids = L.undiscovered()
    else:
        raise ValueError(f"map metric {metric!r} is not allowed; use one of {list(MAP_METRICS)}")
    return np.bincount(L.grid[ids], minlength=n)[:n].astype(float)


def grid_map(model: GovModel, metric: str, zmax: float = 1.0) -> GridMap:
    """The map of grids coloured by ``metric`` (see :func:`grid_values`).

    Args:
        model: the live model.
        metric: a key of :data:`MAP_METRICS`.
        zmax: the least top of the colour scale (a session keeps the largest value seen,
            so colours mean the same all through a run).
    """
    values = grid_values(model, metric)
    row, col, n_rows, n_cols = grid_layout(model)
    z: list[list[float | None]] = [[None] * n_cols for _ in range(n_rows)]
    gid = [[-1] * n_cols for _ in range(n_rows)]
    for g, (r, c) in enumerate(zip(row.tolist(), col.tolist(), strict=True)):
        z[r][c] = float(values[g])
        gid[r][c] = g
    gpv = model.params.population.grids_per_village
    x_labels = [str(c % (gpv + 1) + 1) if (c + 1) % (gpv + 1) else "" for c in range(n_cols)]
    return GridMap(
        z=z,
        grid=gid,
        x_labels=x_labels,
        y_labels=[f"village {r + 1}" for r in range(n_rows)],
        towns=[(t * (gpv + 1), t) for t in range(model.places.towns)],
        zmax=max(zmax, float(values.max(initial=0.0)), 1.0),
        metric=metric,
    )


@dataclass
class _History:
    """Per-day records the charts need, appended after every step."""

    delay_sum: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in DELAY_PARTS})
    delay_n: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in DELAY_PARTS})
    tier_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(LEVELS), dtype=np.int64))
    total_delay_sum: float = 0.0
    step_seconds: list[float] = field(default_factory=list)


def _trailing_mean(sums: list[float], counts: list[int], window: int) -> list[float]:
    """Mean over the trailing ``window`` days of per-day sums and counts (NaN where no count)."""
    if not sums:
        return []
    s = np.convolve(np.asarray(sums, dtype=float), np.ones(window))[: len(sums)]
    n = np.convolve(np.asarray(counts, dtype=float), np.ones(window))[: len(counts)]
    out = np.divide(s, n, out=np.full(s.shape, np.nan), where=n > 0)
    return [float(x) for x in out]


# --------------------------------------------------------------------------- session
class Session:
    """One person's live model: built from controls, stepped day by day.

    All methods take the session's lock, so a play timer and a button pressed at the
    same moment never step the model at once.

    Args:
        controls: what to build.
        horizon: the last day the run may reach (also sizes the model's records).
    """

    def __init__(self, controls: Controls, horizon: int = 365) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1 day, got {horizon}")
        self.horizon = int(horizon)
        self.lock = threading.RLock()
        self.previous: tuple[str, list[float]] | None = None
        self.playing = False
        """Whether the page plays: its timer's ticks step the model (see ``apply_action``)."""
        self.zmax: dict[str, float] = {}
        self.controls = controls
        self.params = build_params(controls)
        self.model = GovModel(self.params, seed=controls.seed, days=self.horizon)
        self.history = _History()

    # ------------------------------------------------------------------ lifecycle
    def rebuild(self, controls: Controls) -> None:
        """Start again at day 0 with new controls; the old run's open cases stay as ``previous``.

        Raises:
            ScenarioError: the controls do not make a valid scenario (the old run is kept).
        """
        with self.lock:
            params = build_params(controls)  # fails before anything is thrown away
            if self.day > 0:
                self.previous = (self.controls.describe(), list(self.model.snapshots["open_cases"]))
            self.model.release()
            self.controls, self.params = controls, params
            self.model = GovModel(params, seed=controls.seed, days=self.horizon)
            self.history = _History()
            self.zmax = {}

    def close(self) -> None:
        """Free the model (Mesa keeps models alive otherwise; see :meth:`GovModel.release`)."""
        with self.lock:
            self.model.release()

    @property
    def day(self) -> int:
        """Days simulated so far."""
        return int(self.model.steps)

    @property
    def done(self) -> bool:
        """Whether the run has reached its horizon."""
        return self.day >= self.horizon

    # ------------------------------------------------------------------- stepping
    def step(self, days: int = 1) -> int:
        """Simulate up to ``days`` more days (never past the horizon).

        Returns:
            The number of days actually simulated.
        """
        with self.lock:
            n = max(0, min(int(days), self.horizon - self.day))
            for _ in range(n):
                t0 = time.perf_counter()
                self.model.step()
                self.history.step_seconds.append(time.perf_counter() - t0)
                self._record_day(self.day - 1)
            return n

    def _record_day(self, day: int) -> None:
        """Add the cases resolved during ``day`` to the history."""
        L, h = self.model.ledger, self.history
        res = L.column("resolved")
        ids = np.flatnonzero((res >= day) & (res < day + 1))
        times = {
            "occurred_at": L.occurred[ids],
            "discovered_at": L.discovered[ids],
            "dispatched_at": L.dispatched[ids],
            "resolved_at": res[ids],
        }
        parts = delay_parts(times)
        for k, v in parts.items():
            v = v[~np.isnan(v)]
            h.delay_sum[k].append(float(v.sum()))
            h.delay_n[k].append(int(v.size))
        h.tier_counts += np.bincount(L.tier[ids].astype(np.int64), minlength=len(LEVELS))[: len(LEVELS)]
        h.total_delay_sum += float(np.nansum(parts["total"]))

    # ---------------------------------------------------------------------- views
    def view(self, metric: str = "backlog") -> View:
        """The chart data after the latest step."""
        with self.lock:
            m, h = self.model, self.history
            gm = grid_map(m, metric, self.zmax.get(metric, 1.0))
            self.zmax[metric] = gm.zmax
            plan = {k: int(h.tier_counts[list(ts)].sum()) for k, ts in PLAN_TIERS.items()}
            resolved = sum(plan.values())
            shares = {k: (n / resolved if resolved else float("nan")) for k, n in plan.items()}
            snap = m.snapshots
            series = {
                "open cases": snap["open_cases"],
                "not yet discovered": snap["latent_cases"],
                "waiting at grid teams": snap["backlog_grid"],
                "waiting at departments": snap["backlog_department"],
                "waiting at enforcement": snap["backlog_enforcement"],
            }
            L = m.ledger
            kpis = {
                "cases so far": float(L.n),
                "open now": float(L.active.size),
                "resolved": float(resolved),
                "closed": float(L.n_closed()),
                "dropped": float(L.n_dropped()),
                "mean delay (days)": h.total_delay_sum / resolved if resolved else float("nan"),
                "distance from 70/20/10": tier_distance(shares),  # NaN before any is resolved
            }
            p = self.params
            return View(
                day=self.day,
                horizon=self.horizon,
                label=f"{p.name} on {p.context}, {p.population.residents:,} residents, seed {m.seed}",
                kpis=kpis,
                grid_map=gm,
                tier_shares=shares,
                tier_counts=plan,
                targets=dict(TARGET_TIER_SHARES),
                days=list(range(1, self.day + 1)),
                delays={k: _trailing_mean(h.delay_sum[k], h.delay_n[k], SMOOTHING_DAYS) for k in DELAY_PARTS},
                open_series={k: [float(x) for x in v] for k, v in series.items()},
                previous=self.previous,
                step_ms=1000 * h.step_seconds[-1] if h.step_seconds else float("nan"),
                steady=steady_verdict(snap),
            )


class SessionRegistry:
    """Live sessions by id (one per open page), the least recently used dropped past ``limit``.

    Args:
        horizon: the horizon of new sessions.
        limit: how many models to keep in memory at once (a town-scale year is ~100 MB).
    """

    def __init__(self, horizon: int = 365, limit: int = 4) -> None:
        self.horizon, self.limit = int(horizon), int(limit)
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, sid: str, controls: Controls) -> Session:
        """The session ``sid``, built from ``controls`` if it does not exist (or was dropped)."""
        with self._lock:
            s = self._sessions.pop(sid, None)
            if s is None:
                s = Session(controls, self.horizon)
            self._sessions[sid] = s  # most recently used last
            while len(self._sessions) > self.limit:
                old = next(iter(self._sessions))
                self._sessions.pop(old).close()
            return s

    def __len__(self) -> int:
        return len(self._sessions)

    def close_all(self) -> None:
        """Free every session's model."""
        with self._lock:
            for s in self._sessions.values():
                s.close()
            self._sessions.clear()
