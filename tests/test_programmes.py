"""The five reform programmes: valid, runnable, switching only what their sources describe,
every value in docs/programmes.md either a passage found in its source or marked *assumption*."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import sim
from sim.experiments.attribution import differences

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
DOC = ROOT / "docs" / "programmes.md"

CENTRE = {"dispatch.command_centre", "dispatch.misroute_probability", "dispatch.handoff_loss_probability"}
TOWN_CENTRE = CENTRE | {"dispatch.sub_centres"}
ENFORCEMENT = {"enforcement.mode", "enforcement.devolved_domains"}
ALLOWED = {
    "wujiang_grid_linkage": {"grid.separation", "grid.volunteers_per_grid", "grid.settles", "village.settles"}
    | {"grid.police_per_grid", "grid.police_categories", "grid.supervisors_per_grid"}
    | TOWN_CENTRE
    | ENFORCEMENT
    | {"professional_grids.enabled", "powers.items", "powers.items_per_domain"},
    "suzhou_1_4_n": {"grid.separation", "grid.settles", "one_window.enabled"}
    | TOWN_CENTRE
    | ENFORCEMENT
    | {"powers.items", "powers.review_days"},
    "jiangsu_1_4": {
        "departments.groups",
        "departments.town_domains",
        "departments.duty_list_coverage",
        "departments.moved_down_per_town",
        "one_window.enabled",
    }
    | TOWN_CENTRE
    | ENFORCEMENT
    | {
        "powers.items",
        "powers.items_per_domain",
        "powers.devolved_share",
        "powers.training_cases",
        "powers.review_days",
    },
    "ningbo_cluster": {
        "clusters.villages_per_cluster",
        "clusters.centre",
        "clusters.joint_settles",
        "one_window.enabled",
    }
    | CENTRE,
    "quzhou_county_town": {
        "departments.duty_list_coverage",
        "departments.lead_department",
        "enforcement.towns_per_squad",
        "assessment.enabled",
    }
    | TOWN_CENTRE
    | ENFORCEMENT,
}
"""What each programme's source describes (docs/programmes.md), as parameter paths."""

HAN = r"\u4e00-\u9fff"


def _section(doc: str, name: str) -> str:
    """The section whose heading names the programme."""
    (section,) = [s for s in doc.split("\n## ")[1:] if f"`{name}`" in s.splitlines()[0]]
    return section


def _rows(section: str) -> list[tuple[list[str], str, str, str]]:
    """The table rows of a programme section: (parameter paths, value, passage, gloss).
    A bare name after a dotted path belongs to the same section (`enforcement.mode`,
    `devolved_domains`)."""
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("parameter", "---") or not cells[0].startswith("`"):
            continue
        paths, prefix = [], ""
        for name in re.findall(r"`([\w.]+)`", cells[0]):
            prefix = name.split(".")[0] if "." in name else prefix
            paths.append(name if "." in name else f"{prefix}.{name}")
        rows.append((paths, cells[1], cells[2], cells[3]))
    return rows


def _tokens(value: Any) -> list[list[str]]:
    """How a parameter value may be written in the doc: one list of spellings per atom."""
    if isinstance(value, bool):
        return [["true" if value else "false"]]
    if isinstance(value, int | float):
        return [sorted({str(value), f"{value:g}"})]
    if isinstance(value, str):
        return [[value]]
    return [t for v in value for t in _tokens(v)]


def _normalise(text: str) -> str:
    text = re.sub(r"\([a-zA-Z\u00c0-\u024f]+\)", "", text)  # pinyin glosses inside the seed files
    for a, b in (("，", ","), ("（", "("), ("）", ")"), ("；", ";"), ("：", ":"), ("\u3000", "")):
        text = text.replace(a, b)
    return re.sub(r"\s+", "", text)


def _sources() -> dict[str, str]:
    return {p.name[:3]: _normalise(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}


def _programme_sections(doc: str) -> list[tuple[str, str]]:
    """(source file number, section text) of each programme section."""
    out = []
    for section in doc.split("\n## ")[1:]:
        ref = re.search(r"\((\d{3})\)", section.splitlines()[0])
        if ref:
            out.append((ref.group(1), section))
    return out


@pytest.mark.parametrize("name", list(ALLOWED))
def test_programme_differs_from_baseline_only_in_what_its_source_describes(name: str) -> None:
    base, prog = sim.load_scenario("baseline"), sim.load_scenario(name)
    assert prog.context == base.context  # one shared context
    assert prog.categories == base.categories and prog.population == base.population
    assert set(differences(base, prog)) == ALLOWED[name]


@pytest.mark.parametrize("name", list(ALLOWED))
def test_programme_runs(name: str) -> None:
    res = sim.run(name, seed=1, days=30, overrides={"population.residents": 15_000})
    s = res.summary
    assert s["cases_closed"] + s["cases_open"] + s["cases_dropped"] == s["cases_created"] > 0


@pytest.mark.parametrize("name", list(ALLOWED))
def test_programme_table_lists_exactly_the_changed_parameters_with_their_values(name: str) -> None:
    section, prog = _section(DOC.read_text(), name), sim.load_scenario(name)
    rows = _rows(section)
    tabled = [p for paths, *_ in rows for p in paths]
    assert len(tabled) == len(set(tabled)), f"{name}: a parameter is tabled twice"
    assert set(tabled) == ALLOWED[name]
    for paths, value, _, _ in rows:
        for path in paths:
            section_name, leaf = path.split(".")
            for spellings in _tokens(getattr(getattr(prog, section_name), leaf)):
                assert any(re.search(rf"(?<![\w.]){re.escape(s)}(?![\w.])", value) for s in spellings), (
                    f"{name}: {path} = {spellings} not shown in {value!r}"
                )


@pytest.mark.parametrize("name", list(ALLOWED))
def test_every_value_is_a_passage_or_an_assumption(name: str) -> None:
    section = _section(DOC.read_text(), name)
    assert "Not modelled" in section, f"{name}: say what the source describes and the model does not"
    for paths, value, passage, gloss in _rows(section):
        sourced = re.search(f"[{HAN}]", passage) is not None
        assert sourced or "*assumption*" in value, f"{name}: {paths} has neither a passage nor *assumption*"
        assert not sourced or gloss, f"{name}: {paths}: a passage needs an English gloss"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seed documents are not beside the project")
def test_quoted_passages_are_in_their_sources() -> None:
    sources, checked = _sources(), 0
    for ref, section in _programme_sections(DOC.read_text()):
        for _, _, passage, _ in _rows(section):
            if not re.search(f"[{HAN}]", passage):
                continue
            for fragment in passage.split("……"):
                assert _normalise(fragment) in sources[ref], (ref, fragment)
                checked += 1
    assert checked >= 35


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seed documents are not beside the project")
def test_every_chinese_phrase_of_the_programme_sections_is_in_a_seed() -> None:
    """Passages outside the tables too ("Not modelled", glosses): quoted from the
    programme's own source, not paraphrased."""
    sources = _sources()
    run = re.compile(f"[{HAN}“”‘’、,，。:：;；()（）0-9%—]*[{HAN}][{HAN}“”‘’、,，。:：;；()（）0-9%—]*")
    checked = 0
    for ref, section in _programme_sections(DOC.read_text()):
        for fragment in (f for m in run.findall(section) for f in m.split("……")):
            text = _normalise(fragment).strip(",。、;:()“”‘’")
            if len(re.findall(f"[{HAN}]", text)) < 2:
                continue
            assert text in sources[ref], (ref, fragment)
            checked += 1
    assert checked >= 60
