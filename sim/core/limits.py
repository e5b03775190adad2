"""Limits checked before any work starts: seeds, the horizon, and the memory a run needs.

A run is refused, with one line saying why and what to change, when its seed is not
in ``0 .. 2**63 - 1``, its horizon is longer than :data:`MAX_DAYS`, or its estimated
peak memory (:func:`estimated_bytes`: expected cases and service requests over the
horizon, residents, grids and staff) exceeds the machine's memory. The horizon and
memory caps, and the cap on the runs of an experiment, comparison or attribution
(:data:`MAX_RUNS`), are lifted by setting the environment variable ``GOVSIM_ALLOW_LARGE=1``,
for the rare real need.
"""

from __future__ import annotations

import os

from sim.core.params import Params
from sim.errors import GovsimError

ALLOW_LARGE = "GOVSIM_ALLOW_LARGE"
"""Environment variable that lifts the size caps when set to 1."""
MAX_DAYS = 3650
"""Longest horizon without the override (ten years)."""
MAX_SEED = 2**63 - 1
"""Largest seed (seeds are stored as 64-bit signed integers)."""
MAX_RUNS = 100_000
"""Most runs of one experiment, comparison or attribution without the override (days of computing)."""

# Peak bytes per item, measured on runs of 20,000 to 1.5 million residents (README, Speed)
# and rounded up: the fixed cost of the libraries, a case, a service request, a resident,
# a grid (its team agent and routing rows) and a member of staff.
_BASE, _CASE, _REQUEST, _RESIDENT, _GRID, _STAFF = 300e6, 500, 300, 100, 2000, 64


def allow_large() -> bool:
    """Whether ``GOVSIM_ALLOW_LARGE=1`` lifts the size caps."""
    return os.environ.get(ALLOW_LARGE, "") == "1"


def check_seed(seed: int, source: str = "--seed") -> None:
    """Refuse a seed outside ``0 .. MAX_SEED``."""
    if not 0 <= seed <= MAX_SEED:
        raise GovsimError(f"{source}: {seed} is not allowed: a seed is a whole number from 0 to 2**63 - 1")


def check_days(days: int, source: str = "--days") -> None:
    """Refuse a horizon below 1 day or, without the override, above :data:`MAX_DAYS`."""
    if days < 1:
        raise GovsimError(f"{source}: {days} is not allowed: at least 1 day")
    if days > MAX_DAYS and not allow_large():
        raise GovsimError(
            f"{source}: {days} days is more than {MAX_DAYS} (ten years); "
            f"set {ALLOW_LARGE}=1 to allow longer horizons"
        )


def check_runs(runs: int, what: str) -> None:
    """Refuse, without the override, more than :data:`MAX_RUNS` runs (``what`` says how they are counted)."""
    if runs > MAX_RUNS and not allow_large():
        raise GovsimError(
            f"{runs:,} runs ({what}) is more than {MAX_RUNS:,}; run fewer or set {ALLOW_LARGE}=1 to allow it"
        )


def estimated_bytes(params: Params, days: int) -> float:
    """Rough peak memory of a run (bytes), from its sizes; no allocation."""
    pop, sr, g = params.population, params.service_requests, params.grid
    per_day = pop.residents / 1000
    cases = sum(c.rate_per_1000_per_day for c in params.categories.values()) * per_day * days
    requests = (sr.rate_per_1000_per_day + sr.one_thing.rate_per_1000_per_day) * per_day * days
    per_grid = pop.households_per_grid * pop.persons_per_household
    grids = pop.towns * max(1, round(pop.residents / per_grid / pop.towns))  # as in sim.core.places
    staff_per_10k = (
        params.departments.staff_per_10k
        + params.enforcement.staff_per_10k
        + params.dispatch.centre_staff_per_10k
        + params.one_window.desk_staff_per_10k
        + params.one_window.window_staff_per_10k
    )
    grid_staff = g.patrollers_per_grid + g.leaders_per_grid + g.volunteers_per_grid
    staff = staff_per_10k * pop.residents / 1e4 + grids * grid_staff
    sizes = _CASE * cases + _REQUEST * requests + _RESIDENT * pop.residents + _GRID * grids + _STAFF * staff
    return _BASE + sizes


def machine_bytes() -> float:
    """The machine's physical memory (bytes)."""
    return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check_run(params: Params, days: int, seed: int) -> None:
    """Refuse a run whose seed, horizon or estimated memory is out of bounds, before it starts.

    Raises:
        GovsimError: one line naming the limit, the value and how to change or lift it.
    """
    check_seed(seed)
    check_days(days)
    need = estimated_bytes(params, days)
    have = machine_bytes()
    if need > have and not allow_large():
        raise GovsimError(
            f"{params.name} over {days} days needs about {need / 1e9:,.1f} GB of memory, more than this "
            f"machine's {have / 1e9:,.1f} GB; shorten the horizon or reduce population.residents or the "
            f"rates, or set {ALLOW_LARGE}=1 to try anyway"
        )
