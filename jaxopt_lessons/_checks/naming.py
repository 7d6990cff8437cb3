"""Which function a message names: `entry_point`, `caller`, `reporting_as`."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["caller", "entry_point", "reporting_as"]

_CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jaxopt_lessons_caller", default=None
)
_F = TypeVar("_F", bound=Callable[..., Any])


def caller(fn: str) -> str:
    """The name messages use: the public function being called, else `fn`.

    Blocks resolve their name once, when they are built, so the errors of
    their `init` and `update` name the same function as their validation.
    """
    return _CALLER.get() or fn


@contextlib.contextmanager
def reporting_as(fn: str) -> Iterator[str]:
    """Within the block, messages name `fn`, unless an outer call already set a name."""
    name = caller(fn)
    token = _CALLER.set(name)
    try:
        yield name
    finally:
        _CALLER.reset(token)


def entry_point(factory: _F) -> _F:
    """Declares a public factory: messages raised while it builds name it.

    `adam` is a chain of `scale_by_adam` and `scale_by_learning_rate`; with
    this decorator, ``adam(b1=2)`` reports ``adam: `b1` must ...``. The
    signature is kept (`inspect.signature` and `optax.inject_hyperparams`
    read the wrapped function's).
    """

    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reporting_as(factory.__name__):
            return factory(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
