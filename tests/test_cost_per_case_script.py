"""benchmarks/cost_per_case.py: the fit it reports, and its table on short runs (the
timings themselves are a benchmark, not a test)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.model import DAY_ORDER
from tests.conftest import benchmark_script


@pytest.fixture
def cpc(monkeypatch: pytest.MonkeyPatch):
    return benchmark_script("cost_per_case", monkeypatch)


def test_the_fit_recovers_a_line(cpc) -> None:
    cases = np.array([1_000.0, 50_000.0, 300_000.0])
    fixed, per_case = cpc.fit(cases, 0.12 + 1.5e-6 * cases)
    assert fixed == pytest.approx(0.12) and per_case == pytest.approx(1.5e-6)


def test_the_table_has_every_part_and_the_budget(cpc, capsys) -> None:
    cpc.measure("baseline", "town", [500, 3_000], runs=1, days=6, target=0.3)
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    labels = [r.split("|")[1].strip() for r in rows[1:]]  # after the header
    assert [f"day: {a.name}" for a in DAY_ORDER] == [x for x in labels if x.startswith("day: ")]
    assert labels[-1] == "whole run" and "building the model" in labels
    assert "a case costs" in out or "fixed cost alone" in out
