"""The compiled case flow's machinery: its caches, its random draws, its log."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numba import njit
from scipy import stats

import sim
import sim.core.jit as jit
import sim.core.mechanisms.flow as flow
from sim.core import ledger, ledger_select, output
from sim.core.draws import (
    RNG_DISPATCH,
    RNG_HANDLING,
    exponential,
    exponential_at,
    stream_keys,
    take,
    uniform,
)
from sim.core.ledger import time_order
from tests.conftest import SMALL


def test_the_flow_is_cached_under_the_stamp_of_every_compiled_source() -> None:
    assert type(flow.run_day._cache._impl.locator).__name__.startswith("Core")
    stamped = {Path(p).name for p, _, _ in jit.source_stamp()}
    assert {"handling.py", "dispatch.py", "ledger_flow.py", "queues.py", "draws.py", "flow.py"} <= stamped


def test_the_stamp_changes_when_a_compiled_source_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "rule.py"
    src.write_text("x = 1\n")
    monkeypatch.setattr(jit, "_SOURCES", [str(src)])
    before = jit.source_stamp()
    src.write_text("x = 22\n")
    os.utime(src, (1e9, 1e9))
    assert jit.source_stamp() != before


def test_an_index_naming_a_class_since_removed_reads_as_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache index whose pickled signatures name a class that no longer exists (an
    update removed its module) is read as empty, so the kernel compiles afresh; numba
    alone raises."""
    import sys
    import types

    from numba.core import caching

    gone = types.ModuleType("govsim_removed_module")

    class State:
        pass

    State.__module__, State.__qualname__ = gone.__name__, "State"
    gone.State = State  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, gone.__name__, gone)
    files = getattr(caching, "IndexDataCacheFile", None) or caching._IndexDataCacheFile
    index = files(str(tmp_path), "kernel", jit.source_stamp())
    index._save_index({(State(),): "kernel-0.nbc"})
    assert index._load_index() != {}
    monkeypatch.delitem(sys.modules, gone.__name__)
    with pytest.raises(ModuleNotFoundError):
        files._load_index.__wrapped__(index)  # numba's own reading
    assert index._load_index() == {}


def test_draws_are_uniform_and_each_stream_counts_its_own() -> None:
    keys, draws = stream_keys(3), np.zeros((2000, 7), dtype=np.int16)
    u = np.array([uniform(keys, draws, RNG_DISPATCH, i) for i in range(2000) for _ in range(5)])
    assert stats.kstest(u, "uniform").pvalue > 0.01
    assert (draws[:, RNG_DISPATCH] == 5).all() and (draws[:, RNG_HANDLING] == 0).all()
    # a case's handling draws do not depend on its dispatch draws
    fresh = np.zeros((2000, 7), dtype=np.int16)
    a = [exponential(keys, draws, RNG_HANDLING, 7, 1.0) for _ in range(3)]
    b = [exponential(keys, fresh, RNG_HANDLING, 7, 1.0) for _ in range(3)]
    assert a == b


def test_a_draw_taken_now_and_computed_later_is_the_draw_of_its_number() -> None:
    """``take`` advances the stream's counter as a draw does; the value computed later from
    its number (``exponential_at``) is the one ``exponential`` gives at once, whatever the
    case draws in between."""
    keys = stream_keys(5)
    now, later = np.zeros((10, 7), dtype=np.int16), np.zeros((10, 7), dtype=np.int16)
    at_once = [exponential(keys, now, RNG_HANDLING, 4, 2.5) for _ in range(3)]
    numbers = [take(later, RNG_HANDLING, 4) for _ in range(3)]
    uniform(keys, later, RNG_HANDLING, 4)  # a draw in between changes nothing already taken
    assert numbers == [0, 1, 2] and later[4, RNG_HANDLING] == 4
    assert [exponential_at(keys, RNG_HANDLING, 4, n, 2.5) for n in numbers] == at_once


def test_a_day_whose_log_fills_resumes_where_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log of a few entries makes the flow stop and resume many times a day: the run is
    the same as with the full log."""
    params = sim.load_scenario("reform", overrides=SMALL)
    whole = sim.run(params, seed=2, days=30)
    monkeypatch.setattr(flow, "LOG_SIZE", 2 * flow.MAX_JOBS + 8)
    pieces = sim.run(params, seed=2, days=30)
    pd.testing.assert_frame_equal(whole.cases, pieces.cases)
    pd.testing.assert_series_equal(whole.summary, pieces.summary)


@pytest.mark.parametrize("ties", ["none", "short runs", "long runs", "outliers", "infinite", "nan"])
def test_time_order_is_the_stable_order_of_times(ties: str) -> None:
    """The due lists' order (time, then id) is a stable sort's: without ties, with short
    runs of equal times and with long ones (buckets sorted by insertion and by merge
    sort), with a few times far from the rest (most in one bucket), and with infinite or
    NaN times, the first or another (sorted whole)."""
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 17, 1000, 5000):
        values = {"short runs": max(n // 4, 1), "long runs": 3}.get(ties)
        t = rng.random(n) if values is None else rng.integers(0, values, n) / 4.0
        if ties in ("outliers", "infinite") and n > 2:
            t[rng.integers(0, n, 2)] = 1e6 if ties == "outliers" else np.inf
        if ties == "nan" and n > 2:
            t[0] = np.nan
            t[rng.integers(1, n, 2)] = np.nan
        assert np.array_equal(time_order(t), np.argsort(t, kind="stable"))


def test_the_ledgers_compiled_queries_answer_as_numpy_does() -> None:
    """Each daily query over the active set (:mod:`sim.core.ledger_select`) gives what the
    numpy expression it replaces gives, in the same order."""
    rng = np.random.default_rng(3)
    stage = rng.integers(0, 7, 5000).astype(np.int8)
    next_t = np.where(rng.random(5000) < 0.2, np.inf, np.floor(rng.random(5000) * 40) / 8)
    unit = rng.integers(0, 50, 5000).astype(np.int32)
    kind = rng.integers(0, 6, 50).astype(np.int8)
    active = np.sort(rng.choice(5000, 1200, replace=False)).astype(np.int64)
    ids, t = ledger_select.due(active, stage, next_t, 1, 3, 3.0)
    pick = active[(stage[active] >= 1) & (stage[active] <= 3) & (next_t[active] < 3.0)]
    pick = pick[np.argsort(next_t[pick], kind="stable")]  # in time, then id order
    assert np.array_equal(ids, pick) and np.array_equal(t, next_t[pick])
    assert np.array_equal(ledger_select.at_stage(active, stage, 0), active[stage[active] == 0])
    due, rest = ledger_select.closing(active, stage, next_t, 4, 5, 6, 3.0)
    closing = (stage[active] == 4) & (next_t[active] < 3.0)
    assert np.array_equal(due, active[closing][np.argsort(next_t[active[closing]], kind="stable")])
    assert np.array_equal(rest, active[~closing & (stage[active] != 5) & (stage[active] != 6)])
    by_stage, by_kind = ledger_select.counts(active, stage, 7, 3, unit, kind, 6)
    assert np.array_equal(by_stage, np.bincount(stage[active], minlength=7))
    queued = active[stage[active] == 3]
    assert np.array_equal(by_kind, np.bincount(kind[unit[queued]], minlength=6))


def test_the_daily_tables_compiled_counts_answer_as_numpy_does() -> None:
    """Counts by day (and group) of times with NaN, times past the horizon and codes out of
    range, as numpy's histogram of the same selection."""
    rng = np.random.default_rng(5)
    t = rng.random(20_000) * 60
    t[rng.random(t.size) < 0.1] = np.nan
    t[:3] = (0.0, 49.999999, 50.0)
    code = rng.integers(-1, 9, t.size).astype(np.int8)
    days = 50
    for group, groups, first in ((None, 1, 0), (code, 5, 0), (code, 3, 4)):
        g = np.zeros(t.size, np.int64) if group is None else group.astype(np.int64) - first
        ok = (t < days) & (g >= 0) & (g < groups)
        want = np.zeros((groups, days), np.int64)
        np.add.at(want, (g[ok], np.floor(t[ok]).astype(np.int64)), 1)
        got = output._counts_by_day(t, days, group, groups, first)
        assert got.shape == (groups, days) and np.array_equal(got, want)


def test_the_ledger_gives_its_rows_their_defaults_as_cases_reach_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows are given their defaults a block at a time as cases reach them, through the
    ledger's growth: every new case's columns hold their defaults but where set, and the
    rows beyond the last block reached are not filled."""
    monkeypatch.setattr(ledger, "FILL_ROWS", 8)
    L = ledger.Ledger(20, np.zeros(1, dtype=np.int8), lambda *_: None)
    assert L._filled_to == 0
    for k, n in enumerate((3, 6, 1, 30, 7)):  # the fourth and fifth grow it
        ids = L.occur(np.full(n, float(k)))
        assert L.n <= L._filled_to <= L._cap
        L.cols["level"][ids] = k  # a column set after occurring keeps its value
    assert (L.n, L._filled_to, L._cap) == (47, 48, 80)  # grown to 40, then 80; filled to 40, then 48
    for name, (_, fill) in ledger._COLUMNS.items():
        col = L.column(name)
        if name in ("self_report_at", "next_t"):
            assert np.array_equal(col, np.repeat(np.arange(5.0), (3, 6, 1, 30, 7)))
        elif name == "level":
            assert np.array_equal(col, np.repeat(np.arange(5), (3, 6, 1, 30, 7)))
        else:
            assert np.array_equal(
                col, np.full(L.n, fill, dtype=col.dtype), equal_nan=col.dtype.kind == "f"
            ), name
    assert (L.route[: L.n] == -1).all() and (L.draws[: L.n] == 0).all()


@pytest.mark.parametrize(
    "scenario", sorted(p.stem for p in (Path(sim.__file__).parents[1] / "scenarios").glob("*.yaml"))
)
def test_the_pinned_kernels_get_arguments_of_one_type_all_run(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daily kernels called past numba's dispatcher (:class:`sim.core.jit.Pinned`: the
    flow, discovery's rule, the requests' rounds) get arguments of the types of their first
    call on every day, also when the ledger and the flow's buffers grow during the run."""
    from sim.core import model as model_module
    from sim.core.jit import Pinned
    from sim.core.ledger import Ledger

    class SmallLedger(Ledger):
        def __init__(self, capacity: int, *args: object) -> None:
            super().__init__(16, *args)  # grows many times

    monkeypatch.setattr(Pinned, "check", True)
    monkeypatch.setattr(model_module, "Ledger", SmallLedger)
    m = model_module.GovModel(sim.load_scenario(scenario, overrides=SMALL), seed=3, days=40)
    m.mechanisms["flow"].buf = flow.Buffers.sized(1)  # grows on the first busy day
    for _ in range(40):
        m.step()
    pins = [
        m.mechanisms["flow"]._run_day,
        m.mechanisms["discovery"]._find,
        m.mechanisms["one_window"]._run_rounds,
    ]
    assert all(p._entry is not None and p._entry is not p.fn for p in pins)  # past the dispatcher
    assert m.ledger.n > 1000 and m.mechanisms["flow"].buf.heap_t.size > 1


def test_a_pinned_kernel_calls_the_machine_code_of_its_first_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """After its first call a :class:`~sim.core.jit.Pinned` calls the compiled code for those
    argument types directly, with the same results; with ``check`` on, other types are an
    error rather than a misread."""
    from sim.core.jit import Pinned
    from sim.core.ledger_select import at_stage

    stage = np.array([0, 1, 0, 2], dtype=np.int8)
    pinned = Pinned(at_stage)
    first = pinned(np.arange(4), stage, 0)
    assert pinned._entry is not at_stage  # the overload's own entry point
    assert np.array_equal(first, [0, 2]) and np.array_equal(pinned(np.arange(4), stage, 2), [3])
    monkeypatch.setattr(Pinned, "check", True)
    with pytest.raises(TypeError, match="argument types changed"):
        pinned(np.arange(4, dtype=np.int32), stage, 0)


@njit
def _touch(a, b, ids):  # type: ignore[no-untyped-def]
    """Sums ``a[ids] + b[ids, 1]``, prefetching each row first (module level: a kernel
    compiled inside a test leaves numba's weak proxies to its code dead after the test)."""
    total = 0.0
    for k in range(ids.size):
        jit.prefetch(a, ids[k])
        jit.prefetch(b, ids[k])
        total += a[ids[k]] + b[ids[k], 1]
    return total


@njit
def _prefetch_scalar(x):  # type: ignore[no-untyped-def]
    jit.prefetch(x, 0)


@njit
def _hit_reference(u, x):  # type: ignore[no-untyped-def]
    return u < -np.expm1(-x)


def test_a_prefetch_hint_compiles_for_every_index_type_and_changes_nothing() -> None:
    """``prefetch`` (the case flow's hint to warm a case's rows) compiles for 1- and 2-D
    arrays of any dtype, contiguous (the item's size as the stride) or not, with signed or
    unsigned indices, emits a prefetch instruction, and leaves every value as it was; on a
    non-array it is a typing error."""
    from numba.core.errors import TypingError

    a, b = np.arange(100, dtype=np.int16), np.arange(200.0).reshape(100, 2)
    before = a.copy(), b.copy()
    for ids in (np.array([3, 99, 0], dtype=np.int32), np.array([3, 99, 0], dtype=np.uint64)):
        assert _touch(a, b, ids) == 3 + 99 + 0 + b[[3, 99, 0], 1].sum()
        assert _touch(b[:, 1], b, ids) == 2 * b[[3, 99, 0], 1].sum()  # a strided column
    assert np.array_equal(a, before[0]) and np.array_equal(b, before[1])
    assert all("prefetch" in _touch.inspect_asm(sig) for sig in _touch.signatures)
    with pytest.raises(TypingError):
        _prefetch_scalar(1.5)


@pytest.mark.parametrize("separate", [True, False])
def test_discoverys_numbers_skip_the_channels_off_and_leave_the_stream_as_drawing_them(
    separate: bool,
) -> None:
    """Each channel on gets the rows one call for all of them gives, each off none, and the
    stream goes on as after that call, whichever channels are off."""
    from sim.core.mechanisms.discovery import _draws
    from sim.core.rng import stream

    n, sizes = 37, (2, 2, 2) if separate else (2, 2, 2, 1)
    whole = stream(4, "discovery").random((sum(sizes), n))
    after = stream(4, "discovery")
    after.random((sum(sizes), n))
    want_next = after.random(5)
    edges = np.cumsum((0, *sizes))
    for on in np.ndindex(*(2,) * len(sizes)):
        rng = stream(4, "discovery")
        got = _draws(rng, n, tuple((k, bool(o)) for k, o in zip(sizes, on, strict=True)))
        for c, (k, o) in enumerate(zip(sizes, on, strict=True)):
            rows = whole[edges[c] : edges[c + 1]]
            want = (rows if k > 1 else rows[0]) if o else np.empty((k, 0) if k > 1 else 0)
            assert got[c].shape == want.shape and np.array_equal(got[c], want)
        assert np.array_equal(rng.random(5), want_next)


def test_discovery_decides_a_hit_exactly_as_expm1_does() -> None:
    """Discovery's hit test, which calls ``expm1`` only between the bounds of 1 - exp(-x)
    of degrees 4 and 5, decides as ``u < -expm1(-x)`` for every draw: random ones, and
    those within a few ulps of the threshold and of each bound (and of those of degrees 2
    and 3, the bounds it used before)."""
    from sim.core.mechanisms.discovery import _hit

    rng = np.random.default_rng(7)
    fixed = [0.0, 1e-300, 1e-12, 1e-4, 0.5, 1.0, 3.0, 50.0, np.inf]
    x = np.concatenate([fixed, rng.exponential(0.3, 400), rng.random(200) * 5])
    for xi in x:
        with np.errstate(invalid="ignore"):  # inf - inf at x = inf
            p3 = xi - xi * xi * (0.5 - xi / 6.0)
            p4 = xi * (1.0 - xi * (0.5 - xi * (1.0 / 6.0 - xi / 24.0)))
            edges = [-np.expm1(-xi), xi - 0.5 * xi * xi, p3, p4, p4 + xi**5 / 120.0]
        u = [np.nextafter(e, d) for e in edges if 0 <= e < 1 for d in (-1.0, 2.0)]
        u += [e for e in edges if 0 <= e < 1] + list(rng.random(50)) + [0.0]
        for ui in u:
            assert _hit(ui, xi) == _hit_reference(ui, xi), (ui, xi)


def test_a_window_share_is_one_for_an_issue_latent_all_window() -> None:
    """An issue that occurred before the window opened has the whole window's hazard
    (its share is not divided out), and one that occurred inside it its remaining part."""
    from sim.core.mechanisms.discovery import _window_time

    lo, hi, hazard = 10.3, 10.7, 2.0
    u0 = -np.expm1(-hazard) * (1 - 1e-6)  # a hit with the whole window, a miss with less of it
    assert _window_time(9.0, lo, hi, hazard, u0, 0.5) == lo + 0.5 * (hi - lo)
    assert _window_time(lo + 0.2, lo, hi, hazard, u0, 0.5) == np.inf
    u_part = -np.expm1(-hazard * 0.5) * (1 - 1e-6)
    assert _window_time(lo + 0.2, lo, hi, hazard, u_part, 0.5) == pytest.approx(lo + 0.3)
