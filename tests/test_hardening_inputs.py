"""Hostile and mistaken input (issue 13): refused before any work, in one line naming the file.

Validation must mean the run finishes and is right; input must not exhaust memory; a path
must be that file; and each message must name the file that holds the bad value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
import sim.core.runner
from sim.cli import app
from sim.core.scenarios import builtin_contexts, builtin_scenarios, load_scenario, validate_file
from sim.errors import GovsimError, ScenarioError, did_you_mean
from sim.experiments.batch import run_batch
from sim.experiments.design import load_design

runner = CliRunner()
TINY_RUN = ["--days", "1", "--set", "population.residents=1000"]


def _write(folder: Path, text: str | bytes, name: str = "mine.yaml") -> Path:
    p = folder / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def _one_line_error(args: list[str], *words: str) -> str:
    """Run the CLI; it must exit 2 with exactly one line on stderr, no traceback, holding ``words``."""
    res = runner.invoke(app, args)
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.output, res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


# ----------------------------------------------------- validation means the run finishes
@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("categories.sanitation.service_hours", "[.nan, 3, 3]", "finite"),
        ("categories.sanitation.service_hours", "[1.0e+308, 3, 3]", "less than or equal to 2000"),
        ("categories.sanitation.service_hours", "[-1, 3, 3]", "greater than 0"),
        ("categories.neighbour_dispute.initial_level", "[0.85, .nan, 0]", "finite"),
        ("categories.sanitation.growth_days", ".inf", "finite"),
        ("departments.staff_per_10k", "1.0e+12", "less than or equal to 1000"),
        ("dispatch.centre_staff_per_10k", "1.0e+9", "less than or equal to 1000"),
        ("residents.channel_shares", "{hotline: .nan, app: 0.5, walk_in: 0.5}", "finite"),
        ("service_requests.steps_probabilities", "[.nan, 1]", "finite"),
        ("service_requests.processing_days", "1.0e+300", "less than or equal to 3650"),
    ],
)
def test_non_finite_and_absurd_numbers_are_refused(key: str, value: str, words: str) -> None:
    line = _one_line_error(["run", "baseline", *TINY_RUN, "--set", f"{key}={value}"], "--set", key, words)
    assert "not allowed" in line


def test_validate_refuses_a_context_file_with_nan_service_hours(tmp_path: Path) -> None:
    ctx = tmp_path / "contexts"
    ctx.mkdir()
    c = _write(ctx, "extends: town\ncategories:\n  sanitation:\n    service_hours: [.nan, 3, 3]\n")
    _one_line_error(["validate", str(c)], str(c), "categories.sanitation.service_hours.0", "finite")


def test_every_shipped_scenario_and_context_is_within_the_bounds() -> None:
    for name in builtin_scenarios():
        for ctx in builtin_contexts():
            assert load_scenario(name, context=ctx).name


def test_a_run_too_large_for_the_machine_is_refused_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was built")

    monkeypatch.setattr(sim.core.runner, "GovModel", never)
    huge = {"population.residents": 20_000_000, "categories.sanitation.rate_per_1000_per_day": 1000}
    with pytest.raises(GovsimError, match="GB of memory, more than this machine's .*GOVSIM_ALLOW_LARGE=1"):
        sim.run("baseline", days=3650, overrides=huge)


def test_the_memory_check_compares_with_the_machine_and_can_be_lifted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sim.core import limits

    county = load_scenario("baseline", context="wujiang")
    monkeypatch.setattr(limits, "machine_bytes", lambda: 1e9)
    with pytest.raises(GovsimError, match="machine's 1.0 GB"):
        limits.check_run(county, 365, 0)
    monkeypatch.setenv("GOVSIM_ALLOW_LARGE", "1")
    limits.check_run(county, 365, 0)


def test_a_path_is_that_file_never_the_builtin_of_the_same_name(tmp_path: Path) -> None:
    _one_line_error(["run", "nosuch/reform.yaml", *TINY_RUN], "nosuch/reform.yaml", "no such scenario file")
    txt = _write(tmp_path, "extends: baseline\ngrid: [1, 2\n", "reform.txt")
    _one_line_error(["validate", str(txt)], str(txt), "not valid YAML")
    child = _write(tmp_path, "extends: ./no_such_dir/reform.yaml\n")
    with pytest.raises(
        ScenarioError, match="extends: no such scenario file: .*no_such_dir/reform.yaml"
    ) as info:
        load_scenario(child)
    assert info.value.source == str(child)
    _one_line_error(["run", "baseline", *TINY_RUN, "--context", "nowhere/town.yaml"], "--context", "no such")


def test_paths_in_a_file_are_relative_to_that_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "extends: town\npopulation: {residents: 1234}\n", "ctx.yaml")
    _write(tmp_path / "sub", "extends: baseline\ncontext: ctx.yaml\n", "parent.yaml")
    child = _write(tmp_path, "extends: sub/parent.yaml\ngrid: {separation: true, patrollers_per_grid: 2}\n")
    p = load_scenario(child)
    assert p.population.residents == 1234 and p.context == "ctx" and p.grid.separation


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"extends: baseline\ndescription: caf\xe9\n", "not UTF-8"),
        (("a: " + "[" * 20_000 + "]" * 20_000 + "\n").encode(), "nested deeper than 50"),
    ],
)
def test_unreadable_scenario_or_design_is_one_line(tmp_path: Path, content: bytes, words: str) -> None:
    f = _write(tmp_path, content)
    _one_line_error(["validate", str(f)], str(f), words)
    _one_line_error(["batch", str(f)], str(f), words)


@pytest.mark.parametrize(
    ("seed", "words"), [("-1", "--seed: -1 is not allowed"), (str(2**64), f"--seed: {2**64} is not allowed")]
)
def test_seeds_out_of_range_are_one_line(seed: str, words: str) -> None:
    _one_line_error(["run", "baseline", *TINY_RUN, "--seed", seed], words, "2**63 - 1")
    _one_line_error(["compare", "baseline", "reform", "--reps", "2", *TINY_RUN, "--seed", seed], words)
    _one_line_error(["attribute", "baseline", "reform", "--reps", "2", *TINY_RUN, "--seed", seed], words)


def test_compare_of_one_scenario_twice_is_one_line() -> None:
    _one_line_error(["compare", "baseline", "baseline", *TINY_RUN], "name one scenario twice")


def test_an_output_folder_that_cannot_be_made_is_one_line() -> None:
    _one_line_error(["run", "baseline", *TINY_RUN, "--out", "/proc/nope"], "/proc/nope")


def test_a_run_where_nothing_is_resolved_writes_its_tables(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", "baseline", *TINY_RUN, "--out", str(tmp_path)])
    assert res.exit_code == 0, (res.output, res.exception)
    assert (tmp_path / "delays.parquet").is_file()


DESIGN = """
name: small
scenarios: [baseline, reform]
days: 2
replications: 2
overrides: {population.residents: 1000}
"""


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        (
            "parameters:\n  grid.volunteers_per_grid: {low: 0, high: 4}\n"
            "sampling: {method: sobol, samples: 6}\n",
            "sampling",
            "power of 2, got 6; try 4 or 8",
        ),
        (
            "parameters:\n  dispatch.handoff_days: {low: .nan, high: .inf}\nsampling: {method: morris}\n",
            "parameters.dispatch.handoff_days.low",
            "finite",
        ),
        (
            "parameters:\n  grid.volunteers_per_grid: {low: 0, high: 2.5, integer: true, levels: 3}\n",
            "parameters.grid.volunteers_per_grid",
            "whole-number low and high",
        ),
        ("sampling: {seed: 4294967296}\n", "sampling.seed", "less than or equal to 4294967295"),
    ],
)
def test_bad_designs_are_one_line(tmp_path: Path, extra: str, field: str, words: str) -> None:
    d = _write(tmp_path, DESIGN + extra, "small.yaml")
    _one_line_error(["batch", str(d), "--out", str(tmp_path / "r")], f"{d}: {field}", words)
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    d = _write(folder, DESIGN, "small.yaml")
    report = run_batch(load_design(d), out=folder / "small", workers=1)
    assert report.ok == 4
    return folder / "small"


def test_analyze_with_an_unknown_reference_is_one_line(store: Path) -> None:
    _one_line_error(["analyze", str(store), "--reference", "nosuch"], "--reference", "'nosuch'", "baseline")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--reference", "reforn"], ("--reference: 'reforn'", "(did you mean 'reform'?)")),
        (["--kpi", "resolution_rte"], ("--kpi: ['resolution_rte']", "(did you mean 'resolution_rate'?)")),
    ],
)
def test_analyze_suggests_the_name_meant(store: Path, args: list[str], words: tuple[str, ...]) -> None:
    _one_line_error(["analyze", str(store), *args], *words)


@pytest.mark.parametrize("damaged", ["summary", "design"])
def test_results_and_analyze_on_a_damaged_store_are_one_line(
    store: Path, tmp_path: Path, damaged: str
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    target = (
        copy / "design.parquet" if damaged == "design" else next((copy / "runs").glob("*/summary.parquet"))
    )
    target.write_bytes(b"not a parquet file")
    for command in ("results", "analyze"):
        _one_line_error([command, str(copy)], str(target), "damaged", "govsim batch")


# ------------------------------------------------------------- input that exhausts memory
def test_a_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    f = _write(tmp_path, "description:\n  " + "\n  ".join(lines) + "\n")
    assert f.stat().st_size < 1000
    _one_line_error(["validate", str(f)], str(f), "more than 100,000 values once aliases are expanded")


def test_a_parsed_yaml_text_is_kept_but_each_reader_gets_its_own_values(tmp_path: Path) -> None:
    """Parsing keeps each text's values (a batch loads the same files for every run), yet
    a caller's changes never reach the next reader, and a file edited on disk is read anew."""
    from sim.core.yamlfile import parse_yaml, read_yaml

    first = parse_yaml("a: {b: [1, 2]}", "x")
    first["a"]["b"].append(3)
    assert parse_yaml("a: {b: [1, 2]}", "x") == {"a": {"b": [1, 2]}}
    f = tmp_path / "s.yaml"
    f.write_text("extends: baseline\nseed_note: 1\n")
    assert read_yaml(f, "scenario")["seed_note"] == 1
    f.write_text("extends: baseline\nseed_note: 2\n")
    assert read_yaml(f, "scenario")["seed_note"] == 2
    with pytest.raises(ScenarioError):  # an error is raised again, not kept as a value
        parse_yaml("a: 1\na: 2", "x")
    with pytest.raises(ScenarioError):
        parse_yaml("a: 1\na: 2", "x")


def test_a_large_file_is_refused(tmp_path: Path) -> None:
    f = _write(tmp_path, "extends: baseline\n" + "# padding\n" * 120_000)
    with pytest.raises(ScenarioError, match="larger than 1024 kB"):
        validate_file(f)


@pytest.mark.parametrize(
    "extra",
    [
        "parameters:\n  dispatch.handoff_days: {low: 0, high: 2}\n"
        "sampling: {method: latin_hypercube, samples: 100000000}\n",
        "parameters:\n"
        + "".join(
            f"  dispatch.{k}: {{low: 0, high: 1, levels: 1000}}\n" for k in ("handoff_days", "triage_hours")
        ),
    ],
)
def test_huge_designs_are_refused_before_sampling(tmp_path: Path, extra: str) -> None:
    d = _write(tmp_path, DESIGN + extra, "huge.yaml")
    _one_line_error(
        ["batch", str(d)], str(d), "runs (scenarios × points × replications) is more than 100,000"
    )


def test_the_size_caps_can_be_lifted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = _write(tmp_path, DESIGN.replace("replications: 2", "replications: 60000"), "many.yaml")
    with pytest.raises(ScenarioError, match="120,000 runs"):
        load_design(d)
    long = _write(tmp_path, DESIGN.replace("days: 2", "days: 4000"), "long.yaml")
    with pytest.raises(ScenarioError, match="more than 3650 days"):
        load_design(long)
    monkeypatch.setenv("GOVSIM_ALLOW_LARGE", "1")
    assert load_design(d).replications == 60_000
    assert load_design(long).days == 4000


def test_a_comparison_of_too_many_runs_is_refused_before_the_runs() -> None:
    _one_line_error(
        ["compare", "baseline", "reform", "--reps", "100000000", *TINY_RUN],
        "200,000,000 runs (scenarios × replications) is more than 100,000",
        "GOVSIM_ALLOW_LARGE=1",
    )


def test_a_horizon_beyond_the_cap_is_refused_before_the_run() -> None:
    _one_line_error(
        ["run", "baseline", "--days", "100000000", "--set", "population.residents=1000"],
        "--days: 100000000 days is more than 3650",
        "GOVSIM_ALLOW_LARGE=1",
    )


# ------------------------------------------------------------ messages name the right file
@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("extends: baseline\ndescription: [1, 2]\n", "description", "valid string"),
        ('extends: ""\n', "extends", "is not a scenario name or path"),
        ("extends: no_such_parent\n", "extends", "'no_such_parent' is no built-in scenario"),
        ("extends: baseline\ncontext: 42\n", "context", "42 is not a context name or path"),
        ("extends: baseline\ncontext: atlantis\n", "context", "'atlantis' is no built-in context"),
        (
            "extends: baseline\ngrid:\n  separation: true\ngrid:\n  separation: false\n",
            "line 4",
            "duplicate key",
        ),
        ("# nothing here\n", "", "empty"),
    ],
)
def test_messages_name_the_file_that_holds_the_bad_value(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    f = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        validate_file(f)
    assert info.value.source == str(f), str(info.value)
    assert field in info.value.field and words in info.value.problem, str(info.value)


def test_yaml_merge_keys_may_still_override_what_they_merge(tmp_path: Path) -> None:
    f = _write(
        tmp_path, "extends: baseline\ngrid:\n  <<: {patrollers_per_grid: 2}\n  patrollers_per_grid: 3\n"
    )
    assert load_scenario(f).grid.patrollers_per_grid == 3


def test_a_design_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    d = _write(tmp_path, DESIGN + "days: 3\n", "dup.yaml")
    _one_line_error(["batch", str(d)], str(d), "line 7", "duplicate key 'days'")


# ------------------------------------------------------- a mistyped name gets the one meant
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "reforn"], ("'reforn' is no built-in scenario", "(did you mean 'reform'?)", "baseline")),
        (["run", "reform", "--context", "twon"], ("--context: 'twon'", "(did you mean 'town'?)")),
        (
            ["run", "reform", "--set", "dispatch.misroute_probabilty=0.2"],
            ("--set: dispatch.misroute_probabilty: unknown key (did you mean 'misroute_probability'?)",),
        ),
        (
            ["run", "reform", "--set", "enforcement.mode=comprehensiv"],
            (
                "'comprehensiv' is not allowed: Input should be 'line' or 'comprehensive'",
                "'comprehensive' (did you mean 'comprehensive'?)",
            ),
        ),
        (
            ["run", "reform", "--set", "dispatchh.triage_hours=1"],
            ("dispatchh: unknown key (did you mean 'dispatch'?)",),
        ),
        (
            ["attribute", "baseline", "reform", "--kpi", "resolution_rte", "--kpi", "satisfaction_man"],
            (
                "--kpi: ['resolution_rte', 'satisfaction_man'] unknown",
                "(did you mean 'resolution_rate', 'satisfaction_mean'?)",
            ),
        ),
    ],
)
def test_a_mistyped_name_on_the_command_line_gets_the_one_meant(
    args: list[str], words: tuple[str, ...]
) -> None:
    _one_line_error(args, *words)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "extends: baseline\ndispatchh:\n  triage_hours: 1\n",
            "unknown key in a scenario file (did you mean 'dispatch'?)",
        ),
        (
            "extends: baseline\ngrid:\n  separaton: true\n",
            "grid.separaton: unknown key (did you mean 'separation'?)",
        ),
        ("extends: reforn\n", "(did you mean 'reform'?)"),
    ],
)
def test_a_mistyped_key_in_a_scenario_file_gets_the_one_meant(tmp_path: Path, text: str, words: str) -> None:
    f = _write(tmp_path, text)
    _one_line_error(["validate", str(f)], str(f), words)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("replicatoins: 2\n", "replicatoins: unknown key (did you mean 'replications'?)"),
        (
            "sampling: {method: sobl}\n",
            "Input should be 'factorial', 'latin_hypercube', 'sobol' or 'morris' (did you mean 'sobol'?)",
        ),
        ("kpis: [resolution_rte]\n", "kpis: unknown ['resolution_rte'] (did you mean 'resolution_rate'?)"),
        (
            "parameters:\n  dispatch.misroute_probabilty: {values: [0.1]}\n",
            "misroute_probabilty: unknown key (did you mean 'misroute_probability'?)",
        ),
    ],
)
def test_a_mistyped_key_in_a_design_gets_the_one_meant(tmp_path: Path, extra: str, words: str) -> None:
    d = _write(tmp_path, DESIGN + extra, "small.yaml")
    _one_line_error(["validate", str(d)], str(d), words)


def test_no_name_is_suggested_when_none_is_close() -> None:
    line = _one_line_error(["run", "zzzzqqq"], "'zzzzqqq' is no built-in scenario")
    assert "did you mean" not in line


def test_did_you_mean_names_the_closest_choice_of_each_mistyped_name_once() -> None:
    choices = ["baseline", "reform"]
    assert did_you_mean("reforn", choices) == " (did you mean 'reform'?)"
    assert did_you_mean(["reforn", "baselin", "reformm"], choices) == " (did you mean 'reform', 'baseline'?)"
    assert did_you_mean(["zzzzqqq", "baselin"], choices) == " (did you mean 'baseline'?)"
    assert did_you_mean("zzzzqqq", choices) == did_you_mean([], choices) == ""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (
            "extends: town\ncategories:\n  sanitation:\n    domains: [urban_managment]\n",
            "categories.sanitation.domains: ['urban_managment'] not among domains",
        ),
        ("extends: baseline\ngrid:\n  settles: [sanitaton]\n", "grid.settles: ['sanitaton'] not among"),
        ("extends: baseline\ndepartments:\n  town_domains: [lnd]\n", "(did you mean 'land'?)"),
        ("extends: baseline\nenforcement:\n  devolved_domains: [watr]\n", "(did you mean 'water'?)"),
    ],
)
def test_a_check_across_sections_names_the_file_that_set_the_field(
    tmp_path: Path, text: str, words: str
) -> None:
    """A check of :class:`sim.core.params.Params` itself (a name a section lists that
    another section must know) names the file that set the field, not the scenario at the
    top of the chain (``baseline.yaml``, which the context here is checked with), and
    suggests the name meant."""
    f = _write(tmp_path, text)
    line = _one_line_error(["validate", str(f)], f"error: {f}: ", words, "(did you mean")
    assert "baseline.yaml" not in line


@pytest.mark.parametrize(
    "text",
    [
        "extends: baseline\ncategories:\n  sanitation:\n    rate_per_1000_per_day: 1\n",
        "grid:\n  separation: true\npopulation:\n  residents: 5000\n",
    ],
)
def test_a_scenario_file_holding_a_context_section_is_told_where_it_belongs(
    tmp_path: Path, text: str
) -> None:
    """``validate`` takes a file that extends a built-in scenario, or has a scenario's own
    keys, as the scenario it is, even with a context's section in it."""
    f = _write(tmp_path, text)
    _one_line_error(
        ["validate", str(f)], str(f), "unknown key in a scenario file", "belong in scenarios/contexts"
    )


def test_any_check_across_sections_names_the_context_that_set_its_field(tmp_path: Path) -> None:
    f = _write(
        tmp_path, "extends: town\nservice_requests:\n  steps_probabilities: [0.5, 0.5, 0, 0, 0, 0, 0]\n"
    )
    line = _one_line_error(
        ["validate", str(f)], f"error: {f}: service_requests.steps_probabilities: more steps"
    )
    assert "baseline.yaml" not in line


def test_a_context_that_lacks_a_section_and_extends_none_names_itself(tmp_path: Path) -> None:
    f = _write(tmp_path, "population:\n  residents: 5000\n")
    for args in (["validate", str(f)], ["run", "baseline", "--context", str(f), *TINY_RUN[:2]]):
        line = _one_line_error(args, f"{f}: ", "required but missing", "extends: town")
        assert "baseline.yaml" not in line
    complete = _write(tmp_path, "extends: town\npopulation:\n  residents: 5000\n", "ok.yaml")
    assert validate_file(complete).startswith("context ok: 5000 residents")
