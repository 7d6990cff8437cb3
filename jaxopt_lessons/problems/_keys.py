"""PRNG keys from integer seeds, shared by the problem constructors."""

from __future__ import annotations

import jax
import numpy as np


def as_key(fn: str, key: int | jax.Array) -> jax.Array:
    """Returns a PRNG key: `key` itself, or `jax.random.key(key)` for an int seed.

    Raises:
        TypeError: `key` is neither an int nor a PRNG key array.
    """
    if isinstance(key, bool):
        raise TypeError(f"{fn}: `key` must be an int seed or a PRNG key, got {key!r}.")
    if isinstance(key, int | np.integer):
        return jax.random.key(int(key))
    if isinstance(key, jax.Array):
        return key
    raise TypeError(f"{fn}: `key` must be an int seed or a PRNG key, got {key!r}.")
