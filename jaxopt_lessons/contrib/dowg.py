"""DoWG: DoG with the gradients weighted by the squared distance travelled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import DoWGState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.contrib.dog import sgd_with_step_size
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["DoWGState", "dowg", "scale_by_dowg"]


@partition_invariant
@_checks.entry_point
def scale_by_dowg(
    init_estim_sq_dist: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-4,
) -> optax.GradientTransformation:
    """DoWG's direction: the gradient times r̄² over the root of the gradients'
    squared norms, each weighted by the r̄² of its step.

    Lesson: DoG divides the distance travelled by all the gradients seen, old
    and new alike. DoWG weights each gradient by how far the iterates had got
    when it arrived, so the early gradients, seen while the distance was
    still tiny, count for little; the step then adapts to smooth and
    non-smooth problems alike ("universal").

    Update rule (‖·‖ over the whole tree; r̄² starts at r₀², v at 0)::

        r̄² = max(r̄², ‖x − x₀‖²)
        v   = v + r̄² · ‖g‖²
        η   = r̄² / (√v + ε)
        u   = η · g

    Args:
        init_estim_sq_dist: r₀² > 0, a first guess of the squared distance to
            the solution; None means ε.
        eps: ε > 0, keeps the first division finite (and is r₀² by default).

    Returns:
        An `optax.GradientTransformation` whose state is Optax's `DoWGState`;
        its `update` needs the params.

    Raises:
        ValueError: an argument <= 0, NaN or infinite; `update` without params.

    References:
        Khaled, Mishchenko, Jin, "DoWG Unleashed: An Efficient Universal
        Parameter-Free Gradient Descent Method", NeurIPS 2023, Algorithm 1;
        arXiv:2305.16284.
    """
    fn = _checks.caller("scale_by_dowg")
    if init_estim_sq_dist is not None:
        _checks.check_positive(fn, "init_estim_sq_dist", init_estim_sq_dist)
    _checks.check_positive(fn, "eps", eps)
    first_sq_dist = eps if init_estim_sq_dist is None else init_estim_sq_dist

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        return DoWGState(
            init_params=params,
            weighted_sq_norm_grads=jnp.asarray(0.0, dtype),
            estim_sq_dist=jnp.asarray(first_sq_dist, dtype),
        )

    def update_fn(updates, state, params=None):
        updates, params = _adaptive.checked_update(
            fn, updates, state, DoWGState, "init_params", params
        )
        moved = jax.tree.map(lambda p0, p: p0 - p, state.init_params, params)
        sq_dist = jnp.maximum(state.estim_sq_dist, tm.sum_of_squares(moved))
        weighted = sq_dist * tm.sum_of_squares(updates) + state.weighted_sq_norm_grads
        step_size = sq_dist / (jnp.sqrt(weighted) + eps)
        new_state = DoWGState(
            init_params=state.init_params,
            weighted_sq_norm_grads=weighted.astype(state.weighted_sq_norm_grads.dtype),
            estim_sq_dist=sq_dist.astype(state.estim_sq_dist.dtype),
        )
        return jax.tree.map(lambda g: step_size * g, updates), new_state

    return optax.GradientTransformation(init_fn, update_fn)


@partition_invariant
@_checks.entry_point
def dowg(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    init_estim_sq_dist: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-4,
    weight_decay: jax.typing.ArrayLike | None = None,
    mask: Any | Callable[[optax.Params], Any] | None = None,
) -> optax.GradientTransformationExtraArgs:
    """DoWG (Distance over Weighted Gradients): SGD with DoWG's step size.

    Chain: `add_decayed_weights(weight_decay, mask)` (when `weight_decay` is
    not None) → `scale_by_dowg(init_estim_sq_dist, eps)` →
    `scale_by_learning_rate(learning_rate)`. Same signature, defaults and
    state layout as `optax.contrib.dowg`; `update` needs the params.
    """
    return sgd_with_step_size(
        "dowg",
        learning_rate,
        weight_decay,
        mask,
        lambda: scale_by_dowg(init_estim_sq_dist, eps),
    )
