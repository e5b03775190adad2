"""The five reform programmes: valid, runnable, switching only what their sources describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sim
from sim.experiments.attribution import differences

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

CENTRE = {"dispatch.command_centre", "dispatch.misroute_probability", "dispatch.handoff_loss_probability"}
ENFORCEMENT = {"enforcement.mode", "enforcement.devolved_domains"}
ALLOWED = {
    "wujiang_grid_linkage": {"grid.separation", "grid.volunteers_per_grid", "dispatch.sub_centres"}
    | CENTRE
    | ENFORCEMENT,
    "suzhou_1_4_n": {"grid.separation", "departments.location", "departments.groups", "one_window.enabled"}
    | CENTRE
    | ENFORCEMENT,
    "jiangsu_1_4": {
        "departments.groups",
        "departments.town_domains",
        "departments.duty_list_coverage",
        "departments.moved_down_per_town",
        "one_window.enabled",
    }
    | CENTRE
    | ENFORCEMENT,
    "ningbo_cluster": {"clusters.villages_per_cluster", "one_window.enabled"} | CENTRE,
    "quzhou_county_town": {
        "departments.duty_list_coverage",
        "departments.lead_department",
        "enforcement.towns_per_squad",
    }
    | ENFORCEMENT,
}
"""What each programme's source describes (docs/programmes.md), as parameter paths."""


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


def test_programme_parameters_are_documented() -> None:
    doc = (ROOT / "docs" / "programmes.md").read_text()
    for name, paths in ALLOWED.items():
        section = doc.split(f"`{name}`", 1)[1].split("\n## ", 1)[0]
        for path in paths:
            leaf = path.split(".")[1]
            assert leaf in section or path.split(".")[0] in section, (name, path)


def _normalise(text: str) -> str:
    text = re.sub(r"\([a-zA-Z\u00c0-\u024f]+\)", "", text)  # pinyin glosses inside the seed files
    for a, b in (("，", ","), ("（", "("), ("）", ")"), ("；", ";"), ("：", ":"), ("\u3000", "")):
        text = text.replace(a, b)
    return re.sub(r"\s+", "", text)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the shared seed documents are not beside the project")
def test_quoted_passages_are_in_their_sources() -> None:
    doc = (ROOT / "docs" / "programmes.md").read_text()
    sources = {p.name[:3]: _normalise(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}
    checked = 0
    for section in doc.split("\n## ")[1:]:
        ref = re.search(r"\((\d{3})\)", section.splitlines()[0])
        if not ref:
            continue
        for line in section.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if (
                len(cells) != 4
                or cells[0] in ("parameter", "---")
                or not re.search(r"[\u4e00-\u9fff]", cells[2])
            ):
                continue
            for fragment in cells[2].split("……"):
                assert _normalise(fragment) in sources[ref.group(1)], (ref.group(1), fragment)
                checked += 1
    assert checked >= 25
