"""Clipping: bound the size of an update, element by element or as a whole."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import (
    elementwise,
    not_elementwise,
    partition_invariant,
)

__all__ = ["adaptive_grad_clip", "clip", "clip_by_block_rms", "clip_by_global_norm"]


@elementwise
@_checks.entry_point
def clip(max_delta: jax.typing.ArrayLike) -> optax.GradientTransformation:
    """Clips every coordinate of the update to [−δ, δ].

    Lesson: a single exploding coordinate (a rare feature, a spike in the
    loss) can throw the parameters far away in one step. Clipping bounds each
    coordinate's move, at the price of changing the step's direction.

    Update rule::

        u ← min(max(u, −δ), δ)

    Args:
        max_delta: δ >= 0.

    Returns:
        A stateless `optax.GradientTransformation`.

    Raises:
        ValueError: a negative, NaN or infinite `max_delta`.
    """
    fn = _checks.caller("clip")
    _checks.check_non_negative(fn, "max_delta", max_delta)

    def update_fn(updates, state, params=None):
        updates, _ = _checks.checked_stateless(fn, updates, state, params)
        return jax.tree.map(
            lambda u: jnp.clip(u, -max_delta, max_delta), updates
        ), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)


@partition_invariant
@_checks.entry_point
def clip_by_global_norm(max_norm: jax.typing.ArrayLike) -> optax.GradientTransformation:
    """Shrinks the whole update, keeping its direction, when its norm exceeds a cap.

    Lesson: near a cliff of the loss (recurrent networks, early training) one
    gradient can be a thousand times the usual size. Rescaling all leaves
    together bounds the step's length without turning it, unlike `clip`.

    Update rule (‖u‖: the Euclidean norm of all leaves together)::

        u ← u                       if ‖u‖ < c
        u ← u · c / ‖u‖             otherwise

    Args:
        max_norm: c > 0.

    Returns:
        A stateless `optax.GradientTransformation`.

    Raises:
        ValueError: `max_norm` not positive and finite.

    Differences from PyTorch: `torch.nn.utils.clip_grad_norm_` multiplies by
    min(1, c / (‖u‖ + 1e-6)), a factor slightly below 1 even under the cap.

    References:
        Pascanu, Mikolov, Bengio, "On the difficulty of training recurrent
        neural networks", ICML 2013, Algorithm 1.
    """
    fn = _checks.caller("clip_by_global_norm")
    _checks.check_positive(fn, "max_norm", max_norm)

    def update_fn(updates, state, params=None):
        updates, _ = _checks.checked_stateless(fn, updates, state, params)
        norm = tm.global_norm(updates)
        under = norm < max_norm
        updates = jax.tree.map(
            lambda u: jax.lax.select(under, u, (u / norm.astype(u.dtype)) * max_norm),
            updates,
        )
        return updates, state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)


@not_elementwise("it clips each leaf by that leaf's own root mean square")
@_checks.entry_point
def clip_by_block_rms(threshold: jax.typing.ArrayLike) -> optax.GradientTransformation:
    """Shrinks each leaf whose root-mean-square update exceeds a threshold.

    Lesson: Adafactor's steps g/√v̂ can be huge when v̂ lags behind a sudden
    change in the gradient's scale; capping each layer's RMS at d keeps every
    step bounded without a global decision.

    Update rule (per leaf)::

        u ← u / max(1, RMS(u) / d)

    Args:
        threshold: d > 0.

    Returns:
        A stateless `optax.GradientTransformation`.

    Raises:
        ValueError: `threshold` not positive and finite.

    References:
        Shazeer and Stern, "Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost", ICML 2018, section 6 (update clipping).
    """
    fn = _checks.caller("clip_by_block_rms")
    _checks.check_positive(fn, "threshold", threshold)

    def one(u):
        return u / jnp.maximum(1.0, jnp.sqrt(jnp.mean(tm.abs_sq(u))) / threshold)

    def update_fn(updates, state, params=None):
        updates, _ = _checks.checked_stateless(fn, updates, state, params)
        return jax.tree.map(one, updates), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)


def _unit_norms(x, axis):
    """‖·‖₂ of each unit of x, broadcast back to x's shape.

    A unit is what one output neuron owns: with `axis` None, a vector or a
    squeezable scalar is one unit, a matrix (in, out) or (heads, in, out) has
    one unit per trailing index (norm over axis 0), a convolution kernel
    (H, W, in, out) or (D, H, W, in, out) one per output channel.
    """
    if axis is None:
        if jnp.squeeze(x).ndim <= 1:
            axis = None
        elif x.ndim in (2, 3):
            axis = 0
        elif x.ndim in (4, 5):
            axis = tuple(range(x.ndim - 1))
        else:
            raise ValueError(
                f"adaptive_grad_clip: cannot tell the units of a leaf of shape "
                f"{x.shape}; pass `axis`."
            )
    squares = jnp.sum(tm.abs_sq(x), axis=axis, keepdims=True)
    return jnp.broadcast_to(jnp.sqrt(squares), x.shape)


@not_elementwise(
    "it clips each leaf by the ratio of its own norm to its parameter's norm"
)
@_checks.entry_point
def adaptive_grad_clip(
    clipping: jax.typing.ArrayLike,
    eps: jax.typing.ArrayLike = 1e-3,
    axis: int | tuple[int, ...] | None = None,
) -> optax.GradientTransformation:
    """Clips each unit's update to a fraction of that unit's weight norm (AGC).

    Lesson: a fixed norm cap (`clip_by_global_norm`) is too tight for large
    layers and too loose for small ones. AGC bounds each unit's step relative
    to its own weights, ‖u‖ ≤ λ·‖θ‖, so the relative change of every unit per
    step is bounded; it lets networks without batch normalisation train with
    large batches.

    Update rule (per unit, see `axis`; θ: its parameters)::

        c = λ · max(‖θ‖, ε)
        u ← u                              if ‖u‖ < c
        u ← u · c / max(‖u‖, 1e-6)         otherwise

    Args:
        clipping: λ >= 0, the largest allowed ratio ‖u‖ / ‖θ‖.
        eps: ε >= 0, so units initialised at zero can still move.
        axis: the axes that make up one unit; None picks them from each
            leaf's rank (see `_unit_norms`): ranks above 5 need an explicit
            `axis`.

    Returns:
        A stateless `optax.GradientTransformation`; its `update` needs params.

    Raises:
        ValueError: a negative, NaN or infinite `clipping` or `eps`; `update`
            without params; a leaf of rank above 5 with `axis` None.
        TypeError: `axis` not None, an int or a tuple of ints.

    References:
        Brock, De, Smith, Simonyan, "High-Performance Large-Scale Image
        Recognition Without Normalization", ICML 2021, section 4.1.
    """
    fn = _checks.caller("adaptive_grad_clip")
    _checks.check_non_negative(fn, "clipping", clipping)
    _checks.check_non_negative(fn, "eps", eps)
    axes = axis if isinstance(axis, tuple) else (axis,)
    if axis is not None and not all(
        isinstance(a, int) and not isinstance(a, bool) for a in axes
    ):
        raise TypeError(
            f"{fn}: `axis` must be None, an int or a tuple of ints, got {axis!r}."
        )

    def one(u, p):
        u_norm, p_norm = _unit_norms(u, axis), _unit_norms(p, axis)
        cap = clipping * jnp.maximum(p_norm, eps)
        clipped = u * (cap / jnp.maximum(u_norm, 1e-6))
        return jnp.where(u_norm < cap, u, clipped)

    def update_fn(updates, state, params=None):
        updates, params = _checks.checked_stateless(
            fn, updates, state, params, needs_params=True
        )
        return jax.tree.map(one, updates, params), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
