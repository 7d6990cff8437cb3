"""Trust ratio: make each layer's step a fixed fraction of that layer's weights."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise

__all__ = ["scale_by_trust_ratio"]


@not_elementwise(
    "it scales each leaf by the ratio of its parameter norm to its update norm"
)
@_checks.entry_point
def scale_by_trust_ratio(
    min_norm: jax.typing.ArrayLike = 0.0,
    trust_coefficient: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """Rescales each leaf's update to a norm proportional to that leaf's parameters.

    Lesson: in a deep network the layers' gradients differ in size by orders
    of magnitude, and with very large batches (large learning rates) one
    global step size is too big for some layers and too small for others.
    Measuring each layer's step relative to its own weights, ‖Δθ‖ = c·‖θ‖,
    gives every layer the same relative change per step. This is the same
    cure for uneven scales as RMSprop's, applied per layer instead of per
    coordinate.

    Update rule (per leaf; p: its parameters, u: its incoming update)::

        ‖p‖' = max(‖p‖₂, min_norm),   ‖u‖' = max(‖u‖₂, min_norm)
        r = c · ‖p‖' / (‖u‖' + ε)     (r = 1 where ‖p‖' or ‖u‖' is 0)
        u ← r · u

    Args:
        min_norm: floor for both norms, >= 0 (0: no floor).
        trust_coefficient: c >= 0.
        eps: ε >= 0, added to the update's norm.

    Returns:
        A stateless `optax.GradientTransformation` (state `optax.EmptyState`);
        its `update` needs the params.

    Raises:
        ValueError: a negative, NaN or infinite argument; `update` without
            params.

    References:
        You, Gitman, Ginsburg, "Large Batch Training of Convolutional
        Networks", arXiv:1708.03888, 2017 (LARS, eq. 6).
        You et al., "Large Batch Optimization for Deep Learning: Training BERT
        in 76 minutes", ICLR 2020 (LAMB, Algorithm 2).
    """
    fn = _checks.caller("scale_by_trust_ratio")
    _checks.check_non_negative(fn, "min_norm", min_norm)
    _checks.check_non_negative(fn, "trust_coefficient", trust_coefficient)
    _checks.check_non_negative(fn, "eps", eps)

    def one(u, p):
        p_norm = tm.safe_norm(p, min_norm)
        u_norm = tm.safe_norm(u, min_norm)
        ratio = trust_coefficient * p_norm / (u_norm + eps)
        # A zero layer (fresh biases) or a zero update would freeze or blow up.
        degenerate = jnp.logical_or(p_norm == 0.0, u_norm == 0.0)
        return u * jnp.where(degenerate, jnp.array(1.0, p.dtype), ratio)

    def update_fn(updates, state, params=None):
        updates, params = _checks.checked_stateless(
            fn, updates, state, params, needs_params=True
        )
        return jax.tree.map(one, updates, params), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
