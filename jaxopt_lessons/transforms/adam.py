"""Adam and its relatives: a smoothed direction divided by a smoothed scale.

Adam keeps both of the lesson's ideas at once: the first moment m (momentum's
running direction) and the second moment v (RMSprop's running scale). AMSGrad
never lets the scale shrink; Adamax measures the scale with a max instead of a
mean of squares.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByAdamState, ScaleByAmsgradState

__all__ = [
    "ScaleByAdamState",
    "ScaleByAmsgradState",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amsgrad",
]


@elementwise
@_checks.entry_point
def scale_by_adam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> optax.GradientTransformation:
    """Adam's direction: the smoothed gradient over its smoothed scale.

    Lesson: momentum answers minibatch noise and ravines, RMSprop answers
    uneven scales; Adam does both. Its step on each coordinate is about η times
    m̂/√v̂, a number near ±1 when the gradient is consistent and smaller when
    it is noise, whatever the coordinate's raw gradient scale.

    Update rule (t from 1, m_0 = v_0 = 0)::

        m_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        v_t = β₂ · v_{t-1} + (1 − β₂) · g_t²
        m̂_t = m_t / (1 − β₁ᵗ)                                   (nesterov=False)
        m̂_t = β₁ · m_t / (1 − β₁ᵗ⁺¹) + (1 − β₁) · g_t / (1 − β₁ᵗ)  (nesterov=True, NAdam)
        v̂_t = v_t / (1 − β₂ᵗ)
        u_t = m̂_t / (√(v̂_t + ε_root) + ε)

    Args:
        b1: β₁, the first-moment decay, in [0, 1).
        b2: β₂, the second-moment decay, in [0, 1).
        eps: ε >= 0, added outside the square root.
        eps_root: ε_root >= 0, added inside (useful when differentiating
            through the update, where √v has an infinite slope at 0).
        mu_dtype: dtype of m; None keeps each parameter's dtype.
        nesterov: use the NAdam look-ahead form of m̂.
        nu_dtype: dtype of v; None keeps each parameter's dtype. float32 here
            keeps a bfloat16 or float16 model's squared gradients from
            rounding away or overflowing. (Not in Optax 0.2.8.)

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAdamState`.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps` or `eps_root`, or both
            0; a non-float dtype.
        TypeError: `nesterov` not a bool.

    Differences from Optax: `nu_dtype`; with it, g² is formed in that dtype.

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
        Algorithm 1.
        Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016 workshop.
    """
    fn = _checks.caller("scale_by_adam")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _checks.check_bool(fn, "nesterov", nesterov)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)
    nu_dtype = _checks.check_dtype(fn, "nu_dtype", nu_dtype)

    def init_fn(params):
        return init_adam_state(fn, params, mu_dtype, nu_dtype)

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAdamState, "mu")
        # 1) Update the running direction and the running scale.
        mu = tm.ema_update(updates, state.mu, b1)
        nu = tm.ema_update_sq(updates, state.nu, b2)
        # 2) Undo the pull towards the zero initial moments.
        count = tm.increment(state.count)
        grads = updates
        if nesterov:
            # g / (1 − β₁ᵗ) is 10·g at t = 1: form it in v's dtype (a no-op
            # unless `nu_dtype` is wider) so a float16 gradient cannot overflow.
            grads = jax.tree.map(
                lambda g, v: g.astype(jnp.promote_types(g.dtype, v.dtype)), grads, nu
            )
        mu_hat = tm.debiased_momentum(mu, grads, b1, count, nesterov=nesterov)
        nu_hat = tm.bias_correction(nu, b2, count)
        # 3) Direction over scale, coordinate by coordinate.
        updates = tm.adam_ratio(mu_hat, nu_hat, eps, eps_root)
        state = next_moments_state(ScaleByAdamState, state, count, mu, nu)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@elementwise
@_checks.entry_point
def scale_by_amsgrad(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> optax.GradientTransformation:
    """AMSGrad: Adam whose per-coordinate scale may grow but never shrink.

    Lesson: Adam's √v̂ can fall quickly after a burst of large gradients, and
    the step then jumps up; on some problems this stops Adam from converging.
    Dividing by the largest v̂ seen so far makes each coordinate's effective
    learning rate non-increasing.

    Update rule (Adam's m_t, v_t; n_0 = 0)::

        m̂_t = m_t / (1 − β₁ᵗ)        (bias_correction_mu=True, else m_t)
        v̂_t = v_t / (1 − β₂ᵗ)        (bias_correction_nu=True, else v_t)
        n_t = max(n_{t-1}, v̂_t)
        u_t = m̂_t / (√(n_t + ε_root) + ε)

    Args:
        b1, b2, eps, eps_root, mu_dtype: as `scale_by_adam`.
        bias_correction_mu: divide m by 1 − β₁ᵗ.
        bias_correction_nu: divide v by 1 − β₂ᵗ before taking the maximum.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAmsgradState`.

    Raises:
        ValueError: as `scale_by_adam`.

    Differences from PyTorch: `torch.optim.Adam(amsgrad=True)` takes the
    maximum of the raw v and bias-corrects afterwards; the two agree only
    while β₂ᵗ is negligible.

    References:
        Reddi, Kale, Kumar, "On the Convergence of Adam and Beyond", ICLR 2018,
        Algorithm 2.
    """
    fn = _checks.caller("scale_by_amsgrad")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _checks.check_bool(fn, "bias_correction_mu", bias_correction_mu)
    _checks.check_bool(fn, "bias_correction_nu", bias_correction_nu)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByAmsgradState(
            count=jnp.zeros([], jnp.int32),
            mu=tm.zeros_like(params, mu_dtype),
            nu=tm.zeros_like(params),
            nu_max=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAmsgradState, "mu")
        mu = tm.ema_update(updates, state.mu, b1)
        nu = tm.ema_update_sq(updates, state.nu, b2)
        count = tm.increment(state.count)
        mu_hat = tm.bias_correction(mu, b1, count) if bias_correction_mu else mu
        nu_hat = tm.bias_correction(nu, b2, count) if bias_correction_nu else nu
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu_hat)
        updates = tm.adam_ratio(mu_hat, nu_max, eps, eps_root)
        state = ScaleByAmsgradState(
            count=count,
            mu=tm.cast_like(mu, state.mu),
            nu=tm.cast_like(nu, state.nu),
            nu_max=tm.cast_like(nu_max, state.nu_max),
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@elementwise
@_checks.entry_point
def scale_by_adamax(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformation:
    """Adamax: Adam with the scale measured by a decaying maximum of |g|.

    Lesson: the running maximum reacts to one large gradient at once and
    forgets it only slowly, so the step can never be larger than about η,
    even right after a quiet stretch.

    Update rule (t from 1, m_0 = u_0 = 0)::

        m_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        n_t = max(β₂ · n_{t-1}, |g_t| + ε)
        u_t = m_t / ((1 − β₁ᵗ) · n_t)

    Args:
        b1: β₁, in [0, 1).
        b2: β₂, in [0, 1).
        eps: ε > 0, keeps n_t away from 0.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAdamState`
        (n in its `nu` field).

    Raises:
        ValueError: a decay outside [0, 1); `eps` not positive and finite.

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
        section 7.1 and Algorithm 2.
    """
    fn = _checks.caller("scale_by_adamax")
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)

    def init_fn(params):
        return init_adam_state(fn, params)

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAdamState, "mu")
        count = tm.increment(state.count)
        mu = tm.ema_update(updates, state.mu, b1)
        nu = tm.max_abs_update(updates, state.nu, b2, eps)
        mu_hat = tm.bias_correction(mu, b1, count)
        updates = jax.tree.map(lambda m, n: m / n, mu_hat, nu)
        state = next_moments_state(ScaleByAdamState, state, count, mu, nu)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


def init_adam_state(
    fn: str, params: Any, mu_dtype: Any = None, nu_dtype: Any = None
) -> ScaleByAdamState:
    """The `init` of every block whose state is Adam's (`scale_by_adam`,
    `scale_by_adamax`, `scale_by_radam`): float params only; no steps taken,
    m_0 = v_0 = 0 (in `mu_dtype` and `nu_dtype`; None keeps each parameter's).
    """
    _checks.check_float_params(fn, params)
    return ScaleByAdamState(
        count=jnp.zeros([], jnp.int32),
        mu=tm.zeros_like(params, mu_dtype),
        nu=tm.zeros_like(params, nu_dtype),
    )


def next_moments_state(state_class: type, state: Any, count: Any, mu: Any, nu: Any):
    """The state after a step of a block whose state is (count, mu, nu),
    Adam's or AdaBelief's: the new count, and m and v stored back in the
    dtypes the state holds them in (`mu_dtype`, `nu_dtype`)."""
    return state_class(
        count=count, mu=tm.cast_like(mu, state.mu), nu=tm.cast_like(nu, state.nu)
    )
