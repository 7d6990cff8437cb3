"""PRNG keys from integer seeds, and NumPy generators from PRNG keys.

Problems are built on the host: their random numbers come from NumPy's PCG64
seeded with the JAX key's data. The result is a pure function of the key,
and building a problem of a new size compiles nothing (a JAX draw, or a JAX
QR, would compile once per shape, which costs more than the lessons' runs).
"""

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


def numpy_rng(fn: str, key: int | jax.Array) -> np.random.Generator:
    """A NumPy generator determined by `key` (an int seed or a PRNG key)."""
    data = np.asarray(jax.random.key_data(as_key(fn, key)), np.uint32).ravel()
    return np.random.default_rng([int(v) for v in data])
