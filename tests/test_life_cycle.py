"""The case life cycle: every transition a run takes is an edge of the ledger's diagram.

Runs every shipped scenario (and one that drives cases past the bounce limit, and one
with poor resolutions for the grid supervisors to reopen) with the
ledger's trace on; an edge not in :data:`sim.core.ledger.TRANSITIONS` fails, and so
does an edge of the diagram no run takes (the diagram must not describe dead edges).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.core.ledger import NEW, TRANSITIONS, Ledger, Stage
from sim.core.ledger_flow import queue
from sim.core.model import GovModel
from sim.core.scenarios import builtin_scenarios
from tests.conftest import SMALL

DIAGRAM = {(name, int(a), int(b)) for name, edges in TRANSITIONS.items() for a, b in edges}
BOUNCING = {"dispatch.max_bounces": 0, "dispatch.misroute_probability": 0.9}
POOR = {"categories.sanitation.poor_resolution_probability": 0.3}
"""Poor resolutions, which Wujiang's grid supervisors reopen (the edge ``reopen``)."""


def _trace(scenario: str, days: int = 120, **over: object) -> set[tuple[str, int, int]]:
    m = GovModel(sim.load_scenario(scenario, overrides={**SMALL, **over}), seed=1, days=days)
    m.ledger.trace = set()
    for _ in range(days):
        m.step()
    return {(n, int(a), int(b)) for n, a, b in m.ledger.trace}


@pytest.fixture(scope="module")
def traces() -> dict[str, set[tuple[str, int, int]]]:
    out = {s: _trace(s) for s in builtin_scenarios()}
    out["baseline, bouncing"] = _trace("baseline", days=60, **BOUNCING)
    out["wujiang, poor resolutions"] = _trace("wujiang_grid_linkage", days=60, **POOR)
    return out


def test_every_transition_is_in_the_diagram(traces: dict[str, set[tuple[str, int, int]]]) -> None:
    for scenario, seen in traces.items():
        assert seen <= DIAGRAM, f"{scenario}: transitions outside the diagram {sorted(seen - DIAGRAM)}"


def test_every_edge_of_the_diagram_is_taken(traces: dict[str, set[tuple[str, int, int]]]) -> None:
    taken = set().union(*traces.values())
    assert DIAGRAM - taken == set()


def test_a_move_outside_the_diagram_is_caught() -> None:
    L = Ledger(16, np.zeros(1, dtype=np.int8), lambda *_: None)
    L.trace = set()
    ids = L.occur(np.full(2, np.inf))
    queue(L.cases(), ids[0], 0.0)  # LATENT -> QUEUED skips discovery and dispatch (compiled)
    L.absorb_trace()
    assert ("queue", Stage.LATENT, Stage.QUEUED) in L.trace - DIAGRAM
    assert ("occur", NEW, Stage.LATENT) in L.trace


def test_only_the_ledger_writes_a_case_s_stage() -> None:
    """The columns a transition owns are written nowhere but in the ledger (``L.<column>[...] =``,
    or ``C.<column>[...] =`` in compiled code)."""
    owned = {"stage", "next_t", "closed", "drop_reason"}
    root = Path(sim.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name in ("ledger.py", "ledger_flow.py") and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            targets += [node.target] if isinstance(node, ast.AugAssign) else []
            for t in targets:
                for sub in ast.walk(t):
                    if (
                        isinstance(sub, ast.Subscript)
                        and isinstance(sub.value, ast.Attribute)
                        and sub.value.attr in owned
                        and isinstance(sub.value.value, ast.Name)
                        and sub.value.value.id in ("L", "C")  # the ledger, and its compiled cases
                    ):
                        offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
