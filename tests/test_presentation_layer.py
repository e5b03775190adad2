"""The presentation layer's manners: importing it leaves matplotlib's backend as the person
set it (a notebook keeps its inline figures) and loads none of the model; the CLI, which
draws only to files, picks the Agg backend itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHOSEN = "svg"
"""A backend other than Agg, set through ``MPLBACKEND`` as a person (or Jupyter) would."""

IMPORT_PROBE = """
import sys
import matplotlib
import {module}
print(matplotlib.get_backend())
print(",".join(sorted(m for m in ("mesa", "numba") if m in sys.modules)))
"""

CLI_PROBE = """
import sys
import matplotlib
from typer.testing import CliRunner
from sim.cli import app
res = CliRunner().invoke(app, sys.argv[1:])
assert res.exit_code == 0, res.output
print(matplotlib.get_backend())
"""


def _python(code: str, *args: str) -> list[str]:
    """Lines printed by ``code`` in a fresh interpreter with ``MPLBACKEND`` set to :data:`CHOSEN`."""
    env = os.environ | {"MPLBACKEND": CHOSEN}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def cli_backend(*args: str) -> str:
    """The matplotlib backend after running ``govsim *args`` in a fresh interpreter."""
    return _python(CLI_PROBE, *args)[-1]


@pytest.mark.parametrize(
    "module", ["sim.presentation.plots", "sim.presentation.findings", "sim.presentation.report"]
)
def test_importing_the_figures_keeps_the_chosen_backend(module: str) -> None:
    assert _python(IMPORT_PROBE.format(module=module))[0] == CHOSEN


@pytest.mark.parametrize(
    "module",
    [
        "sim.core.metrics",
        "sim.experiments.stats",
        "sim.presentation.plots",
        "sim.presentation.findings",
        "sim.presentation.report",
    ],
)
def test_figures_and_statistics_load_no_model(module: str) -> None:
    heavy = _python(IMPORT_PROBE.format(module=module))[1]
    assert heavy == "", f"import {module} loaded {heavy}"


def test_compare_draws_its_figure_with_agg(tmp_path: Path) -> None:
    args = ["compare", "baseline", "reform", "--reps", "2", "--days", "5", "--workers", "1"]
    args += ["--set", "population.residents=8000", "--out", str(tmp_path)]
    assert cli_backend(*args).lower() == "agg"
    assert (tmp_path / "tier_shares.png").stat().st_size > 0
