"""Optimistic gradient: extrapolate with the gradient's last change."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByOptimisticGradientState

__all__ = ["ScaleByOptimisticGradientState", "scale_by_optimistic_gradient"]


@elementwise
@_checks.entry_point
def scale_by_optimistic_gradient(
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
) -> optax.GradientTransformation:
    """Optimistic direction: the gradient plus a multiple of its last change.

    Lesson: in a min-max game (a GAN, a saddle point) plain gradient steps
    circle around the solution or spiral away, because each player reacts to
    where the other was. Guessing that the next gradient will change as the
    last one did, g_t + (g_t − g_{t-1}), damps the rotation. With β = 0 it is
    plain gradient descent, scaled by α.

    Update rule (g_0 := g_1, so the first step is α · g_1)::

        u_t = (α + β) · g_t − β · g_{t-1}

    Args:
        alpha: α >= 0, the weight of the current gradient.
        beta: β >= 0, the weight of the gradient's change ("optimism").

    Returns:
        An `optax.GradientTransformation` whose state is a
        `ScaleByOptimisticGradientState`.

    Raises:
        ValueError: a negative, NaN or infinite `alpha` or `beta`.

    References:
        Daskalakis, Ilyas, Syrgkanis, Zeng, "Training GANs with Optimism",
        ICLR 2018, eq. 4.
        Mokhtari, Ozdaglar, Pattathil, "A Unified Analysis of Extra-gradient
        and Optimistic Gradient Methods for Saddle Point Problems: Proximal
        Point Approach", AISTATS 2020, eq. 8 (α and β).
    """
    fn = _checks.caller("scale_by_optimistic_gradient")
    _checks.check_non_negative(fn, "alpha", alpha)
    _checks.check_non_negative(fn, "beta", beta)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(True), previous_gradient=tm.zeros_like(params)
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByOptimisticGradientState, "previous_gradient"
        )

        def one(g, prev):
            prev = jnp.where(state.is_initial_step, g, prev)
            return (alpha + beta) * g - beta * prev

        new_updates = jax.tree.map(one, updates, state.previous_gradient)
        state = ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(False),
            previous_gradient=tm.cast_like(updates, state.previous_gradient),
        )
        return new_updates, state

    return optax.GradientTransformation(init_fn, update_fn)
