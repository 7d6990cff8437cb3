"""Polyak's step size: how far the loss is from its floor, over |g|²."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["scale_by_polyak"]

_VARIANTS = ("sps", "sps+")


@partition_invariant
@_checks.entry_point
def scale_by_polyak(
    f_min: jax.typing.ArrayLike = 0.0,
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 0.0,
    variant: str = "sps",
) -> optax.GradientTransformationExtraArgs:
    """Scales the update by Polyak's step size, computed from the current loss.

    Lesson: a learning rate answers "how far should I go?". If the lowest
    value f* of the loss is known (0 for a model that can fit its data
    exactly), the answer follows: a linear model of the loss along −g
    reaches f* after (f − f*)/‖g‖² units. The step grows on flat stretches,
    shrinks near the bottom, and needs no tuning, at the cost of knowing f*.

    Update rule (f: the loss at the current parameters, passed as `value=`;
    ‖g‖²: summed over all leaves)::

        gap = f − f*                     (variant "sps")
        gap = max(f − f*, 0)             (variant "sps+")
        γ = min(gap / (‖g‖² + ε), γ_max)
        γ = 0 where ‖g‖² + ε <= float64 machine epsilon
        u = γ · g

    Args:
        f_min: f*, a lower bound of the loss (any finite real).
        max_learning_rate: γ_max >= 0.
        eps: ε >= 0, added to ‖g‖².
        variant: "sps" or "sps+" (the gap clipped at 0, so a loss below f*
            gives no step instead of an uphill one).

    Returns:
        A stateless `optax.GradientTransformationExtraArgs`; its `update`
        needs the keyword `value` (the loss).

    Raises:
        ValueError: an argument out of range; an unknown `variant` (Optax
            raises only at the first `update`).
        TypeError: `update` called without `value`.

    References:
        Polyak, "Introduction to Optimization", Optimization Software, 1987,
        section 5.3.
        Loizou, Vaswani, Laradji, Lacoste-Julien, "Stochastic Polyak Step-size
        for SGD: An Adaptive Learning Rate for Fast Convergence", AISTATS
        2021, eq. 4 (SPS_max).
    """
    fn = _checks.caller("scale_by_polyak")
    _checks.check_interval(fn, "f_min", f_min, -float("inf"), float("inf"))
    _checks.check_non_negative(fn, "max_learning_rate", max_learning_rate)
    _checks.check_non_negative(fn, "eps", eps)
    if variant not in _VARIANTS:
        raise ValueError(
            f"{fn}: `variant` must be one of {_VARIANTS}, got {variant!r}."
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        _checks.check_stateless(fn, state)
        if value is None:
            raise TypeError(
                f"{fn}: `update` needs the current loss as the keyword `value=`."
            )
        updates = tm.as_arrays(updates)
        _checks.check_updates_match_params(fn, updates, params)
        grad_sq = tm.sum_of_squares(updates)
        gap = jnp.array(value - f_min).astype(grad_sq.dtype)
        if variant == "sps+":
            gap = jnp.maximum(gap, 0)
        step = jnp.where(
            grad_sq + eps <= jnp.finfo(float).eps,
            jnp.array(0.0),
            jnp.minimum(gap / (grad_sq + eps), max_learning_rate),
        )
        return jax.tree.map(lambda g: step * g, updates), state

    return optax.GradientTransformationExtraArgs(_checks.empty_init(fn), update_fn)
