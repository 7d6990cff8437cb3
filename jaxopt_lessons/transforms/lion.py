"""Lion: follow the sign of a blend of momentum and gradient."""

from __future__ import annotations

from typing import Any, Literal

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByLionState

__all__ = ["ScaleByLionState", "scale_by_lion"]

_MODES = ("hard", "smooth", "refined")


@elementwise
@_checks.entry_point
def scale_by_lion(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    *,
    mode: Literal["hard", "smooth", "refined"] = "hard",
    smooth_beta: float = 1.0,
) -> optax.GradientTransformation:
    """Lion's direction: the sign of an interpolation between momentum and gradient.

    Lesson: like sign SGD, every coordinate moves by the same amount whatever
    its gradient's scale, so uneven scales cannot stall it; unlike sign SGD,
    the sign is taken of a blend with a slow momentum, which averages out much
    of the minibatch noise. Two decays play two roles: β₁ mixes the current
    gradient into the step, β₂ (slower) keeps the memory.

    Update rule (g_t: incoming update, m_0 = 0)::

        c_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        u_t = sign(c_t)                         (mode="hard", the paper's rule)
        u_t = tanh(s · c_t)                     (mode="smooth", s = smooth_beta)
        u_t = c_t where |c_t| < 1, else sign(c_t)   (mode="refined")
        m_t = β₂ · m_{t-1} + (1 − β₂) · g_t

    Args:
        b1: β₁, the weight of the momentum in the step, in [0, 1].
        b2: β₂, the decay of the momentum, in [0, 1).
        mu_dtype: dtype of m; None keeps each parameter's dtype.
        mode: "hard", "smooth" or "refined", as above.
        smooth_beta: s > 0, the sharpness of the "smooth" mode.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByLionState`.

    Raises:
        ValueError: `b1` outside [0, 1]; `b2` outside [0, 1); an unknown
            `mode`; `smooth_beta` not positive; a non-float `mu_dtype`.

    References:
        Chen et al., "Symbolic Discovery of Optimization Algorithms", NeurIPS
        2023, Algorithm 2.
    """
    fn = _checks.caller("scale_by_lion")
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0, high_closed=True)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    if mode not in _MODES:
        raise ValueError(f"{fn}: `mode` must be one of {_MODES}, got {mode!r}.")
    _checks.check_positive(fn, "smooth_beta", smooth_beta)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)

    def direction(c):
        if mode == "hard":
            return jnp.sign(c)
        if mode == "smooth":
            return jnp.tanh(smooth_beta * c)
        return jnp.where(jnp.abs(c) < 1.0, c, jnp.sign(c))

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByLionState(
            count=jnp.zeros([], jnp.int32), mu=tm.zeros_like(params, mu_dtype)
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByLionState, "mu")
        # 1) The step looks at a blend weighted towards the new gradient...
        new_updates = jax.tree.map(
            lambda g, m: direction((1 - b1) * g + b1 * m), updates, state.mu
        )
        # 2) ...while the memory is refreshed more slowly.
        mu = tm.ema_update(updates, state.mu, b2)
        state = ScaleByLionState(
            count=tm.increment(state.count), mu=tm.cast_like(mu, state.mu)
        )
        return new_updates, state

    return optax.GradientTransformation(init_fn, update_fn)
