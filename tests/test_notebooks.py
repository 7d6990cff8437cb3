"""Every notebook runs top to bottom, is committed without outputs, and is
exactly what its generator (`notebooks/_build/build.py`) writes."""

import os
import pathlib

import nbformat
import pytest

from notebooks._build import build

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    from nbclient import NotebookClient

    # The kernel inherits this process's environment.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    repo = str(path.parent.parent)
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])),
    )
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"{path.name}: cell {i} has outputs"
        assert cell.get("execution_count") is None, (
            f"{path.name}: cell {i} has an execution count"
        )


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("module", build.MODULES)
def test_committed_notebook_is_what_the_generator_writes(module):
    path = build.NOTEBOOK_DIR / build.filename(module)
    assert path.read_text(encoding="utf-8") == build.render(module), (
        f"{path.name} differs from notebooks/_build/{module}.py; regenerate with "
        "`.venv/bin/python -m notebooks._build.build`"
    )


def test_every_notebook_has_a_cell_module():
    assert [p.name for p in NOTEBOOKS] == [build.filename(m) for m in build.MODULES]


def test_cell_ids_are_unique_and_stable():
    for module in build.MODULES:
        ids = [cell.id for cell in build.notebook(module).cells]
        assert len(set(ids)) == len(ids), module
        assert ids == [cell.id for cell in build.notebook(module).cells]
