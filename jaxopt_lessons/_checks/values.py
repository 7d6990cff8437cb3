"""Hyperparameters, checked at construction: numbers in an interval, learning
rates and schedules, flags, dtypes.

Every message reads ``"<function>: `<argument>` must <rule>, got <value>."``;
a JAX tracer is skipped (see the package docstring).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons._checks.naming import caller

__all__ = [
    "Schedule",
    "check_adam_args",
    "check_bool",
    "check_dtype",
    "check_flag",
    "check_int",
    "check_interval",
    "check_learning_rate",
    "check_non_negative",
    "check_not_both_zero",
    "check_positive",
    "check_transformation",
    "check_weight_decay",
    "is_integer_array",
    "is_schedule",
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
    # np.generic, not np.number: ml_dtypes' scalars (bfloat16) are not numbers
    # to NumPy; strings and other non-numbers are refused by dtype below.
    if not isinstance(value, (int, float, np.generic, np.ndarray, jax.Array)):
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got {value!r} "
            f"of type {type(value).__name__}."
        )
    array = np.asarray(value)
    # jnp.issubdtype knows ml_dtypes' floats (bfloat16, float8_*), whose
    # NumPy kind is 'V'; bools were refused above.
    if not (
        jnp.issubdtype(array.dtype, jnp.floating)
        or jnp.issubdtype(array.dtype, jnp.integer)
    ):
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
    fn = caller(fn)
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
    fn = caller(fn)
    if _is_traced(value):
        return
    array = _as_real(fn, name, value)
    if not np.all((array > 0) & np.isfinite(array)):
        raise ValueError(
            f"{fn}: `{name}` must be positive and finite, got {_show(value)}."
        )


def _check_rate_or_schedule(fn: str, name: str, value: Any, allow_none: bool) -> None:
    """A finite number >= 0, an array of them, or a schedule (checked where used)."""
    fn = caller(fn)
    if value is None and allow_none:
        return
    if is_schedule(value):
        return
    if value is None:
        raise TypeError(
            f"{fn}: `{name}` must be a number, an array or a schedule, got None."
        )
    check_non_negative(fn, name, value)


def check_learning_rate(
    fn: str, name: str, value: Any, *, allow_none: bool = False
) -> None:
    """A learning rate is a finite number >= 0, an array of them, or a schedule.

    A schedule (any callable, ``step -> value``) is checked where it is used.
    `allow_none` is for the factories whose `learning_rate` may be None
    (`scale_by_learning_rate`, `adadelta`, `adafactor`).
    """
    _check_rate_or_schedule(fn, name, value, allow_none)


def check_weight_decay(fn: str, name: str, value: Any) -> None:
    """A weight decay λ is a finite number >= 0, an array of them, or a schedule.

    As in Optax, `add_decayed_weights` takes a schedule of the step count; a
    schedule is checked where it is used. None is never a weight decay.
    """
    _check_rate_or_schedule(fn, name, value, allow_none=False)


def check_adam_args(fn: str, b1: Any, b2: Any, eps: Any, eps_root: Any) -> None:
    """The arguments Adam's relatives share: β₁, β₂ in [0, 1), ε and ε_root >= 0,
    not both 0 (a zero gradient would divide 0 by 0).

    Used by `scale_by_adam`, `scale_by_amsgrad`, `scale_by_belief`,
    `scale_by_novograd` and `scale_by_radam`.
    """
    check_interval(fn, "b1", b1, 0.0, 1.0)
    check_interval(fn, "b2", b2, 0.0, 1.0)
    check_non_negative(fn, "eps", eps)
    check_non_negative(fn, "eps_root", eps_root)
    check_not_both_zero(fn, ("eps", "eps_root"), (eps, eps_root))


def check_bool(fn: str, name: str, value: Any) -> None:
    """Options that change the program's structure must be Python bools."""
    fn = caller(fn)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{fn}: `{name}` must be True or False, got {value!r} "
            f"of type {type(value).__name__}."
        )


def check_flag(fn: str, name: str, value: Any) -> None:
    """A flag of a step builder (`donate`, `jit`, `has_aux`, ...) is exactly
    True or False (NumPy bools too are refused, unlike `check_bool`'s options)."""
    if not isinstance(value, bool):
        raise TypeError(f"{fn}: `{name}` must be True or False, got {value!r}.")


def check_transformation(fn: str, name: str, value: Any) -> None:
    """`value` is a gradient transformation: it has `init` and `update`."""
    if not (hasattr(value, "init") and hasattr(value, "update")):
        raise TypeError(
            f"{fn}: `{name}` must be an optax.GradientTransformation, got {value!r}."
        )


def check_dtype(fn: str, name: str, value: Any) -> jnp.dtype | None:
    """Returns the canonical floating dtype named by `value` (None stays None)."""
    fn = caller(fn)
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


def check_not_both_zero(
    fn: str, names: tuple[str, str], values: tuple[Any, Any]
) -> None:
    """Raises when both terms that keep a division finite are exactly 0.

    With both at 0, a zero gradient on the first step gives 0/0 = NaN.
    """
    fn = caller(fn)
    if any(_is_traced(v) for v in values):
        return
    if all(np.all(np.asarray(v) == 0) for v in values):
        (a, b), (va, vb) = names, values
        raise ValueError(
            f"{fn}: `{a}` and `{b}` cannot both be 0 (a zero gradient would give "
            f"0/0); got {a}={va!r}, {b}={vb!r}."
        )


def check_int(fn: str, name: str, value: Any, what: str = "") -> bool:
    """Raises TypeError unless `value` is a Python or NumPy integer or an
    integer array (not a bool); `what` follows "an int" in the message.

    Returns False for a traced value, which cannot be read (the caller then
    skips its range check), True otherwise.
    """
    if _is_traced(value):
        return False
    if isinstance(value, (bool, np.bool_)) or not (
        isinstance(value, (int, np.integer)) or is_integer_array(value)
    ):
        raise TypeError(
            f"{fn}: `{name}` must be an int{what}, got {value!r} "
            f"of type {type(value).__name__}."
        )
    return True


def is_integer_array(value: Any) -> bool:
    """True for a concrete NumPy or JAX integer scalar or array (not a Python int)."""
    if _is_traced(value) or not isinstance(value, (np.generic, np.ndarray, jax.Array)):
        return False
    # `.dtype`, not np.asarray: a typed PRNG key cannot become a NumPy array.
    return bool(jnp.issubdtype(value.dtype, jnp.integer))


def is_schedule(value: Any) -> bool:
    """True for a learning-rate schedule (a callable, not an array)."""
    return callable(value) and not isinstance(value, (jax.Array, np.ndarray))


Schedule = Callable[[jax.Array], jax.Array]
