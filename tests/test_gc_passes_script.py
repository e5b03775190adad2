"""benchmarks/gc_passes.py: what a worker of it reports, on short runs (the collections'
count and time themselves are a benchmark, not a test)."""

from __future__ import annotations

import gc
import json

import pytest

from tests.conftest import benchmark_script


@pytest.mark.parametrize("settled", [False, True])
def test_a_worker_reports_its_full_collections_and_leaves_no_watcher(monkeypatch, capsys, settled) -> None:
    gcp = benchmark_script("gc_passes", monkeypatch)
    watchers = list(gc.callbacks)
    try:
        gcp.worker("baseline", "town", runs=2, settled=settled, days=4, residents=2_000)
    finally:
        gc.unfreeze()
    passes, spent, wall = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert isinstance(passes, int) and passes >= 0 and 0.0 <= spent <= wall
    assert gc.callbacks == watchers
