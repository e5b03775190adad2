"""What is declared once stays declared once: unit kinds, the reform switches, the docs
that show them."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import numpy as np

from sim.core.agents import BACKLOG_KINDS, KIND_CALENDAR, KINDS, UNIT_CLASSES, UNIT_LEVEL
from sim.core.kinds import LEVELS, Kind, Tier
from sim.core.model import SNAPSHOT_COLUMNS
from sim.core.params import MECHANISM_SECTIONS, Params
from sim.core.scenarios import load_scenario
from sim.core.switches import BY_NAME, SWITCHES, markdown_table, switch_of
from sim.experiments.attribution import mechanism_of

ROOT = Path(__file__).resolve().parents[1]


def test_one_agent_class_per_kind_in_code_order() -> None:
    assert [c.kind for c in UNIT_CLASSES] == list(Kind)
    assert KINDS == ("grid", "department", "enforcement", "centre", "desk", "window", "village", "police")
    assert UNIT_LEVEL.tolist() == [
        Tier.GRID,
        Tier.DEPARTMENT,
        Tier.ENFORCEMENT,
        -1,
        -1,
        -1,
        Tier.VILLAGE,
        Tier.GRID,
    ]
    calendars = Params.model_fields["calendar"].annotation
    assert set(KIND_CALENDAR) <= set(calendars.model_fields)  # type: ignore[union-attr]
    assert LEVELS == ("grid", "village", "department", "enforcement")
    backlogs = [c for c in SNAPSHOT_COLUMNS if c.startswith("backlog_")]
    assert [f"backlog_{k}" for k in BACKLOG_KINDS] == backlogs


def _mechanism_paths() -> list[str]:
    tree = load_scenario("reform").model_dump()

    def flat(node: dict[str, object], prefix: str) -> list[str]:
        out = []
        for k, v in node.items():
            out += flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]
        return out

    return [p for s in MECHANISM_SECTIONS for p in flat(tree[s], f"{s}.")]


def test_every_mechanism_parameter_belongs_to_a_switch() -> None:
    names = {s.name for s in SWITCHES}
    orphans = [p for p in _mechanism_paths() if switch_of(p) not in names]
    assert orphans == []


def test_each_switch_owns_what_it_names_and_acts_where_it_says() -> None:
    for s in SWITCHES:
        for p in s.paths:
            if not p.endswith("."):
                assert switch_of(p) == s.name, f"{p} is claimed before {s.name}"
        fields = {p.rstrip(".").rsplit(".", 1)[-1] for p in s.paths}
        for module in s.acts_in:
            source = inspect.getsource(importlib.import_module(module))
            assert any(f in source for f in fields), f"{s.name}: {module} never reads {sorted(fields)}"
        if s.toggle is not None:
            assert s.owns(s.toggle) and switch_of(s.toggle) == s.name
        if s.requires is not None:
            assert s.requires in BY_NAME and mechanism_of(s.paths[0]) == s.requires


def test_the_docs_show_the_declared_switches() -> None:
    table = markdown_table()
    for doc in ("scenarios/README.md", "docs/ODD.md"):
        assert table in (ROOT / doc).read_text(), f"{doc}: the switch table differs from markdown_table()"


def test_the_units_can_be_counted_without_a_model() -> None:
    from sim.core.model import GovModel
    from sim.core.output import staff_by_kind as model_staff
    from sim.core.staffing import staff_by_kind

    for name in ("baseline", "reform", "ningbo_cluster"):
        p = load_scenario(name, overrides={"population.residents": 20_000})
        m = GovModel(p, days=1)
        assert staff_by_kind(p) == model_staff(m)
        assert np.all(m.units.staff >= 1)
        m.release()
