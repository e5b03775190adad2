"""The package's face: ``import sim`` is cheap and reaches the documented API."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
import sim
heavy = sorted(m for m in ("mesa", "numba", "pandas", "matplotlib") if m in sys.modules)
print("heavy:" + ",".join(heavy))
print(sim.run.__module__, sim.load_scenario.__module__, sim.results.open.__module__,
      sim.validation.mmc_scenario.__module__, sim.Params.__name__, sim.GovModel.__name__)
"""


def test_import_sim_is_cheap_and_reaches_the_api() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    first, second = out.strip().splitlines()
    assert first == "heavy:", f"import sim loaded {first}"
    assert second.split() == [
        "sim.core.runner",
        "sim.core.scenarios",
        "sim.experiments.results",
        "sim.core.validation",
        "Params",
        "GovModel",
    ]


def test_unknown_names_raise_attribute_error() -> None:
    import sim

    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        _ = sim.nosuch  # type: ignore[attr-defined]
