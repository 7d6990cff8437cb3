"""Helpers of contrib's factories: integer counts, and branches on the step count."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jaxopt_lessons import _checks

__all__ = ["check_count", "cond"]


def check_count(fn: str, name: str, value: Any, low: int = 1) -> None:
    """Raises unless `value` is an integer >= `low` (not a bool).

    Python and NumPy integers and 0-d integer arrays are accepted; a traced
    value (`optax.inject_hyperparams`) was checked when first given.
    """
    fn = _checks.caller(fn)
    if isinstance(value, jax.core.Tracer):
        return
    if _checks.is_integer_array(value) and np.ndim(value) == 0:
        value = int(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{fn}: `{name}` must be an integer, got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < low:
        raise ValueError(f"{fn}: `{name}` must be an integer >= {low}, got {value!r}.")


def cond(predicate: Any, true_fn: Any, false_fn: Any, *operands: Any) -> Any:
    """`jax.lax.cond`, or a plain Python branch when `predicate` is concrete.

    Eagerly, `lax.cond` traces and compiles both branches at every call when
    they are closures made anew each step (several seconds a step); with a
    known predicate only the chosen branch runs, op by op. Under `jax.jit`
    the predicate is traced and this is `lax.cond`.
    """
    if isinstance(predicate, jax.core.Tracer):
        return jax.lax.cond(predicate, true_fn, false_fn, *operands)
    return true_fn(*operands) if bool(predicate) else false_fn(*operands)
