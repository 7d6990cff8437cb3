"""Yogi: Adam whose second moment moves by a bounded amount per step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByAdamState
from jaxopt_lessons.transforms.adam import next_moments_state

__all__ = ["scale_by_yogi"]


@elementwise
@_checks.entry_point
def scale_by_yogi(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-3,
    eps_root: jax.typing.ArrayLike = 0.0,
    initial_accumulator_value: jax.typing.ArrayLike = 1e-6,
) -> optax.GradientTransformation:
    """Yogi's direction: Adam with an additive, sign-controlled second moment.

    Lesson: Adam's v is a multiplicative average, so after a burst of large
    gradients it can fall quickly and the effective step size √(1/v) jumps.
    Yogi moves v towards g² by (1 − β₂)·g² per step, up or down, so the
    effective learning rate changes gently, and it cannot shrink fast when
    gradients are sparse.

    Update rule (t from 1, m_0 = v_0 = `initial_accumulator_value`)::

        m_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        v_t = v_{t-1} − (1 − β₂) · sign(v_{t-1} − |g_t|²) · |g_t|²
        m̂_t = m_t / (1 − β₁ᵗ),   v̂_t = v_t / (1 − β₂ᵗ)
        u_t = m̂_t / (√(v̂_t + ε_root) + ε)

    Args:
        b1: β₁, in [0, 1).
        b2: β₂, in [0, 1).
        eps: ε >= 0, outside the root (the paper recommends 1e-3).
        eps_root: ε_root >= 0, inside the root.
        initial_accumulator_value: m_0 = v_0 > 0; v stays positive from there.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAdamState`.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps` or `eps_root`;
            `initial_accumulator_value` not positive and finite.

    References:
        Zaheer, Reddi, Sachan, Kale, Kumar, "Adaptive Methods for Nonconvex
        Optimization", NeurIPS 2018, Algorithm 2.
    """
    fn = _checks.caller("scale_by_yogi")
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    _checks.check_non_negative(fn, "eps", eps)
    _checks.check_non_negative(fn, "eps_root", eps_root)
    _checks.check_positive(fn, "initial_accumulator_value", initial_accumulator_value)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByAdamState(
            count=jnp.zeros([], jnp.int32),
            mu=tm.full_like(params, initial_accumulator_value),
            nu=tm.full_like(params, initial_accumulator_value),
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAdamState, "mu")
        mu = tm.ema_update(updates, state.mu, b1)

        def second_moment(g, v):
            g2 = tm.abs_sq(g)
            return v - (1 - b2) * jnp.sign(v - g2) * g2

        nu = jax.tree.map(second_moment, updates, state.nu)
        count = tm.increment(state.count)
        mu_hat = tm.bias_correction(mu, b1, count)
        nu_hat = tm.bias_correction(nu, b2, count)
        updates = tm.adam_ratio(mu_hat, nu_hat, eps, eps_root)
        state = next_moments_state(ScaleByAdamState, state, count, mu, nu)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)
