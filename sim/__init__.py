"""govsim: an agent-based simulation of China's grassroots-governance reforms.

Quick use::

    import sim
    result = sim.run(sim.load_scenario("reform"), seed=1, days=365)
    result.summary, result.cases, result.daily
"""

from sim.errors import GovsimError, ScenarioError
from sim.params import Params
from sim.runner import RunResult, run
from sim.scenarios import load_scenario

__version__ = "0.1.0"
__all__ = ["GovsimError", "Params", "RunResult", "ScenarioError", "load_scenario", "run"]
