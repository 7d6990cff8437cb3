"""The one generator of the notebooks in `notebooks/`, written without outputs.

Each notebook's cells live in a module here, ``nbNN_<name>.py`` for
``NN_<name>.ipynb``, as a list ``CELLS`` of `md(...)` and `code(...)` calls.
Edit the cells there, never in the .ipynb files, then regenerate, from the
repository root::

    .venv/bin/python -m notebooks._build.build            # writes all of them
    .venv/bin/python -m notebooks._build.build --check    # lists stale ones

A cell's id is the first 8 hex digits of the SHA-256 of its type and text (a
repeated cell gets ``-2``, ``-3``, ...), so regenerating an unchanged notebook
writes the same bytes, and editing one cell changes only that cell's id.
`tests/test_notebooks.py` regenerates every notebook in memory and compares it
with the committed file.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import pathlib
import sys

import nbformat

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parent.parent

#: The cell modules, in the notebooks' order; ``nb01_x`` writes ``01_x.ipynb``.
MODULES = (
    "nb01_what_sgd_struggles_with",
    "nb02_momentum",
    "nb03_rmsprop",
    "nb04_adam",
    "nb05_tradeoffs_and_pitfalls",
    "nb06_knowledge_check",
    "nb07_training_code",
    "nb08_beyond_adam",
)

# Setup cells shared by several notebooks.
SETUP_PROBLEMS = """\
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics, problems

OUT = Path(tempfile.mkdtemp(prefix="jaxopt-lessons-"))  # plots go to a scratch folder"""

SETUP_BASIC = """\
import tempfile
from pathlib import Path

import jax
import numpy as np
from IPython.display import Image, display

import jaxopt_lessons as jol

OUT = Path(tempfile.mkdtemp(prefix="jaxopt-lessons-"))  # plots go to a scratch folder"""


def md(text: str) -> nbformat.NotebookNode:
    """A Markdown cell; leading and trailing blank lines are dropped."""
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbformat.NotebookNode:
    """A code cell without outputs; leading and trailing blank lines are dropped."""
    return nbformat.v4.new_code_cell(text.strip())


def filename(module: str) -> str:
    """``nb01_what_sgd_struggles_with`` -> ``01_what_sgd_struggles_with.ipynb``."""
    return module.removeprefix("nb") + ".ipynb"


def _with_ids(cells: list) -> list:
    """The cells with ids from their content (see the module docstring)."""
    seen: dict[str, int] = {}
    for cell in cells:
        digest = hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
        base = digest[:8]
        seen[base] = seen.get(base, 0) + 1
        cell.id = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return cells


def notebook(module: str) -> nbformat.NotebookNode:
    """The notebook of one cell module, validated."""
    cells = importlib.import_module(f"notebooks._build.{module}").CELLS
    nb = nbformat.v4.new_notebook()
    nb.cells = _with_ids([nbformat.from_dict(cell) for cell in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def render(module: str) -> str:
    """The text of one notebook file, exactly as `write` stores it."""
    text = nbformat.writes(notebook(module))
    return text if text.endswith("\n") else text + "\n"


def stale() -> list[str]:
    """The notebooks whose file differs from what their cell module generates."""
    out = []
    for module in MODULES:
        path = NOTEBOOK_DIR / filename(module)
        if not path.exists() or path.read_text(encoding="utf-8") != render(module):
            out.append(path.name)
    return out


def write_all() -> list[pathlib.Path]:
    """Writes every notebook; returns the paths."""
    paths = []
    for module in MODULES:
        path = NOTEBOOK_DIR / filename(module)
        path.write_text(render(module), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m notebooks._build.build",
        description="Write the notebooks from their cell modules (no outputs).",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list the notebooks that differ, exit 1 if any",
    )
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for name in out_of_date:
            print(f"stale: notebooks/{name}")
        return 1 if out_of_date else 0
    for path in write_all():
        print(f"wrote {path.relative_to(NOTEBOOK_DIR.parent)}")
    return 0


if __name__ == "__main__":
    # Also runs as a script (python notebooks/_build/build.py): the cell
    # modules import this one as `notebooks._build.build`.
    sys.path.insert(0, str(NOTEBOOK_DIR.parent))
    raise SystemExit(main())
