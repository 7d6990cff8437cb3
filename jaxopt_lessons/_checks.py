"""Validation helpers: hyperparameters at construction, pytrees at trace time.

Every message reads ``"<function>: `<argument>` must <rule>, got <value>."`` so
the user sees at once which call and which argument were wrong.

Hyperparameters that are JAX tracers are skipped: `optax.inject_hyperparams`
re-creates the transform with traced values inside `update`, and `jax.vmap`
over a sweep of settings passes batched tracers. Their values cannot be read
without breaking the trace, and they were validated when first given.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "check_bool",
    "check_dtype",
    "check_float_params",
    "check_interval",
    "check_learning_rate",
    "check_not_both_zero",
    "check_non_negative",
    "check_positive",
    "check_tree_matches",
    "empty_init",
]


def _is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def _show(value: Any) -> str:
    """A short, readable form of a hyperparameter for an error message."""
    if isinstance(value, (jax.Array, np.ndarray)) and np.ndim(value) > 0:
        return f"array of shape {np.shape(value)} with values {np.asarray(value)!r}"
    return repr(value)


def _as_real(fn: str, name: str, value: Any) -> np.ndarray:
    """Returns `value` as a float64 NumPy array, or raises TypeError."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (bool, np.bool_)) or (
        dtype is not None and np.dtype(dtype) == np.bool_
    ):
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got the bool {value!r}."
        )
    # Lists and tuples are refused: `-1 * [0.1]` is an empty list, not -0.1.
    if not isinstance(value, (int, float, np.number, np.ndarray, jax.Array)):
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got {value!r} "
            f"of type {type(value).__name__}."
        )
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got {value!r} "
            f"of type {type(value).__name__}."
        )
    return array.astype(np.float64)


def check_interval(
    fn: str,
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    high_closed: bool = False,
) -> None:
    """Raises unless `value` is finite and ``low <= value < high``.

    With `high_closed`, ``value <= high`` instead. NaN fails every comparison
    and infinities are refused even where a bound is infinite.
    """
    if _is_traced(value):
        return
    array = _as_real(fn, name, value)
    upper = array <= high if high_closed else array < high
    if not np.all((array >= low) & upper):
        bracket = "]" if high_closed else ")"
        raise ValueError(
            f"{fn}: `{name}` must lie in [{low:g}, {high:g}{bracket}, got {_show(value)}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{fn}: `{name}` must be finite, got {_show(value)}.")


def check_non_negative(fn: str, name: str, value: Any) -> None:
    """Raises unless `value` is finite and ``>= 0``."""
    check_interval(fn, name, value, 0.0, math.inf)


def check_positive(fn: str, name: str, value: Any) -> None:
    """Raises unless `value` is finite and ``> 0``."""
    if _is_traced(value):
        return
    array = _as_real(fn, name, value)
    if not np.all((array > 0) & np.isfinite(array)):
        raise ValueError(
            f"{fn}: `{name}` must be positive and finite, got {_show(value)}."
        )


def check_learning_rate(
    fn: str, name: str, value: Any, *, allow_none: bool = False
) -> None:
    """A learning rate is a finite number >= 0, an array of them, or a schedule.

    A schedule (any callable, ``step -> value``) is checked where it is used.
    """
    if value is None and allow_none:
        return
    if callable(value) and not isinstance(value, (jax.Array, np.ndarray)):
        return
    if value is None:
        raise TypeError(
            f"{fn}: `{name}` must be a number, an array or a schedule, got None."
        )
    check_non_negative(fn, name, value)


def check_bool(fn: str, name: str, value: Any) -> None:
    """Options that change the program's structure must be Python bools."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{fn}: `{name}` must be True or False, got {value!r} "
            f"of type {type(value).__name__}."
        )


def check_dtype(fn: str, name: str, value: Any) -> jnp.dtype | None:
    """Returns the canonical floating dtype named by `value` (None stays None)."""
    if value is None:
        return None
    try:
        dtype = jnp.dtype(value)
    except TypeError as error:
        raise TypeError(f"{fn}: `{name}` must be a dtype, got {value!r}.") from error
    if not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(
            f"{fn}: `{name}` must be a floating or complex dtype, got {dtype.name}."
        )
    return jax.dtypes.canonicalize_dtype(dtype)


def _paths(tree: Any) -> list[tuple[str, Any]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in leaves]


def check_float_params(fn: str, params: Any) -> None:
    """Optimizers move parameters continuously: integer or bool leaves are an error."""
    for path, leaf in _paths(params):
        dtype = getattr(leaf, "dtype", None)
        if dtype is None:
            dtype = np.asarray(leaf).dtype
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"{fn}: every parameter must have a floating dtype, but params{path} "
                f"has dtype {jnp.dtype(dtype).name}. Cast it, or leave it out of the "
                "optimizer with optax.masked or optax.partition."
            )


def empty_init(fn: str) -> Callable[[Any], Any]:
    """`init` of a stateless block: checks the params' dtypes, holds nothing."""

    def init_fn(params: Any) -> Any:
        check_float_params(fn, params)
        return optax.EmptyState()

    return init_fn


def check_tree_matches(
    fn: str, updates: Any, state_tree: Any, *, shapes: bool = True
) -> None:
    """Raises when `updates` is not shaped like the tree the state was built for.

    With ``shapes=False`` only the tree structure is compared (for states whose
    leaves are not shaped like the params, such as factored moments). Runs at
    trace time, so under `jax.jit` it costs nothing per step.
    """
    got, want = jax.tree.structure(updates), jax.tree.structure(state_tree)
    if got != want:
        raise ValueError(
            f"{fn}: the structure of `updates` does not match the optimizer state "
            f"(built by `init` from the params).\n  updates: {got}\n  state:   {want}"
        )
    if not shapes:
        return
    for (path, update), (_, moment) in zip(_paths(updates), _paths(state_tree)):
        if jnp.shape(update) != jnp.shape(moment):
            raise ValueError(
                f"{fn}: the update at {path or 'the root'} has shape "
                f"{jnp.shape(update)}, but the optimizer state there has shape "
                f"{jnp.shape(moment)}."
            )


def check_not_both_zero(
    fn: str, names: tuple[str, str], values: tuple[Any, Any]
) -> None:
    """Raises when both terms that keep a division finite are exactly 0.

    With both at 0, a zero gradient on the first step gives 0/0 = NaN.
    """
    if any(_is_traced(v) for v in values):
        return
    if all(np.all(np.asarray(v) == 0) for v in values):
        (a, b), (va, vb) = names, values
        raise ValueError(
            f"{fn}: `{a}` and `{b}` cannot both be 0 (a zero gradient would give "
            f"0/0); got {a}={va!r}, {b}={vb!r}."
        )


def is_schedule(value: Any) -> bool:
    """True for a learning-rate schedule (a callable, not an array)."""
    return callable(value) and not isinstance(value, (jax.Array, np.ndarray))


Schedule = Callable[[jax.Array], jax.Array]
