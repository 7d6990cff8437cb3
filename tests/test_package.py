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


def test_every_lazy_module_loads_on_first_access_in_a_fresh_interpreter():
    """`jol.sweeps` & co. work without importing them first, and `dir` shows them."""
    assert set(jol._LAZY) <= set(dir(jol))
    for name in jol._LAZY:
        code = (
            "import sys, jaxopt_lessons as jol; "
            f"assert 'jaxopt_lessons.{name}' not in sys.modules; "
            f"module = jol.{name}; "
            f"from jaxopt_lessons import {name} as again; "
            "assert module is again; print(module.__name__)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True
        )
        assert out.returncode == 0, f"jol.{name}: {out.stderr}"
        assert out.stdout.strip() == f"jaxopt_lessons.{name}"


def test_top_level_is_optax_names_plus_four_verbs():
    import optax

    # Functions Optax does not have at its top level; state classes and
    # type names that Optax keeps in its submodules may be extra.
    extra = [
        n
        for n in jol.__all__
        if not hasattr(optax, n)
        and n not in ("OPTIMIZERS", "TRANSFORMS")
        and not isinstance(getattr(jol, n), type)
    ]
    assert sorted(extra) == ["group", "grouped", "make_apply_step", "make_train_step"]
    # grouping's machinery stays in its module
    for name in ("GroupedTree", "NotElementwiseError", "check_elementwise"):
        assert not hasattr(jol, name)
        assert hasattr(jol.grouping, name)
