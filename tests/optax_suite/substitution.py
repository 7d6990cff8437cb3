"""Optax's own test modules, run with our functions in place of Optax's.

Each Optax test module refers to the functions under test through module
objects (``from optax._src import alias`` ... ``alias.adam(...)``,
``transform.scale_by_adam``, ``_clipping.clip``, ``optax.sgd``). Here each
such module global of the test module is replaced by a proxy module that
answers our function for every name in `jol.OPTIMIZERS` and `jol.TRANSFORMS`,
and Optax's for everything else (wrappers, schedules, test utilities, the
transforms we do not write). Optax's own modules are not changed, so Optax
itself, and every other test, keep running Optax.

Test parameters built when the test module is imported (lists of factories
in ``parameterized.named_parameters``) are taken from the real modules at
that moment; to give them our functions, the real modules' attributes are
patched for the duration of that import only, then restored.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import jaxopt_lessons as jol

#: Our name -> our function, for every name that Optax has as well.
OURS: dict[str, Any] = {
    name: getattr(jol, name) for name in (*jol.OPTIMIZERS, *jol.TRANSFORMS)
}


class OursFirst(types.ModuleType):
    """A stand-in for an Optax module: our functions first, Optax's otherwise."""

    def __init__(self, real: types.ModuleType):
        super().__init__(real.__name__, real.__doc__)
        self.__dict__["_real"] = real
        for name, fn in OURS.items():
            if hasattr(real, name):
                self.__dict__[name] = fn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_real"], name)

    def __repr__(self) -> str:
        return f"<{self.__name__} with jaxopt_lessons substituted>"


def _optax_modules() -> list[types.ModuleType]:
    """Every loaded Optax module (not test module) that has one of our names."""
    return [
        module
        for name, module in list(sys.modules.items())
        if isinstance(module, types.ModuleType)
        and (name == "optax" or name.startswith("optax."))
        and not name.endswith("_test")
        and any(n in vars(module) for n in OURS)
    ]


@contextlib.contextmanager
def _patched(modules: list[types.ModuleType]) -> Iterator[None]:
    saved = [(m, n, vars(m)[n]) for m in modules for n in OURS if n in vars(m)]
    try:
        for module, name, _ in saved:
            setattr(module, name, OURS[name])
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def load(module_name: str) -> types.ModuleType:
    """Imports one of Optax's test modules with our functions substituted.

    Raises if the module was imported before without the substitution (its
    import-time parameters would be Optax's).
    """
    if module_name in sys.modules:
        module = sys.modules[module_name]
        if not getattr(module, "_jaxopt_lessons_substituted", False):
            raise RuntimeError(f"{module_name} was imported without substitution")
        return module
    with _patched(_optax_modules()):
        module = importlib.import_module(module_name)
    for name, value in list(vars(module).items()):
        if (
            isinstance(value, types.ModuleType)
            and not isinstance(value, OursFirst)
            and (value.__name__ == "optax" or value.__name__.startswith("optax."))
            and any(hasattr(value, n) for n in OURS)
        ):
            setattr(module, name, OursFirst(value))
    module._jaxopt_lessons_substituted = True
    return module
