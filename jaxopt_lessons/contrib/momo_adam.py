"""MoMo-Adam: Adam whose step is capped by a Polyak step of a model of the loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MomoAdamState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.contrib.momo import check_momo_args, checked_inputs
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["MomoAdamState", "momo_adam", "scale_by_momo_adam"]


@partition_invariant
@_checks.entry_point
def scale_by_momo_adam(
    learning_rate: optax.ScalarOrSchedule = 1e-2,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """MoMo-Adam's step, to be subtracted: Adam's direction times
    min(α / (1 − β₁ᵗ), a Polyak step measured in Adam's metric).

    Lesson: MoMo's model of the loss works for any preconditioner: with
    Adam's D = ε + √v̂, the Polyak step is taken in the norm ‖·‖_D⁻¹, and
    the step keeps Adam's per-coordinate scaling while the loss model decides
    how far to go.

    Update rule (t from 1; f the loss passed as `value=`; α the learning
    rate at step t − 1, λ the weight decay; ρ = 1 − β₁ᵗ; ⟨·,·⟩ over the
    whole tree; f̄, d, γ start at 0)::

        f̄ = β₁ · f̄ + (1 − β₁) · f
        d = β₁ · d + (1 − β₁) · g
        v = β₂ · v + (1 − β₂) · g²
        D = ε + √(v / (1 − β₂ᵗ))
        γ = β₁ · γ + (1 − β₁) · ⟨g, x⟩
        h = (1 + αλ) · (f̄ − ρ · f* − γ) + ⟨d, x⟩
        τ = min(α / ρ, max(h, 0) / ⟨d, d / D⟩)      (τ = 0 where ⟨d, d/D⟩ <= 2⁻⁵²)
        step = (αλ · x + τ · d / D) / (1 + αλ),  so x − step = (x − τ · d / D) / (1 + αλ)

    With `adapt_lower_bound`, f* is the state's `lb`: lowered before the
    step to max(c / (2ρ(1 + αλ)), `lower_bound`) when
    c = (1 + αλ)(f̄ − γ) + ⟨d, x⟩ < (1 + αλ)·ρ·f*, and after it set to
    max((f̄ + ⟨d, x⟩ − γ − τ⟨d, d/D⟩/2) / ρ, `lower_bound`).

    Args:
        learning_rate: α >= 0, or a schedule of the step count.
        b1: β₁ in [0, 1), the averaging of gradients, losses and ⟨g, x⟩.
        b2: β₂ in [0, 1), the second-moment decay.
        eps: ε > 0, added to Adam's √v̂.
        lower_bound: f*, a lower bound of the loss (any finite real).
        weight_decay: λ >= 0, applied as a proximal step (the whole step is
            divided by 1 + αλ).
        adapt_lower_bound: estimate f* on the fly.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `MomoAdamState`; its `update` needs the params and `value=`.

    Raises:
        ValueError: an argument out of range; `update` without params.
        TypeError: `update` without `value`; `adapt_lower_bound` not a bool.

    Differences from Optax (`optax.contrib.momo_adam`, of which this block is
    the negation), with weight decay only: Optax takes x/(1 + αλ) − τ·d/D;
    here (x − τ·d/D)/(1 + αλ), as in the paper and in its authors'
    implementation (momo-opt 0.1.0, `MomoAdam.step` with its default
    ``divide=True``); see `scale_by_momo`. τ and the state are Optax's.

    References:
        Schaipp, Ohana, Eickenberg, Defazio, Gower, "MoMo: Momentum Models
        for Adaptive Learning Rates", ICML 2024, Algorithm 2 (MoMo-Adam);
        arXiv:2305.07583.
    """
    fn = _checks.caller("scale_by_momo_adam")
    check_momo_args(fn, learning_rate, lower_bound, weight_decay, adapt_lower_bound)
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        return MomoAdamState(
            exp_avg=tm.zeros_like(params),
            exp_avg_sq=tm.zeros_like(params),
            barf=jnp.zeros([], dtype),
            gamma=jnp.zeros([], dtype),
            lb=jnp.asarray(lower_bound, dtype),
            count=jnp.zeros([], jnp.int32),
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        updates, params, value = checked_inputs(
            fn, updates, state, MomoAdamState, params, value
        )
        count = tm.increment(state.count)
        dtype = state.barf.dtype
        barf = b1 * state.barf + (1 - b1) * value.astype(dtype)
        exp_avg = tm.ema_update(updates, state.exp_avg, b1)
        exp_avg_sq = jax.tree.map(
            lambda v, g: b2 * v + (1 - b2) * g * g, state.exp_avg_sq, updates
        )
        # Adam's preconditioner D and the momentum's squared D⁻¹-norm.
        debias2 = jnp.asarray(1 - b2**count, dtype)
        precond = jax.tree.map(lambda v: eps + jnp.sqrt(v / debias2), exp_avg_sq)
        direction = jax.tree.map(lambda d, p: d / p, exp_avg, precond)
        d_sq = _adaptive.vdot(exp_avg, direction)
        gamma = b1 * state.gamma + (1 - b1) * _adaptive.vdot(updates, params)
        d_dot_x = _adaptive.vdot(exp_avg, params)
        alpha = _adaptive.rate_at(learning_rate, state.count)
        debias1 = jnp.asarray(1 - b1**count, dtype)
        shrink = 1 + alpha * weight_decay
        lb = state.lb
        if adapt_lower_bound:
            cap = shrink * (barf - gamma) + d_dot_x
            lb = jnp.where(
                cap < shrink * debias1 * state.lb,
                jnp.maximum(cap / (2 * debias1 * shrink), lower_bound),
                state.lb,
            )
        polyak = (
            jnp.maximum(shrink * (barf - debias1 * lb - gamma) + d_dot_x, 0.0) / d_sq
        )
        polyak = jnp.where(d_sq <= jnp.finfo(float).eps, 0.0, polyak)
        tau = jnp.minimum(alpha / debias1, polyak)
        step = jax.tree.map(
            # x − step = (x − τ·d/D) / (1 + αλ): the proximal weight decay.
            lambda d, p, x: (alpha * weight_decay * x + tau * d / p) / shrink,
            exp_avg,
            precond,
            params,
        )
        if adapt_lower_bound:
            lb = ((barf + d_dot_x - gamma) - (1 / 2) * tau * d_sq) / debias1
            lb = jnp.maximum(lb, lower_bound)
        else:
            lb = state.lb
        new_state = MomoAdamState(
            exp_avg=tm.cast_like(exp_avg, state.exp_avg),
            exp_avg_sq=tm.cast_like(exp_avg_sq, state.exp_avg_sq),
            barf=barf.astype(dtype),
            gamma=gamma.astype(state.gamma.dtype),
            lb=jnp.asarray(lb).astype(state.lb.dtype),
            count=count,
        )
        return step, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@partition_invariant
@_checks.entry_point
def momo_adam(
    learning_rate: optax.ScalarOrSchedule = 1e-2,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """MoMo-Adam: Adam(W) with an adaptive step, θ ← θ − step (see
    `scale_by_momo_adam`). Call `update(grads, state, params, value=loss)`.

    Same signature, defaults and state (`optax.contrib.MomoAdamState`) as
    `optax.contrib.momo_adam`.
    """
    return _adaptive.descent(
        scale_by_momo_adam(
            learning_rate, b1, b2, eps, lower_bound, weight_decay, adapt_lower_bound
        )
    )
