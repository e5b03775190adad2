"""Determinism across processes and common random numbers across scenarios."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pandas.testing as pdt

import sim
from tests.conftest import SMALL

OCCURRENCE = ["occurred_at", "category", "grid", "town", "village"]

_DIGEST = """
import hashlib, sim
r = sim.run("reform", seed=4, days=60, overrides={"population.residents": 20000})
h = hashlib.sha256()
h.update(r.cases.to_csv(index=False).encode()); h.update(r.daily.to_csv(index=False).encode())
print(h.hexdigest())
"""


def _digest(res: sim.RunResult) -> str:
    h = hashlib.sha256()
    h.update(res.cases.to_csv(index=False).encode())
    h.update(res.daily.to_csv(index=False).encode())
    return h.hexdigest()


def test_same_seed_same_ledger_in_another_process() -> None:
    here = _digest(sim.run("reform", seed=4, days=60, overrides=SMALL))
    there = subprocess.run([sys.executable, "-c", _DIGEST], capture_output=True, text=True, check=True)
    assert there.stdout.strip() == here


def test_same_seed_same_tables_bit_for_bit() -> None:
    a = sim.run("baseline", seed=9, days=60, overrides=SMALL)
    b = sim.run("baseline", seed=9, days=60, overrides=SMALL)
    pdt.assert_frame_equal(a.cases, b.cases)
    pdt.assert_frame_equal(a.daily, b.daily)
    pdt.assert_series_equal(a.summary, b.summary)


def test_other_seed_other_issues() -> None:
    a = sim.run("baseline", seed=1, days=20, overrides=SMALL).cases
    b = sim.run("baseline", seed=2, days=20, overrides=SMALL).cases
    assert len(a) != len(b) or not a["occurred_at"].equals(b["occurred_at"])


def test_common_random_numbers_across_scenarios(
    baseline_run: sim.RunResult, reform_run: sim.RunResult
) -> None:
    """Same seed and context: the same issues (time, place, category) under both."""
    pdt.assert_frame_equal(baseline_run.cases[OCCURRENCE], reform_run.cases[OCCURRENCE])
    # ... while what happens to them differs
    assert not baseline_run.cases["resolved_at"].equals(reform_run.cases["resolved_at"])
    # service requests are common too
    cols = ["submitted_at", "steps", "town"]
    pdt.assert_frame_equal(baseline_run.requests[cols], reform_run.requests[cols])


def test_null_reform_changes_nothing(tmp_path: pd.DataFrame) -> None:
    """A scenario that extends the baseline and switches nothing gives identical results."""
    null = tmp_path / "null.yaml"
    null.write_text("name: null_reform\nextends: baseline\n")
    a = sim.run("baseline", seed=3, days=60, overrides=SMALL)
    b = sim.run(str(null), seed=3, days=60, overrides=SMALL)
    pdt.assert_frame_equal(a.cases, b.cases)
    pdt.assert_series_equal(a.summary.rename(None), b.summary.rename(None))


def test_a_consumed_case_table_writes_its_new_columns_into_the_ledgers_memory() -> None:
    """The case table of a finished run makes no new array of the ledger's length for its
    new columns: they reuse the memory of the ledger's columns it does not show (a
    county-year's table would otherwise need about 130 MB more)."""
    from sim.core.model import GovModel
    from sim.core.output import SPARE_COLUMNS, case_table

    model = GovModel(sim.load_scenario("reform", overrides=SMALL), seed=3, days=30)
    for _ in range(30):
        model.step()
    L = model.ledger
    spare = [L.cols[k] for k in SPARE_COLUMNS] + [L.route, L.draws]
    table = case_table(model, consume=True)
    new = ["case_id", "town", "village", "escalations", "bounces", "on_site", "deadline_days", "reopened"]
    for name in new:
        assert any(np.shares_memory(table[name].to_numpy(), s) for s in spare), name
    assert any(np.shares_memory(table["status"].array.codes, s) for s in spare)


def test_the_case_table_that_takes_the_ledgers_columns_is_the_copied_one() -> None:
    """At the end of a run the case table takes the ledger's columns (``consume``); it
    must be the table built from copies, and the daily table built first is unchanged."""
    from sim.core.model import GovModel
    from sim.core.output import case_table, daily_table

    params = sim.load_scenario("reform", overrides=SMALL)
    model = GovModel(params, seed=3, days=90)  # long enough for times past the horizon
    for _ in range(90):
        model.step()
    copied, daily = case_table(model), daily_table(model)
    assert (model.ledger.column("started") >= 90).any()  # booked to start after the horizon
    taken = case_table(model, consume=True)
    pdt.assert_frame_equal(taken, copied)
    pdt.assert_frame_equal(daily_table(model), daily)
    assert copied["resolved_at"].isna().any() and (copied["occurred_at"] < 90).all()
