"""The notebooks in ``notebooks/`` run top to bottom, are stored without outputs, and leave no files.

Each notebook is executed with nbclient in a fresh kernel, from its own folder, with a
per-cell timeout; a cell that raises fails the test with the cell's traceback, and a
warning written to the cell's stderr (such as tqdm's "IProgress not found") fails it too.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the notebook tests need nbformat (the dev extra)")
nbclient = pytest.importorskip("nbclient", reason="the notebook tests need nbclient (the dev extra)")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 120
"""Seconds one cell may take (each notebook runs in well under that in all)."""


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_scenario_comparison.ipynb",
        "03_sensitivity.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs; clear them before committing"
    assert any(c.cell_type == "markdown" and "not calibrated" in c.source for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    before = sorted(p.name for p in path.parent.iterdir())
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},  # the notebook's folder is the working directory
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    figures = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})
    ]
    assert figures, f"{path.name} shows no figure"
    stderr = [
        o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("name") == "stderr"
    ]
    # without ipywidgets (the notebooks extra), tqdm warns "IProgress not found" on import
    assert not [t for t in stderr if "Warning" in t], stderr
    assert sorted(p.name for p in path.parent.iterdir()) == before, "the notebook wrote into its folder"


def test_the_notebooks_extra_has_jupyterlab_and_widgets_and_the_readme_says_how_to_open_them() -> None:
    root = Path(__file__).resolve().parent.parent
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {r.split(">")[0].split("=")[0].split("<")[0].strip() for r in extras["notebooks"]}
    assert {"jupyterlab", "ipywidgets"} <= names
    assert any(r.startswith("ipywidgets") for r in extras["dev"]), "the notebook tests need the widgets too"
    assert "pip install -e '.[notebooks]'" in (root / "README.md").read_text()


def test_notebook_3_draws_the_projects_sensitivity_figure() -> None:
    nb = nbformat.read(NOTEBOOKS[2], as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "sensitivity_figure(indices)" in code
    assert "plt." not in code and "matplotlib.pyplot" not in code, "no hand-made plotting"
