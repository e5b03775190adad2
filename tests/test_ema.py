"""The EMA Workbench adapter: the example in docs/ema.md runs, and its numbers are govsim's."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.core.rng import replication_seeds
from sim.errors import GovsimError
from sim.experiments.ema import ema_model

DOC = Path(__file__).resolve().parents[1] / "docs" / "ema.md"


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    """The namespace left by running the python block of docs/ema.md."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/ema.md should hold one python example"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    return namespace


def test_the_doc_example_runs_every_experiment(example: dict[str, Any]) -> None:
    experiments, outcomes, table = example["experiments"], example["outcomes"], example["table"]
    assert len(experiments) == 3 * 2
    names = {"departments__staff_per_10k", "dispatch__misroute_probability", "grid__separation"}
    assert names <= set(experiments.columns)
    assert set(experiments["grid__separation"]) == {False, True}
    assert experiments["departments__staff_per_10k"].between(14, 30).all()
    for kpi in ("tier_share_grid", "delay_total_mean_days"):
        assert len(outcomes[kpi]) == 6 and np.isfinite(outcomes[kpi]).all()
        assert list(table[kpi]) == list(outcomes[kpi])
    assert ((outcomes["tier_share_grid"] >= 0) & (outcomes["tier_share_grid"] <= 1)).all()


def test_an_outcome_is_the_mean_of_govsims_runs_with_the_sampled_values(example: dict[str, Any]) -> None:
    row = example["experiments"].iloc[4]
    overrides = {
        "population.residents": 3000,
        "departments.staff_per_10k": int(row["departments__staff_per_10k"]),
        "dispatch.misroute_probability": float(row["dispatch__misroute_probability"]),
        "grid.separation": bool(row["grid__separation"]),
    }
    params = sim.load_scenario("reform", overrides=overrides)
    runs = [sim.run(params, seed=s, days=10).summary["tier_share_grid"] for s in replication_seeds(0, 2)]
    assert example["outcomes"]["tier_share_grid"][4] == pytest.approx(np.mean(runs))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"outcomes": ["no_such_kpi"]}, "outcomes: ['no_such_kpi'] not allowed"),
        ({"outcomes": ["tier_share_grd"]}, "not allowed (did you mean 'tier_share_grid'?); choose KPIs"),
        ({"uncertainties": {"grid.bogus": (1, 2)}}, "grid.bogus = 1: --set: grid.bogus: unknown key"),
        ({"uncertainties": {"grid.patrollers_per_grid": (-1, 2)}}, "grid.patrollers_per_grid = -1"),
        ({"uncertainties": {"dispatch.misroute_probability": (0.3, 0.1)}}, "with low < high"),
        ({"levers": {"grid.separation": "yes"}}, "'yes' is not allowed"),
        ({"days": 0}, "--days: 0 is not allowed"),
    ],
)
def test_bad_input_is_refused_when_the_model_is_built(kwargs: dict[str, Any], words: str) -> None:
    args: dict[str, Any] = {"uncertainties": {"dispatch.misroute_probability": (0.0, 0.3)}}
    args["outcomes"] = ["tier_share_grid"]
    with pytest.raises(GovsimError) as exc:
        ema_model("reform", **{**args, **kwargs})
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_without_the_workbench_the_import_says_what_to_install() -> None:
    code = "import sys; sys.modules['ema_workbench'] = None; import sim.experiments.ema"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode != 0
    assert "needs the EMA Workbench (ema_workbench is missing): pip install 'govsim[ema]'" in res.stderr
