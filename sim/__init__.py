"""govsim: an agent-based simulation of China's grassroots-governance reforms.

Quick use::

    import sim
    result = sim.run(sim.load_scenario("reform"), seed=1, days=365)
    result.summary, result.cases, result.daily

For Mesa's own tools (``mesa.batch_run``, ``DataCollector``), :class:`MesaGovModel` takes
plain keyword arguments: ``sim.MesaGovModel("reform", seed=1, days=365, grid__separation=False)``.

The package is layered: :mod:`sim.core` (the model), :mod:`sim.experiments` (batches,
statistics, calibration, attribution), :mod:`sim.presentation` (figures, brief,
dashboard) and :mod:`sim.cli`. ``import sim`` is cheap: the names below load their
modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sim.errors import GovsimError, ScenarioError

if TYPE_CHECKING:
    from sim.core import validation
    from sim.core.mesa_model import MesaGovModel
    from sim.core.model import GovModel
    from sim.core.params import Params
    from sim.core.runner import RunResult, run
    from sim.core.scenarios import load_scenario
    from sim.experiments import results

__version__ = "0.1.0"

_LAZY = {
    "GovModel": ("sim.core.model", "GovModel"),
    "MesaGovModel": ("sim.core.mesa_model", "MesaGovModel"),
    "Params": ("sim.core.params", "Params"),
    "RunResult": ("sim.core.runner", "RunResult"),
    "run": ("sim.core.runner", "run"),
    "load_scenario": ("sim.core.scenarios", "load_scenario"),
    "results": ("sim.experiments.results", None),
    "validation": ("sim.core.validation", None),
}
__all__ = [
    "GovModel", "GovsimError", "MesaGovModel", "Params", "RunResult", "ScenarioError", "load_scenario",
    "results", "run", "validation",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    module, attr = _LAZY[name]
    loaded = importlib.import_module(module)
    value = loaded if attr is None else getattr(loaded, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
