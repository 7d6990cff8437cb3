"""What every schedule here shares: integer arguments as torch takes them, and
arithmetic in torch's double precision and order (a true division)."""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def _int(fn: str, name: str, value: Any, *, low: int) -> int:
    """A Python or NumPy integer >= low (bools refused), as a Python int."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{fn}: `{name}` must be an integer, got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < low:
        rule = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{fn}: `{name}` must be {rule}, got {value!r}.")
    return int(value)


def _float(value: Any) -> Any:
    """A number as a Python float (exact for torch's double arithmetic); a
    traced value is kept."""
    if isinstance(value, jax.core.Tracer):
        return value
    return float(np.asarray(value, np.float64))


def _time(count: Any) -> jax.Array:
    """The step count as a float in JAX's default float type."""
    return jnp.asarray(count).astype(jnp.result_type(float))


def _div(x: jax.Array, d: Any) -> jax.Array:
    """x / d, correctly rounded, as Python (and so torch) divides.

    XLA replaces a division by a scalar with a multiplication by its
    reciprocal, which is off by one ulp for about half of all x. Dividing by
    an array of the same shape, hidden behind an optimization barrier so the
    compiler cannot see it is constant, keeps the true division.
    """
    x, denominator = jax.lax.optimization_barrier((x, x * 0 + d))
    return x / denominator
