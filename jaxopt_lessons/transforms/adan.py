"""Adan: Adam with a Nesterov-style correction from the gradient's change."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByAdanState

__all__ = ["ScaleByAdanState", "scale_by_adan"]


@elementwise
@_checks.entry_point
def scale_by_adan(
    b1: jax.typing.ArrayLike = 0.98,
    b2: jax.typing.ArrayLike = 0.92,
    b3: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """Adan's direction: averaged gradient plus averaged gradient change, over RMS.

    Lesson: Nesterov momentum looks ahead by evaluating the gradient where
    momentum is about to carry the parameters. Adan gets the same look-ahead
    without a second gradient evaluation: the change g_t − g_{t-1} estimates
    how the gradient is turning, and adding its average to the momentum
    anticipates the turn. Both are then divided by an RMS as in Adam.

    Update rule (t from 1, all averages start at 0, g_0 := g_1)::

        Δ_t = g_t − g_{t-1}
        m_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        v_t = β₂ · v_{t-1} + (1 − β₂) · Δ_t
        n_t = β₃ · n_{t-1} + (1 − β₃) · (g_t + (1 − β₂) · Δ_t)²
        u_t = (m̂_t + (1 − β₂) · v̂_t) / (√(n̂_t + ε_root) + ε)

    where x̂ divides x by 1 − βᵗ with its own β.

    Args:
        b1, b2, b3: β₁, β₂, β₃, each in [0, 1).
        eps: ε >= 0, outside the root.
        eps_root: ε_root >= 0, inside the root.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAdanState`.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps` or `eps_root`, or
            both 0.

    References:
        Xie, Zhou, Li, Lin, Yan, "Adan: Adaptive Nesterov Momentum Algorithm
        for Faster Optimizing Deep Models", arXiv:2208.06677 (v4), 2022,
        Algorithm 1 (with β written as 1 − β there).
    """
    fn = _checks.caller("scale_by_adan")
    for name, value in (("b1", b1), ("b2", b2), ("b3", b3)):
        _checks.check_interval(fn, name, value, 0.0, 1.0)
    _checks.check_non_negative(fn, "eps", eps)
    _checks.check_non_negative(fn, "eps_root", eps_root)
    _checks.check_not_both_zero(fn, ("eps", "eps_root"), (eps, eps_root))

    def init_fn(params):
        _checks.check_float_params(fn, params)
        zeros = tm.zeros_like(params)
        return ScaleByAdanState(
            m=zeros, v=zeros, n=zeros, g=zeros, t=jnp.zeros([], jnp.int32)
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAdanState, "m")
        # On the first step there is no previous gradient: its change is 0.
        change = jax.tree.map(
            lambda g, prev: jnp.where(state.t == 0, jnp.zeros_like(g), g - prev),
            updates,
            state.g,
        )
        m = tm.ema_update(updates, state.m, b1)
        v = tm.ema_update(change, state.v, b2)
        ahead = jax.tree.map(lambda g, d: g + (1 - b2) * d, updates, change)
        n = tm.ema_update_sq(ahead, state.n, b3)
        t = tm.increment(state.t)
        m_hat = tm.bias_correction(m, b1, t)
        v_hat = tm.bias_correction(v, b2, t)
        n_hat = tm.bias_correction(n, b3, t)
        direction = jax.tree.map(
            lambda mh, vh, nh: (mh + (1 - b2) * vh) / (jnp.sqrt(nh + eps_root) + eps),
            m_hat,
            v_hat,
            n_hat,
        )
        state = ScaleByAdanState(
            m=tm.cast_like(m, state.m),
            v=tm.cast_like(v, state.v),
            n=tm.cast_like(n, state.n),
            g=tm.cast_like(updates, state.g),
            t=t,
        )
        return direction, state

    return optax.GradientTransformation(init_fn, update_fn)
