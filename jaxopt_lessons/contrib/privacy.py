"""DP-SGD: clip each example's gradient, average, add Gaussian noise."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax.contrib import DifferentiallyPrivateAggregateState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.momentum import trace
from jaxopt_lessons.transforms.noise import resolve_key
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate

__all__ = [
    "DifferentiallyPrivateAggregateState",
    "differentially_private_aggregate",
    "dpsgd",
]


def _check_batched(fn, leaves):
    """Every leaf has a leading batch axis of one common size >= 1."""
    sizes = {jnp.shape(g)[0] if jnp.ndim(g) else None for g in leaves}
    if None in sizes or len(sizes) != 1 or 0 in sizes:
        shapes = [tuple(jnp.shape(g)) for g in leaves]
        raise ValueError(
            f"{fn}: `updates` must be per-example gradients, every leaf with the "
            f"same leading batch axis (e.g. from jax.vmap(jax.grad(loss))); got "
            f"leaves of shapes {shapes}."
        )


@not_elementwise(
    "it clips each example by its norm over all leaves and draws its noise leaf "
    "by leaf from per-leaf keys; its updates also carry a batch axis the "
    "params do not have"
)
@_checks.entry_point
def differentially_private_aggregate(
    l2_norm_clip: jax.typing.ArrayLike,
    noise_multiplier: jax.typing.ArrayLike,
    key: jax.Array | int | None = None,
    *,
    seed: int | None = None,
) -> optax.GradientTransformation:
    """Aggregates per-example gradients the DP-SGD way.

    Lesson: to bound what one example can reveal, bound what it can do.
    Each example's gradient is scaled down to norm at most C, so no example
    moves the sum by more than C; Gaussian noise of standard deviation σC then
    hides any single example's contribution. Privacy costs accuracy: the noise
    does not average out within a step.

    Update rule (g_i: example i's gradient over all leaves, B examples,
    C = `l2_norm_clip`, σ = `noise_multiplier`, z: standard normals)::

        ḡ_i = g_i · min(1, C / ‖g_i‖₂)          (ḡ_i = g_i where ‖g_i‖₂ = 0)
        u_t = (Σ_i ḡ_i + σ C · z) / B

    `updates` must hold per-example gradients: every leaf has a leading batch
    axis of size B, and the output drops it. Put this block first in a chain.

    Random numbers: each step splits the state's key into (next key, one key
    per leaf in tree order), as `optax.contrib.differentially_private_aggregate`
    does, so the same key gives the same noise.

    Args:
        l2_norm_clip: C >= 0, the largest norm one example may have.
        noise_multiplier: σ >= 0, the noise's standard deviation over C.
        key: a key from `jax.random.key`, or an integer seed. None uses seed 0
            with a warning (as Optax does).
        seed: the older name for an integer `key` (deprecated, as in Optax).

    Returns:
        An `optax.GradientTransformation` whose state is Optax's
        `DifferentiallyPrivateAggregateState(rng_key)`.

    Raises:
        ValueError: a negative, NaN or infinite `l2_norm_clip` or
            `noise_multiplier`; both `key` and `seed`; in `update`, leaves
            without a common leading batch axis.
        TypeError: a `key` that is neither a typed key nor an integer.

    Differences from Optax: none in the numbers. The hyperparameters are
    checked: Optax accepts a negative clip, which flips every gradient.

    References:
        Abadi et al., "Deep Learning with Differential Privacy", CCS 2016,
        Algorithm 1.
    """
    fn = _checks.caller("differentially_private_aggregate")
    _checks.check_non_negative(fn, "l2_norm_clip", l2_norm_clip)
    _checks.check_non_negative(fn, "noise_multiplier", noise_multiplier)
    key = resolve_key(fn, key, seed)
    noise_std = l2_norm_clip * noise_multiplier

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return DifferentiallyPrivateAggregateState(rng_key=key)

    def update_fn(updates, state, params=None):
        del params  # shaped like one example, not like the batched updates
        _checks.check_state(fn, state, DifferentiallyPrivateAggregateState)
        updates = tm.as_arrays(updates)
        leaves, treedef = jax.tree.flatten(updates)
        _check_batched(fn, leaves)
        batch = leaves[0].shape[0]
        # ‖g_i‖₂ over all leaves, for each example i.
        norms = jax.vmap(tm.global_norm)(leaves)
        factors = jnp.minimum(l2_norm_clip / norms, 1.0)
        factors = jnp.where(jnp.isnan(factors), 1.0, factors)  # 0 / 0
        next_key, *leaf_keys = jax.random.split(state.rng_key, len(leaves) + 1)
        noised = []
        for g, k in zip(leaves, leaf_keys):
            total = jnp.tensordot(factors, g, axes=1)
            noise = jax.random.normal(k, total.shape, total.dtype)
            noised.append((total + noise_std * noise) / batch)
        return (
            jax.tree.unflatten(treedef, noised),
            DifferentiallyPrivateAggregateState(rng_key=next_key),
        )

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def dpsgd(
    learning_rate: optax.ScalarOrSchedule,
    l2_norm_clip: jax.typing.ArrayLike,
    noise_multiplier: jax.typing.ArrayLike,
    seed: int,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """DP-SGD: SGD on privately aggregated per-example gradients.

    θ ← θ − η · d_t, where d_t is `differentially_private_aggregate`'s output
    (per-example clipping to C = `l2_norm_clip`, Gaussian noise σC,
    σ = `noise_multiplier`; maths there), or with `momentum` its `trace`.
    `update` takes per-example gradients (a leading batch axis on every leaf).

    Same signature, defaults, state layout and random numbers as
    `optax.contrib.dpsgd` for the same `seed`.
    Chain: `differentially_private_aggregate(C, σ, key=seed)` →
    `trace(momentum, nesterov)` (or identity) →
    `scale_by_learning_rate(learning_rate)`.

    Args:
        learning_rate: η >= 0, or a schedule.
        l2_norm_clip: C >= 0.
        noise_multiplier: σ >= 0.
        seed: the integer seed of the noise (or a key from `jax.random.key`).
        momentum: β in [0, 1), or None for plain SGD.
        nesterov: use Nesterov momentum (needs `momentum`).

    Raises:
        ValueError: an invalid hyperparameter, or `nesterov=True` without momentum.
        TypeError: a `seed` that is neither an integer nor a key.

    Differences from Optax: Optax's `dpsgd` passes its `seed` on as the
    deprecated `seed=` of the aggregate, so every call warns (a
    DeprecationWarning the caller cannot avoid); here it is passed as the key,
    which gives the same random numbers without the warning.

    References:
        Abadi et al., "Deep Learning with Differential Privacy", CCS 2016,
        Algorithm 1.
    """
    fn = _checks.caller("dpsgd")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _checks.check_bool(fn, "nesterov", nesterov)
    is_key = isinstance(seed, jax.Array) and jnp.issubdtype(
        seed.dtype, jax.dtypes.prng_key
    )
    is_int = isinstance(seed, (int, np.integer)) or (
        _checks.is_integer_array(seed) and np.ndim(seed) == 0
    )
    if isinstance(seed, (bool, np.bool_)) or not (is_key or is_int):
        raise TypeError(
            f"{fn}: `seed` must be an integer seed or a key from jax.random.key, "
            f"got {seed!r}."
        )
    if momentum is None:
        if nesterov:
            raise ValueError(
                f"{fn}: `nesterov=True` needs a `momentum` value, got None."
            )
        direction = optax.identity()
    else:
        _checks.check_interval(fn, "momentum", momentum, 0.0, 1.0)
        direction = trace(momentum, nesterov)
    return _chain.chain(
        differentially_private_aggregate(l2_norm_clip, noise_multiplier, key=seed),
        direction,
        scale_by_learning_rate(learning_rate),
    )
