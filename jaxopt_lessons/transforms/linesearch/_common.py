"""What both line searches share: their extra arguments and the dtype of their scalars."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm

__all__ = [
    "check_max_steps",
    "check_objective",
    "kwargs_for",
    "real_dtype_of",
]


def check_max_steps(fn: str, name: str, value: Any) -> None:
    """A number of line-search iterations: an int >= 0 (or a traced value)."""
    fn = _checks.caller(fn)
    if isinstance(value, jax.core.Tracer):
        return
    if isinstance(value, (bool, np.bool_)) or not (
        isinstance(value, (int, np.integer))
        or (
            isinstance(value, (np.ndarray, jax.Array))
            and _checks.is_integer_array(value)
        )
    ):
        raise TypeError(
            f"{fn}: `{name}` must be an int (a number of iterations), got "
            f"{value!r} of type {type(value).__name__}."
        )
    if np.any(np.asarray(value) < 0):
        raise ValueError(f"{fn}: `{name}` must be >= 0, got {value!r}.")


def check_objective(fn: str, value: Any, grad: Any, value_fn: Any) -> None:
    """`update` of a line search needs the loss, its gradient and the loss function."""
    missing = [
        name
        for name, given in (("value", value), ("grad", grad), ("value_fn", value_fn))
        if given is None
    ]
    if missing:
        raise TypeError(
            f"{fn}: `update` needs the keyword arguments value= (the loss at "
            "params), grad= (its gradient) and value_fn= (the loss function, "
            f"called as value_fn(params, **extra)); missing: {', '.join(missing)}."
        )
    if not callable(value_fn):
        raise TypeError(f"{fn}: `value_fn` must be callable, got {value_fn!r}.")


def kwargs_for(fn: str, value_fn: Callable[..., Any], extra_args: dict) -> dict:
    """The extra arguments of `update` that `value_fn` takes (by name).

    Every extra argument must be one of `value_fn`'s: one that is not would
    be silently dropped, and the loss evaluated on the wrong data.

    Raises:
        TypeError: an extra argument that `value_fn` does not take.
    """
    names = set(inspect.signature(value_fn).parameters)
    unused = sorted(k for k in extra_args if k not in names)
    if unused:
        raise TypeError(
            f"{fn}: Unexpected keyword arguments passed to `update`: {unused}. "
            "Every extra keyword argument is passed on to `value_fn`, which does "
            "not take these; add them to `value_fn`'s signature or leave them out."
        )
    return dict(extra_args)


def real_dtype_of(params: Any) -> jnp.dtype:
    """The dtype of the scalars a line search keeps (step size, loss): the real
    dtype of the first parameter leaf (float32 for complex64 parameters)."""
    first = jax.tree.leaves(params)[0]
    return jnp.real(jnp.empty((), first.dtype)).dtype


def start_update(
    fn: str,
    updates: Any,
    state: Any,
    state_class: type,
    params: Any,
    objective: tuple[Any, Any, Any],
    extra_args: dict,
) -> tuple[Any, dict]:
    """The checks every line search's `update` starts with.

    `objective` is (value, grad, value_fn). Returns the updates as arrays and
    the keyword arguments `value_fn` takes from `extra_args`.
    """
    _checks.check_state(fn, state, state_class)
    check_objective(fn, *objective)
    if params is None:
        raise TypeError(f"{fn}: `update` needs `params` (the search starts there).")
    return tm.as_arrays(updates), kwargs_for(fn, objective[2], extra_args)
