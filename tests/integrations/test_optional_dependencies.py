"""Flax and Equinox are needed by these tests and the notebooks, never by the library."""

import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent.parent


def test_importing_the_library_imports_neither_flax_nor_equinox():
    script = (
        "import sys, jaxopt_lessons\n"
        "loaded = [m for m in ('flax', 'equinox') if m in sys.modules]\n"
        "assert not loaded, f'import jaxopt_lessons loaded {loaded}'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
