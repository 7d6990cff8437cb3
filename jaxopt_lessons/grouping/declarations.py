"""What a transform declares about grouping: elementwise, partition-invariant, or not.

A transform may run on grouped buffers when its update treats every
coordinate alike and the coordinates do not interact. Each transform factory
of this package says which of three kinds it is, with a decorator above its
``def``:

- ``@elementwise``: every coordinate's new value depends only on that
  coordinate (and on scalars shared by all: step counts, schedules). Adam,
  RMSprop, momentum, weight decay, sign, ...
- ``@partition_invariant``: it reduces over coordinates, but over *all* of
  them, so the result does not depend on how they are split into arrays
  (clipping by the global norm). Grouped and per-leaf results then agree up
  to the order of a sum.
- ``@not_elementwise("why")``: it reduces over each array on its own, keeps
  per-array statistics or draws per-array random numbers. `grouped` refuses
  any optimizer containing it and quotes the reason.

`grouped` reads these declarations; the test
`tests/test_grouping_declarations.py` checks every declaration of this
package against the operations its update actually traces to. Transforms
that declare nothing (Optax's, or a user's) are checked operation by
operation instead (see `jaxopt_lessons.grouping.check`). The decorators
return the factory unchanged, so user code can declare its own transforms.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

import optax

__all__ = [
    "Declaration",
    "declaration_of",
    "elementwise",
    "not_elementwise",
    "partition_invariant",
]

ELEMENTWISE = "elementwise"
PARTITION_INVARIANT = "partition-invariant"
NOT_ELEMENTWISE = "not elementwise"


@dataclasses.dataclass(frozen=True)
class Declaration:
    """A factory's declared kind (one of the three above) and, when it is
    not elementwise, the reason."""

    kind: str
    reason: str = ""

    @property
    def groupable(self) -> bool:
        return self.kind != NOT_ELEMENTWISE


# (source file, factory qualname) -> its declaration. The update functions a
# factory builds are nested in it, so a traced operation belongs to the
# factory whose qualname prefixes the qualname of a frame that emitted it.
_DECLARED: dict[tuple[str, str], Declaration] = {}


def _key(factory: Callable) -> tuple[str, str]:
    fn = inspect.unwrap(factory)
    try:
        path = inspect.getsourcefile(fn) or ""
    except TypeError:
        path = ""
    return os.path.realpath(path) if path else "", fn.__qualname__


def _declare(factory: Callable, declaration: Declaration) -> Callable:
    _DECLARED[_key(factory)] = declaration
    return factory


def elementwise(factory: Callable) -> Callable:
    """Declares that a transform factory's update is elementwise (decorator)."""
    return _declare(factory, Declaration(ELEMENTWISE))


def partition_invariant(factory: Callable) -> Callable:
    """Declares that a factory's result does not depend on how coordinates are
    split into arrays, although it reduces over them (e.g. clipping by the
    global norm of all gradients). `grouped` then accepts its reductions.
    Use as a decorator; the factory is returned unchanged.
    """
    return _declare(factory, Declaration(PARTITION_INVARIANT))


def not_elementwise(reason: str) -> Callable[[Callable], Callable]:
    """Declares a transform factory unfit for grouping; use as a decorator.

    ``@not_elementwise("divides each leaf by its own norm")`` above
    ``def scale_by_trust_ratio(...)``: `grouped` then refuses any optimizer
    that contains it, quoting `reason`. The factory is returned unchanged.

    Raises:
        TypeError: `reason` is not a non-empty string.
    """
    if not isinstance(reason, str) or not reason:
        raise TypeError(
            f"not_elementwise: `reason` must be a non-empty str, got {reason!r}."
        )
    return lambda factory: _declare(factory, Declaration(NOT_ELEMENTWISE, reason))


def declaration_of(factory: Callable) -> Declaration | None:
    """The declaration of a transform factory, or None when it declares nothing."""
    _declare_optax()
    return _DECLARED.get(_key(factory))


def _declare_optax() -> None:
    """Optax's wrappers that select leaves by the tree's structure, and its
    global-norm clip: the per-operation check cannot see what they mean."""
    if ("optax", "done") in _DECLARED:
        return
    _DECLARED[("optax", "done")] = Declaration(ELEMENTWISE)
    _declare(
        optax.masked,
        Declaration(
            NOT_ELEMENTWISE,
            "optax.masked chooses leaves by the tree's structure, which grouping "
            "replaces by flat buffers (a `mask=` argument, e.g. adamw's, does this)",
        ),
    )
    _declare(
        optax.partition,
        Declaration(
            NOT_ELEMENTWISE,
            "optax.partition labels leaves by the tree's structure, which grouping "
            "replaces by flat buffers",
        ),
    )
    partition_invariant(optax.clip_by_global_norm)


def owner(frames: Iterable[Any]) -> tuple[str, str, Declaration | None]:
    """(factory name, file, declaration) of the transform that emitted an
    operation, from the frames of its traceback (innermost first).

    A wrapper that is not elementwise (``optax.masked`` around an elementwise
    block) decides over the blocks inside it, so every frame is looked at: a
    refusal anywhere in the stack wins; otherwise the innermost declared
    factory decides. Without any declaration, the name is that of the
    innermost ``update_fn``'s factory, for messages.
    """
    _declare_optax()
    found: tuple[str, str, Declaration] | None = None
    name, where = "", ""
    for frame in frames:
        path = os.path.realpath(frame.file_name)
        qual = frame.function_name
        for (dfile, dname), declaration in _DECLARED.items():
            if path == dfile and (
                qual == dname or qual.startswith(dname + ".<locals>")
            ):
                if not declaration.groupable:
                    return dname, path, declaration
                if found is None:
                    found = (dname, path, declaration)
        if not name and "<locals>.update_fn" in qual:
            name, where = qual.split(".<locals>")[0], path
    return found if found is not None else (name, where, None)
