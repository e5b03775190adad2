"""Loading scenarios: extends, contexts, overrides, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import sim
from sim.core.scenarios import builtin_contexts, builtin_scenarios, parse_override
from sim.errors import ScenarioError


def test_builtin_scenarios_and_contexts_load() -> None:
    assert {"baseline", "reform"} <= set(builtin_scenarios())
    assert {"town", "wujiang"} <= set(builtin_contexts())
    base, reform = sim.load_scenario("baseline"), sim.load_scenario("reform")
    assert base.context == reform.context == "calibrated"
    assert not base.grid.separation and reform.grid.separation
    assert not base.dispatch.command_centre and reform.dispatch.command_centre
    assert base.enforcement.mode == "line" and reform.enforcement.mode == "comprehensive"
    assert not base.one_window.enabled and reform.one_window.enabled
    assert base.departments.location == "county" and reform.departments.location == "town"


def test_reform_extends_baseline_keeping_what_it_does_not_override() -> None:
    base, reform = sim.load_scenario("baseline"), sim.load_scenario("reform")
    assert reform.grid.patrollers_per_grid == base.grid.patrollers_per_grid
    assert reform.departments.staff_per_10k == base.departments.staff_per_10k
    assert reform.categories == base.categories  # same context


def test_context_swap_and_overrides() -> None:
    p = sim.load_scenario("reform", context="wujiang", overrides={"enforcement.squads_per_town": 2})
    assert p.context == "wujiang" and p.population.towns == 8
    assert p.population.residents == 1_500_000
    assert p.enforcement.squads_per_town == 2
    assert p.grid.separation  # the scenario's mechanisms are kept
    q = sim.load_scenario(p, overrides={"grid.separation": False})
    assert not q.grid.separation and q.population.towns == 8


def test_params_are_frozen() -> None:
    p = sim.load_scenario("baseline")
    with pytest.raises(ValidationError):
        p.grid.separation = True  # type: ignore[misc]


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    f = tmp_path / name
    f.write_text(text)
    return f


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("extends: baseline\ngrid:\n  seperation: true\n", "grid.seperation", "allowed: ['separation'"),
        ("extends: baseline\ngrid:\n  patrollers_per_grid: many\n", "grid.patrollers_per_grid", "'many'"),
        (
            "extends: baseline\ndispatch:\n  misroute_probability: 1.5\n",
            "dispatch.misroute_probability",
            "less than or equal to 1",
        ),
        (
            "extends: baseline\nenforcement:\n  mode: strict\n",
            "enforcement.mode",
            "'line' or 'comprehensive'",
        ),
        ("extends: baseline\npopulation:\n  residents: 5\n", "population", "context sections belong"),
        ("extends: nowhere\n", "", "built-in scenarios"),
        ("extends: baseline\ngrid:\n  separation: true\n  leaders_per_grid: 0\n", "grid", "no one handles"),
        ("extends: baseline\ngrid: [1, 2\n", "line", "not valid YAML"),
        ("extends: baseline\ndispatch:\n  deadline_watch: true\n", "dispatch", "needs command_centre"),
    ],
)
def test_bad_files_name_file_field_value_and_what_is_allowed(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    f = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(f)
    msg = str(info.value)
    assert "\n" not in msg
    assert field in msg and words in msg
    if "nowhere" not in text:
        assert str(f) in msg


def test_error_names_the_context_file_that_holds_the_bad_value(tmp_path: Path) -> None:
    ctx = tmp_path / "contexts"
    ctx.mkdir()
    c = _write(ctx, "extends: town\ncategories:\n  sanitation:\n    growth_days: -3\n", "shaky.yaml")
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("baseline", context=str(c))
    assert str(c) in str(info.value) and "categories.sanitation.growth_days" in str(info.value)


def test_cross_field_check_lists_domains(tmp_path: Path) -> None:
    f = _write(tmp_path, "extends: baseline\ndepartments:\n  groups: [[land, housing]]\n")
    with pytest.raises(ScenarioError, match="missing .*'justice'"):
        sim.load_scenario(f)


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "extends: b.yaml\n", "a.yaml")
    _write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(ScenarioError, match="cycle"):
        sim.load_scenario(tmp_path / "a.yaml")


def test_bad_override_names_the_flag() -> None:
    with pytest.raises(ScenarioError, match=r"--set: enforcement.squads_per_town: 0 is not allowed"):
        sim.load_scenario("baseline", overrides={"enforcement.squads_per_town": 0})
    with pytest.raises(ScenarioError, match="unknown key"):
        sim.load_scenario("baseline", overrides={"grid.nonsense": 1})
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a.b=[x, y]") == ("a.b", ["x", "y"])
    with pytest.raises(ScenarioError):
        parse_override("no-equals-sign")
