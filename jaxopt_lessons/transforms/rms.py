"""Normalise by recent gradient scale: RMSprop's and Adagrad's preconditioners.

Each coordinate's step is divided by a running measure of how large that
coordinate's gradients have been, so steep and shallow directions move at
comparable speeds.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import (
    ScaleByRmsState,
    ScaleByRmsWithCountState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByRStdDevWithCountState,
)

__all__ = [
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRssState",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_stddev",
]


def _checked_inverse_root(fn, decay, eps, initial_scale, eps_in_sqrt, bias_correction):
    """The arguments `scale_by_rms` and `scale_by_stddev` share, checked; then
    their denominator rule: 1/√(v + ε) (TensorFlow) or 1/(√v + ε) (PyTorch)."""
    _checks.check_interval(fn, "decay", decay, 0.0, 1.0)
    _checks.check_non_negative(fn, "eps", eps)
    _checks.check_non_negative(fn, "initial_scale", initial_scale)
    _checks.check_bool(fn, "eps_in_sqrt", eps_in_sqrt)
    _checks.check_bool(fn, "bias_correction", bias_correction)
    _checks.check_not_both_zero(fn, ("eps", "initial_scale"), (eps, initial_scale))
    if eps_in_sqrt:
        return lambda v: jax.lax.rsqrt(v + eps)
    return lambda v: 1 / (jnp.sqrt(v) + eps)


@elementwise
@_checks.entry_point
def scale_by_rms(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> optax.GradientTransformation:
    """Divides each coordinate by the root of its recent mean squared gradient.

    Lesson: when one parameter's gradients are a thousand times larger than
    another's, one learning rate is too big for the first or too small for the
    second. Dividing by √v, a running estimate of each coordinate's gradient
    size, makes every coordinate's step about η, whatever its scale.

    Update rule (g_t: incoming update, ρ = `decay`, v_0 = `initial_scale`)::

        v_t = ρ · v_{t-1} + (1 − ρ) · g_t²
        v̂_t = v_t / (1 − ρᵗ)                (bias_correction=True, else v̂_t = v_t)
        u_t = g_t / √(v̂_t + ε)              (eps_in_sqrt=True)
        u_t = g_t / (√v̂_t + ε)              (eps_in_sqrt=False, PyTorch's form)

    Args:
        decay: ρ, in [0, 1).
        eps: ε >= 0, keeps the division finite.
        initial_scale: v_0 >= 0.
        eps_in_sqrt: put ε inside the square root.
        bias_correction: divide v_t by 1 − ρᵗ (then the state also counts steps).

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByRmsState`
        (`ScaleByRmsWithCountState` with bias correction).

    Raises:
        ValueError: `decay` outside [0, 1); negative `eps` or `initial_scale`;
            `eps` = 0 with `initial_scale` = 0 (a zero gradient would give 0/0).
        TypeError: a flag that is not a bool.

    References:
        Tieleman and Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural Networks
        for Machine Learning, 2012.
    """
    fn = _checks.caller("scale_by_rms")
    inverse_root = _checked_inverse_root(
        fn, decay, eps, initial_scale, eps_in_sqrt, bias_correction
    )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        nu = tm.full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRmsWithCountState(count=jnp.zeros([], jnp.int32), nu=nu)
        return ScaleByRmsState(nu=nu)

    state_type = ScaleByRmsWithCountState if bias_correction else ScaleByRmsState

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, state_type, "nu")
        nu = tm.ema_update_sq(updates, state.nu, decay)
        nu_hat = nu
        if bias_correction:
            count = tm.increment(state.count)
            nu_hat = tm.bias_correction(nu, decay, count)
        updates = jax.tree.map(lambda g, v: inverse_root(v) * g, updates, nu_hat)
        nu = tm.cast_like(nu, state.nu)
        if bias_correction:
            return updates, ScaleByRmsWithCountState(count=count, nu=nu)
        return updates, ScaleByRmsState(nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)


@elementwise
@_checks.entry_point
def scale_by_stddev(
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> optax.GradientTransformation:
    """Centred RMSprop: divides by the recent standard deviation of the gradient.

    Lesson: `scale_by_rms` divides by the gradient's root mean square, which
    mixes its steady part (the mean) with its noise. Subtracting the squared
    mean leaves the variance, so a coordinate whose gradient is large but
    consistent still takes a large step.

    Update rule (ρ = `decay`, m_0 = 0, v_0 = `initial_scale`)::

        m_t = ρ · m_{t-1} + (1 − ρ) · g_t
        v_t = ρ · v_{t-1} + (1 − ρ) · g_t²
        (m̂_t, v̂_t) = (m_t, v_t) / (1 − ρᵗ)  (bias_correction=True)
        u_t = g_t / √(v̂_t − m̂_t² + ε)       (eps_in_sqrt=True)
        u_t = g_t / (√(v̂_t − m̂_t²) + ε)     (eps_in_sqrt=False)

    Args, Returns and Raises as `scale_by_rms`; the state is a
    `ScaleByRStdDevState` (`ScaleByRStdDevWithCountState` with bias correction).

    References:
        Graves, "Generating Sequences With Recurrent Neural Networks",
        arXiv:1308.0850, 2013, eq. 38-41.
    """
    fn = _checks.caller("scale_by_stddev")
    inverse_root = _checked_inverse_root(
        fn, decay, eps, initial_scale, eps_in_sqrt, bias_correction
    )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        mu = tm.zeros_like(params)
        nu = tm.full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRStdDevWithCountState(
                count=jnp.zeros([], jnp.int32), mu=mu, nu=nu
            )
        return ScaleByRStdDevState(mu=mu, nu=nu)

    state_type = (
        ScaleByRStdDevWithCountState if bias_correction else ScaleByRStdDevState
    )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, state_type, "nu")
        mu = tm.ema_update(updates, state.mu, decay)
        nu = tm.ema_update_sq(updates, state.nu, decay)
        mu_hat, nu_hat = mu, nu
        if bias_correction:
            count = tm.increment(state.count)
            mu_hat = tm.bias_correction(mu, decay, count)
            nu_hat = tm.bias_correction(nu, decay, count)
        updates = jax.tree.map(
            lambda g, m, v: inverse_root(v - tm.abs_sq(m)) * g, updates, mu_hat, nu_hat
        )
        mu, nu = tm.cast_like(mu, state.mu), tm.cast_like(nu, state.nu)
        if bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)


@elementwise
@_checks.entry_point
def scale_by_rss(
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
) -> optax.GradientTransformation:
    """Adagrad's preconditioner: divide by the root of all past squared gradients.

    Lesson: the first answer to uneven gradient scales. Coordinates with large
    gradients get small steps, rare or small ones keep large steps. Because the
    sum only grows, every step size decays like 1/√t, which suits convex
    problems and sparse features but can stall long training runs; RMSprop
    replaced the sum by a decaying average for that reason.

    Update rule (s_0 = `initial_accumulator_value`)::

        s_t = s_{t-1} + g_t²
        u_t = g_t / √(s_t + ε)     where s_t > 0, else 0

    Args:
        initial_accumulator_value: s_0 >= 0.
        eps: ε >= 0, inside the square root (Optax's convention; PyTorch adds
            it outside).

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByRssState`.

    Raises:
        ValueError: negative, NaN or infinite `initial_accumulator_value` or `eps`.

    References:
        Duchi, Hazan, Singer, "Adaptive Subgradient Methods for Online Learning
        and Stochastic Optimization", JMLR 12, 2011.
    """
    fn = _checks.caller("scale_by_rss")
    _checks.check_non_negative(
        fn, "initial_accumulator_value", initial_accumulator_value
    )
    _checks.check_non_negative(fn, "eps", eps)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByRssState(
            sum_of_squares=tm.full_like(params, initial_accumulator_value)
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByRssState, "sum_of_squares"
        )
        total = tm.sum_update_sq(updates, state.sum_of_squares)
        # A coordinate that has only ever seen zero gradients does not move.
        updates = jax.tree.map(
            lambda g, s: jnp.where(s > 0, jax.lax.rsqrt(s + eps), 0.0) * g,
            updates,
            total,
        )
        return updates, ScaleByRssState(
            sum_of_squares=tm.cast_like(total, state.sum_of_squares)
        )

    return optax.GradientTransformation(init_fn, update_fn)
