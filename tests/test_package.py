"""Package-level promises: a light import and a complete public API."""

import subprocess
import sys

import jaxopt_lessons as jol

HEAVY = ("matplotlib", "sklearn", "torch", "flax", "equinox", "tqdm", "orbax")


def test_import_stays_light():
    code = (
        "import sys, jaxopt_lessons; "
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", (
        f"import jaxopt_lessons also imported: {out.stdout}"
    )


def test_every_name_in_all_exists_and_factories_are_callable():
    for name in jol.__all__:
        assert hasattr(jol, name), name
    for name in (*jol.OPTIMIZERS, *jol.TRANSFORMS):
        assert callable(getattr(jol, name)), name
    assert len(set(jol.__all__)) == len(jol.__all__), "duplicate names in __all__"


def test_execution_helpers_and_lazy_subpackages():
    from jaxopt_lessons import grouping, training

    assert jol.grouped is grouping.grouped and callable(jol.grouped)
    assert jol.make_train_step is training.make_train_step
    code = (
        "import sys, jaxopt_lessons as jol; "
        "assert 'jaxopt_lessons.checkpoint' not in sys.modules; "
        "print(jol.checkpoint.__name__, jol.problems.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "jaxopt_lessons.checkpoint",
        "jaxopt_lessons.problems",
    ]
    try:
        jol.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown attribute should raise AttributeError")
