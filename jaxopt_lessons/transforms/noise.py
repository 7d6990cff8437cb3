"""Gradient noise: add annealed Gaussian noise to every update."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import AddNoiseState

__all__ = ["AddNoiseState", "add_noise"]


def resolve_key(fn, key, seed):
    """The typed PRNG key of a block that takes `key` (or the deprecated `seed`).

    An integer seed is turned into a key as Optax does; no key at all means
    seed 0, with a warning, since every run would then draw the same noise.
    """
    if seed is not None:
        warnings.warn(
            f"{fn}: `seed` is deprecated; pass the seed as `key`.",
            DeprecationWarning,
            stacklevel=3,
        )
        if key is not None:
            raise ValueError(
                f"{fn}: give `key` or `seed`, not both; got {key!r} and {seed!r}."
            )
        key = seed
    if key is None:
        warnings.warn(
            f"{fn}: no `key` given; using seed 0. Pass `key=` for independent runs.",
            stacklevel=3,
        )
        key = 0
    return _as_key(fn, key)


def _as_key(fn, key):
    """A typed PRNG key from a typed key or an integer seed (as Optax does)."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(key)
    if (
        isinstance(key, (jax.Array, np.ndarray))
        and jnp.issubdtype(key.dtype, jnp.integer)
        and np.ndim(key) == 0
    ):
        return jax.random.key(key)
    raise TypeError(
        f"{fn}: `key` must be a key from jax.random.key or an integer seed, got "
        f"{key!r}."
    )


@not_elementwise(
    "it draws its noise leaf by leaf from keys split per leaf, so grouping would change the random numbers"
)
@_checks.entry_point
def add_noise(
    eta: jax.typing.ArrayLike,
    gamma: jax.typing.ArrayLike,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> optax.GradientTransformation:
    """Adds Gaussian noise whose variance decays as the steps go by.

    Lesson: the opposite of what momentum does. Early in training, noise
    helps the iterate leave sharp basins and saddle points; annealing its
    variance as η / tᵞ lets it settle at the end. The lesson's noise claims
    (minibatch noise sets a floor) apply: the floor falls only because the
    added variance does.

    Update rule (t from 1; z_t: independent standard normals per entry)::

        σ_t = √(η / tᵞ)
        u_t = g_t + σ_t · z_t

    The key is split once per step, (next key, sample key), and the sample key
    once more into one key per leaf in tree order: the noise is the same as
    `optax.add_noise` with the same key.

    Args:
        eta: η >= 0, the variance at t = 1.
        gamma: γ >= 0, the decay exponent (0.55 in the paper).
        key: a key from `jax.random.key`, or an integer seed. None uses seed 0
            with a warning, so runs are reproducible but not independent.
        seed: the older name for an integer `key` (deprecated, as in Optax).

    Returns:
        An `optax.GradientTransformation` whose state is an `AddNoiseState`.

    Raises:
        ValueError: a negative, NaN or infinite `eta` or `gamma`; both `key`
            and `seed` given.
        TypeError: a `key` that is neither a typed key nor an integer.

    References:
        Neelakantan et al., "Adding Gradient Noise Improves Learning for Very
        Deep Networks", arXiv:1511.06807, 2015, section 2.
    """
    fn = _checks.caller("add_noise")
    _checks.check_non_negative(fn, "eta", eta)
    _checks.check_non_negative(fn, "gamma", gamma)
    key = resolve_key(fn, key, seed)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return AddNoiseState(count=jnp.zeros([], jnp.int32), rng_key=key)

    def update_fn(updates, state, params=None):
        _checks.check_state(fn, state, AddNoiseState)
        updates = tm.as_arrays(updates)
        _checks.check_updates_match_params(fn, updates, params)
        count = tm.increment(state.count)
        std = jnp.sqrt(eta / count**gamma)
        next_key, sample_key = jax.random.split(state.rng_key)
        leaves, treedef = jax.tree.flatten(updates)
        leaf_keys = jax.random.split(sample_key, len(leaves))
        noisy = [
            g + jnp.asarray(std) * jax.random.normal(k, g.shape, g.dtype)
            for g, k in zip(leaves, leaf_keys)
        ]
        return jax.tree.unflatten(treedef, noisy), AddNoiseState(count, next_key)

    return optax.GradientTransformation(init_fn, update_fn)
