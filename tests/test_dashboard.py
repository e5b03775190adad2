"""The dashboard: its state logic without a browser, then the real page in headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("dash", reason="the dashboard needs the viz extra (pip install 'govsim[viz]')")

import sim.cli.dashboard  # noqa: E402, F401  (registers the command)
from sim.cli import app as cli_app  # noqa: E402
from sim.core.kinds import (
    Kind,  # noqa: E402
    Layer,  # noqa: E402
)
from sim.core.ledger import Stage  # noqa: E402
from sim.core.metrics import summary  # noqa: E402
from sim.core.output import case_table, request_table  # noqa: E402
from sim.core.params import Departments, Dispatch, Enforcement, Grid  # noqa: E402
from sim.core.scenarios import builtin_scenarios, load_scenario  # noqa: E402
from sim.core.switches import SWITCHES  # noqa: E402
from sim.errors import GovsimError, ScenarioError  # noqa: E402
from sim.presentation.dashboard.app import (  # noqa: E402
    apply_action,
    create_app,
    first_action,
    loopback,
    read_controls,
)
from sim.presentation.dashboard.figures import delay_figure, map_figure, open_cases_figure, tier_figure  # noqa: E402
from sim.presentation.dashboard.layout import MECHANISM_LABELS, SHORT_LABELS, control_values  # noqa: E402
from sim.presentation.dashboard.state import (  # noqa: E402
    DELAY_PARTS,
    MECHANISM_SWITCHES,
    Controls,
    Session,
    SessionRegistry,
    build_params,
    controls_for,
    grid_layout,
    grid_values,
    overrides_for,
)
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

SMALL = 20_000


def small(scenario: str = "baseline", **changes: object) -> Controls:
    """A scenario's controls on a 20,000-resident town, with some controls changed."""
    return dataclasses.replace(controls_for(scenario, residents=SMALL), **changes)


# ------------------------------------------------------------------ state logic
@pytest.mark.parametrize("scenario", builtin_scenarios())
def test_a_scenarios_own_controls_change_nothing(scenario: str) -> None:
    assert build_params(controls_for(scenario)) == load_scenario(scenario)


def test_controls_reach_the_parameters() -> None:
    p = build_params(
        small(
            mechanisms=frozenset({"separation", "command_centre", "one_window"}),
            patrollers_per_grid=2,  # with separation the leader takes 3 workers' tasks: 6 of 8 hours
            misroute_probability=0.07,
            department_staff_per_10k=30.0,
            enforcement_staff_per_10k=4.5,
        )
    )
    assert (p.grid.separation, p.dispatch.command_centre, p.one_window.enabled) == (True, True, True)
    assert (p.grid.patrollers_per_grid, p.dispatch.misroute_probability) == (2, 0.07)
    assert (p.departments.staff_per_10k, p.enforcement.staff_per_10k) == (30.0, 4.5)
    assert p.population.residents == SMALL


def test_deadline_watch_needs_the_centre() -> None:
    both = small(mechanisms=frozenset({"command_centre", "deadline_watch"}))
    assert build_params(both).dispatch.deadline_watch
    alone = small(mechanisms=frozenset({"deadline_watch"}))
    assert not build_params(alone).dispatch.deadline_watch  # no error: nobody to watch
    assert "deadline watch off" in alone.describe()
    assert "deadline watch on" in both.describe()


def test_the_switches_are_the_declared_ones_with_a_toggle() -> None:
    toggled = [s for s in SWITCHES if s.toggle]
    assert list(MECHANISM_SWITCHES.items()) == [(s.name, s.toggle) for s in toggled]
    assert list(MECHANISM_LABELS) == [s.name for s in toggled]
    assert set(SHORT_LABELS) <= set(MECHANISM_SWITCHES)  # no label for a switch that is gone
    assert all(s.requires is None or s.requires in MECHANISM_SWITCHES for s in toggled)  # see Controls.is_on
    every = small(mechanisms=frozenset(MECHANISM_SWITCHES))
    assert control_values(every)["mechanisms"] == list(MECHANISM_SWITCHES)
    overrides = overrides_for(every)
    assert all(overrides[path] is True for path in MECHANISM_SWITCHES.values())
    assert not any(overrides_for(small(mechanisms=frozenset()))[p] for p in MECHANISM_SWITCHES.values())
    with pytest.raises(ValueError, match="no mechanism switch"):
        Controls(mechanisms=frozenset({"lead_department"}))


def test_controls_default_to_the_parameter_trees_defaults() -> None:
    c = Controls()
    assert c.mechanisms == frozenset()  # no reform switch is on in the parameter tree's defaults
    assert (c.enforcement_mode, c.patrollers_per_grid) == (Enforcement().mode, Grid().patrollers_per_grid)
    assert c.misroute_probability == Dispatch().misroute_probability
    assert (c.department_staff_per_10k, c.enforcement_staff_per_10k) == (
        Departments().staff_per_10k,
        Enforcement().staff_per_10k,
    )


def test_comprehensive_enforcement_on_baseline_builds_a_town_squad() -> None:
    s = Session(small(enforcement_mode="comprehensive"), horizon=5)
    assert s.params.enforcement.devolved_domains  # baseline devolves none; the switch devolves all
    U = s.model.units
    squads = U.kind == Kind.ENFORCEMENT
    assert (U.layer[squads] == Layer.TOWN).any()
    s.close()


def test_session_steps_and_its_chart_data_agree_with_the_model() -> None:
    s = Session(small("baseline"), horizon=30)
    assert s.step(6) == 6 and s.day == 6
    v = s.view("backlog")
    assert v.day == 6 and v.days == [1, 2, 3, 4, 5, 6]
    assert all(len(ys) == 6 for ys in v.open_series.values())
    assert all(len(ys) == 6 for ys in v.delays.values())
    assert v.open_series["open cases"] == [float(x) for x in s.model.snapshots["open_cases"]]
    # the map holds every grid once, with its backlog
    L = s.model.ledger
    a = L.active
    found = a[np.isin(L.stage[a], (Stage.DISPATCH, Stage.TRANSIT, Stage.QUEUED))]
    backlog = np.bincount(L.grid[found], minlength=s.model.places.n_grids)
    cells = [
        (g, z)
        for grow, zrow in zip(v.grid_map.grid, v.grid_map.z, strict=True)
        for g, z in zip(grow, zrow, strict=True)
    ]
    placed = sorted((g, z) for g, z in cells if g >= 0)
    assert [g for g, _ in placed] == list(range(s.model.places.n_grids))
    assert [z for _, z in placed] == backlog.astype(float).tolist()
    assert all(z is None for g, z in cells if g < 0)
    # tiers: counts of cases resolved so far, shares summing to one
    res = L.column("resolved")
    done = res < s.day
    assert sum(v.tier_counts.values()) == int(done.sum()) > 0
    assert sum(v.tier_shares.values()) == pytest.approx(1.0)
    assert v.kpis["mean delay (days)"] == pytest.approx(np.mean((res - L.column("occurred"))[done]))
    assert v.step_ms > 0
    s.close()


def test_the_dashboards_figures_are_the_run_summarys() -> None:
    s = Session(small("reform"), horizon=30)
    s.step(12)
    m, h = s.model, s.history
    kpis = summary(m, case_table(m), request_table(m))
    v = s.view()
    for k in DELAY_PARTS:  # the whole history's mean of each delay (days), as the summary defines it
        assert sum(h.delay_sum[k]) / sum(h.delay_n[k]) == pytest.approx(kpis[f"delay_{k}_mean_days"])
    assert v.kpis["mean delay (days)"] == pytest.approx(kpis["delay_total_mean_days"])
    assert v.kpis["distance from 70/20/10"] == pytest.approx(kpis["tier_distance_from_target"])
    assert v.kpis["closed"] == kpis["cases_closed"] > 0
    assert v.kpis["dropped"] == kpis["cases_dropped"]
    assert v.kpis["resolved"] == kpis["cases_resolved"]
    s.close()


def test_map_metrics_count_the_right_cases() -> None:
    s = Session(small("baseline"), horizon=10)
    s.step(8)
    L, n = s.model.ledger, s.model.places.n_grids
    a, st = L.active, L.stage[L.active]
    latent = a[st == Stage.LATENT]
    queued = a[st == Stage.QUEUED]
    at_grid = queued[s.model.units.kind[L.unit[queued]] == Kind.GRID]
    assert grid_values(s.model, "latent").tolist() == np.bincount(L.grid[latent], minlength=n).tolist()
    assert grid_values(s.model, "grid_queue").tolist() == np.bincount(L.grid[at_grid], minlength=n).tolist()
    assert 0 < at_grid.size < queued.size  # some wait at grid teams, some elsewhere
    s.close()


def test_session_stops_at_the_horizon() -> None:
    s = Session(small(), horizon=4)
    assert s.step(10) == 4 and s.done
    assert s.step(1) == 0 and s.day == 4
    s.close()


def test_map_layout_puts_towns_side_by_side() -> None:
    s = Session(small(), horizon=2)
    row, col, n_rows, n_cols = grid_layout(s.model)
    assert len(set(zip(row.tolist(), col.tolist(), strict=True))) == s.model.places.n_grids
    assert row.max() < n_rows and col.max() < n_cols
    for metric in ("backlog", "grid_queue", "latent"):
        assert grid_values(s.model, metric).shape == (s.model.places.n_grids,)
    with pytest.raises(ValueError, match="not allowed"):
        grid_values(s.model, "nonsense")
    s.close()
    s = Session(small(context="wujiang", residents=80_000), horizon=2)
    row, col, n_rows, n_cols = grid_layout(s.model)
    assert s.model.places.towns == 8 and col.max() == n_cols - 1
    assert len(s.view().grid_map.towns) == 8
    s.close()


def test_rebuild_keeps_the_previous_run_and_refuses_bad_controls() -> None:
    s = Session(small("baseline"), horizon=20)
    s.step(3)
    s.rebuild(small("reform"))
    assert s.day == 0 and s.params.name == "reform"
    assert s.previous is not None and len(s.previous[1]) == 3 and s.previous[0].startswith("baseline")
    with pytest.raises(ScenarioError, match="misroute_probability"):
        s.rebuild(small("reform", misroute_probability=1.5))
    assert s.params.name == "reform" and s.controls == small("reform")  # unchanged
    s.close()


def test_actions_of_the_page() -> None:
    s = Session(small("baseline"), horizon=40)
    c = s.controls
    assert apply_action(s, "step", c, speed=3) is False and s.day == 1
    apply_action(s, "step-week", c, speed=3)
    assert s.day == 8
    apply_action(s, "ticker", c, speed=3)
    assert s.day == 8  # paused: a tick does nothing
    apply_action(s, "play", c, speed=3)
    apply_action(s, "ticker", c, speed=3)
    assert s.playing and s.day == 11
    apply_action(s, "play", c, speed=3)
    apply_action(s, "ticker", c, speed=3)  # a tick on its way when the person paused
    assert not s.playing and s.day == 11
    apply_action(s, "map-metric", dataclasses.replace(c, seed=9), speed=3)
    assert s.day == 11  # a map choice neither steps nor rebuilds
    apply_action(s, "reset", c, speed=3)
    assert s.day == 0 and s.previous is not None
    assert apply_action(s, "scenario", dataclasses.replace(c, scenario="reform"), speed=1) is True
    assert s.controls == small("reform")  # a scenario pick moves every control to its values
    without = dataclasses.replace(s.controls, mechanisms=s.controls.mechanisms - {"separation"})
    apply_action(s, "mechanisms", without, speed=1)
    assert s.params.grid.separation is False and s.params.name == "reform"
    s.close()


def test_play_stops_at_the_horizon_and_a_click_beats_a_tick() -> None:
    s = Session(small(), horizon=5)
    apply_action(s, "play", s.controls, speed=3)
    apply_action(s, "ticker", s.controls, speed=3)
    apply_action(s, "ticker", s.controls, speed=3)
    assert s.done and not s.playing
    apply_action(s, "play", s.controls, speed=3)
    assert not s.playing  # nothing left to play
    s.close()
    assert first_action(["ticker", "play"]) == first_action(["play", "ticker"]) == "play"
    assert first_action(["ticker"]) == "ticker" and first_action([]) is None


def test_read_controls_keeps_values_while_typing() -> None:
    fallback = small("reform")
    c = read_controls(
        "reform",
        None,
        ["separation"],
        "line",
        {"patrollers": 2, "misroute": None, "dept-staff": 20, "enf-staff": 5},
        None,
        None,
        fallback,
    )
    assert c.residents == SMALL and c.seed == fallback.seed
    assert (c.mechanisms, c.enforcement_mode) == (frozenset({"separation"}), "line")
    assert (c.patrollers_per_grid, c.misroute_probability) == (2, fallback.misroute_probability)


def test_figures_are_json_and_follow_the_view() -> None:
    s = Session(small("reform"), horizon=10)
    s.step(5)
    v = s.view("latent")
    figs = [map_figure(v), tier_figure(v), delay_figure(v), open_cases_figure(v)]
    json.dumps(figs)  # plain JSON: what the browser receives
    assert figs[0]["data"][0]["z"] == v.grid_map.z
    assert figs[1]["data"][1]["y"] == [0.7, 0.2, 0.1]
    assert all(len(t["x"]) == 5 for t in figs[2]["data"] + figs[3]["data"])
    s.rebuild(small("baseline"))
    assert open_cases_figure(s.view())["data"][-1]["name"].endswith("previous settings")
    s.close()


def test_registry_keeps_a_few_sessions() -> None:
    reg = SessionRegistry(horizon=3, limit=2)
    first = reg.get("a", small())
    assert reg.get("a", small("reform")) is first  # an existing page keeps its session
    reg.get("b", small())
    reg.get("c", small())
    assert len(reg) == 2
    assert reg.get("a", small()) is not first  # dropped, then built afresh
    reg.close_all()
    assert len(reg) == 0


def test_the_app_serves_its_page_and_layout() -> None:
    app = create_app(horizon=5)
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    for element in ("scenario", "mechanisms", "enforcement-mode", "patrollers", "step", "play", "open-cases"):
        assert f'"{element}"' in layout


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("127.0.0.1:8765", 200),
        ("localhost:8765", 200),
        ("[::1]:8765", 200),
        ("evil.example:8765", 403),  # a name an attacker points at 127.0.0.1 (DNS rebinding)
        ("localhost.evil.example", 403),
        ("192.0.2.1", 403),
    ],
)
def test_the_app_answers_only_to_this_machines_names(host: str, status: int) -> None:
    client = create_app(horizon=5).server.test_client()
    assert client.get("/", headers={"Host": host}).status_code == status
    assert client.get("/_dash-layout", headers={"Host": host}).status_code == status


def test_the_page_can_load_only_builtin_scenarios_or_project_files(tmp_path: Path) -> None:
    s = Session(small("baseline"), horizon=5)
    outside = tmp_path / "reform.yaml"
    outside.write_text("extends: reform\n")
    for name in (str(outside), "/etc/passwd", "../../etc/hosts.yaml"):
        with pytest.raises(GovsimError, match="is not allowed here"):
            apply_action(s, "scenario", dataclasses.replace(s.controls, scenario=name), speed=1)
        with pytest.raises(GovsimError, match="is not allowed here"):
            apply_action(s, "step", dataclasses.replace(s.controls, scenario=name), speed=1)
    assert s.params.name == "baseline" and s.day == 0  # unchanged
    inside = Path(__file__).resolve().parents[1] / "scenarios" / "reform.yaml"
    assert apply_action(s, "scenario", dataclasses.replace(s.controls, scenario=str(inside)), speed=1)
    assert s.params.name == "reform"
    s.close()


def test_cli_refuses_a_non_loopback_host() -> None:
    assert loopback("127.0.0.1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("192.0.2.1")  # numeric: no name lookup
    res = CliRunner().invoke(cli_app, ["dashboard", "--host", "0.0.0.0"])
    assert res.exit_code == 2
    assert "not a loopback address" in res.output


# ----------------------------------------------------------------- the real page
START_SECONDS = 60
WAIT_MS = 60_000
"""The longest wait for the page to react (generous: a busy 2-core machine is slow, a pass is fast)."""
HORIZON = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    """``govsim dashboard`` in a subprocess on a free loopback port; always stopped afterwards."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI runs this test")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (tmp_path / "server.log").open("w")
    code = "import sim.cli.dashboard; from sim.cli import app; app()"
    cmd = [sys.executable, "-c", code, "dashboard", "--port", str(port), "--days", str(HORIZON)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the dashboard exited ({proc.returncode}): {(tmp_path / 'server.log').read_text()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer within {START_SECONDS} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_dashboard_in_a_browser(dashboard_url: str, tmp_path: Path) -> None:
    if os.environ.get("CI"):
        from playwright.sync_api import expect, sync_playwright
    else:
        api = pytest.importorskip("playwright.sync_api")
        expect, sync_playwright = api.expect, api.sync_playwright

    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on(
                "request", lambda r: None if r.url.startswith("http://127.0.0.1:") else outside.append(r.url)
            )
            page.goto(dashboard_url)
            # Dash draws its layout after the page loads: wait through locators, which retry
            # until the element exists, never on a querySelector that may still be null
            expect.set_options(timeout=WAIT_MS)
            day, label, settings = page.locator("#day"), page.locator("#label"), page.locator("#settings")

            def day_is(n: int) -> None:
                expect(day).to_have_text(f"day {n} of {HORIZON}")

            def plot_data(graph: str, js: str) -> object:
                page.locator(f"{graph} .js-plotly-plot").wait_for(state="attached")
                return page.evaluate(f"document.querySelector('{graph} .js-plotly-plot').data{js}")

            def series_length() -> int:
                return int(str(plot_data("#open-cases", "[0].y.length")))

            # the page loads, with the first scenario's model at day 0
            day_is(0)
            expect(label).to_have_text(re.compile(r"^baseline"))
            expect(settings).to_contain_text("separation off")

            # a control: pick the reform; every control follows, and a new model runs
            page.click("#scenario")
            page.get_by_role("option", name="reform", exact=True).click()
            expect(label).to_have_text(re.compile(r"^reform"))
            expect(page.locator("#mechanisms input[value='separation']")).to_be_checked()
            expect(page.locator("#mechanisms input[value='deadline_watch']")).to_be_checked()
            expect(page.locator("#enforcement-mode input[value='comprehensive']")).to_be_checked()
            expect(settings).to_contain_text("separation on")

            # step three days: the counter and the open-cases series follow
            for n in (1, 2, 3):  # one click at a time: clicks made while a step is on its way may merge
                page.click("#step")
                day_is(n)
            page.wait_for_function(
                "document.querySelector('#open-cases .js-plotly-plot')?.data?.[0]?.y?.length === 3"
            )
            map_total = plot_data("#map", "[0].z.flat().reduce((a, b) => a + (b || 0), 0)")
            assert isinstance(map_total, int | float) and map_total > 0

            # switch separation off: the run restarts with the change, the old run stays dashed
            page.click("#mechanisms input[value='separation']")
            expect(settings).to_contain_text("separation off")
            day_is(0)
            assert plot_data("#open-cases", ".slice(-1)[0].y.length") == 3

            # play, then pause: days go by on their own
            page.click("#play")
            expect(day).to_have_text(re.compile(rf"^day ([89]|[1-9][0-9]+) of {HORIZON}$"))
            page.click("#play")
            expect(page.locator("#play")).to_contain_text("Play")
            # a tick already on its way may still land: wait until two readings a second apart
            # agree, well before the horizon (a play that went on would run to it)
            seen = [series_length()]
            for _ in range(20):
                time.sleep(1.0)
                seen.append(series_length())
                if seen[-1] == seen[-2]:
                    break
            assert seen[-1] == seen[-2], f"days kept passing after pause: {seen}"
            assert 8 <= seen[-1] < HORIZON
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert not outside, f"the page fetched from outside this machine: {outside}"
    assert not errors, f"errors in the browser console: {errors}"
