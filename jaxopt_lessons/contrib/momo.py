"""MoMo: SGD with momentum whose step is capped by a Polyak step of a model of the loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MomoState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["MomoState", "momo", "scale_by_momo"]


def check_momo_args(
    fn: str, learning_rate, lower_bound, weight_decay, adapt_lower_bound
) -> None:
    """The arguments MoMo and MoMo-Adam share."""
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _checks.check_interval(fn, "lower_bound", lower_bound, -float("inf"), float("inf"))
    _checks.check_non_negative(fn, "weight_decay", weight_decay)
    _checks.check_bool(fn, "adapt_lower_bound", adapt_lower_bound)


def checked_inputs(fn, updates, state, state_class, params, value):
    """The start of a MoMo update: the state, the updates against it and the
    params, and the loss `value=` it needs. Returns (updates, params, value)."""
    updates = _checks.checked_updates(fn, updates, state, state_class, "exp_avg")
    params = _adaptive.need_params(fn, params)
    value = _adaptive.need_value(fn, value)
    _checks.check_updates_match_params(fn, updates, params)
    return updates, params, value


@partition_invariant
@_checks.entry_point
def scale_by_momo(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    beta: jax.typing.ArrayLike = 0.9,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """MoMo's step, to be subtracted: momentum times min(α, a Polyak step).

    Lesson: momentum averages gradients, but the loss values that came with
    them are thrown away. MoMo averages those too, into a model of the loss
    that is linear in the parameters, and with a lower bound f* of the loss
    (0 for most training losses) asks how far along the momentum the model
    reaches f*. That distance caps the step, so α can be set large: the
    method slows itself down near the bottom and on sharp stretches.

    Update rule (f the loss passed as `value=`; ρ_t = 0 at the first step,
    β after; α the learning rate at step t − 1, λ the weight decay;
    ⟨·,·⟩ and ‖·‖ over the whole tree)::

        f̄ = ρ · f̄ + (1 − ρ) · f
        d = ρ · d + (1 − ρ) · g
        γ = ρ · γ + (1 − ρ) · ⟨g, x⟩
        h = (1 + αλ) · (f̄ − f* − γ) + ⟨d, x⟩
        τ = min(α, max(h, 0) / ‖d‖²)            (τ = 0 where ‖d‖² <= 2⁻⁵²)
        step = (αλ · x + τ · d) / (1 + αλ),  so x − step = (x − τ · d) / (1 + αλ)

    With `adapt_lower_bound`, f* is the state's `lb`, lowered before the
    step to max(c / (2(1 + αλ)), `lower_bound`) when
    c = (1 + αλ)(f̄ − γ) + ⟨d, x⟩ falls below (1 + αλ)·f*, and after it set
    to max(f̄ + ⟨d, x⟩ − γ − τ‖d‖²/2, `lower_bound`).

    Args:
        learning_rate: α >= 0, the largest step (1.0 by default: MoMo's
            own cap does the rest), or a schedule of the step count.
        beta: β in [0, 1), the averaging of gradients, losses and ⟨g, x⟩.
        lower_bound: f*, a lower bound of the loss (any finite real).
        weight_decay: λ >= 0, applied as the proximal step of λ/2·‖x‖²
            (the paper's x ← (x − τd)/(1 + αλ)).
        adapt_lower_bound: estimate f* on the fly (starting at
            `lower_bound`) when no good bound is known.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `MomoState`; its `update` needs the params and `value=`.

    Raises:
        ValueError: an argument out of range; `update` without params.
        TypeError: `update` without `value`; `adapt_lower_bound` not a bool.

    Differences from Optax (`optax.contrib.momo`, of which this block is the
    negation), with weight decay only: Optax divides only x by 1 + αλ,
    x ← x/(1 + αλ) − τ·d, so its steps are too long by τ·d·αλ/(1 + αλ) (a
    tenth of the step at α = 1, λ = 0.1); here the whole step is divided, as
    in the paper and in its authors' implementation (momo-opt 0.1.0,
    `Momo.step`: ``p.add_(grad_avg, alpha=-tau)`` then
    ``p.div_(1 + lr*lmbda)``); reported upstream (google-deepmind/optax pull
    request 1787). The step size τ and the state are Optax's.

    References:
        Schaipp, Ohana, Eickenberg, Defazio, Gower, "MoMo: Momentum Models
        for Adaptive Learning Rates", ICML 2024, Algorithm 1 (with weight
        decay, Algorithm 5; the adaptive f*, Section 5);
        arXiv:2305.07583.
    """
    fn = _checks.caller("scale_by_momo")
    check_momo_args(fn, learning_rate, lower_bound, weight_decay, adapt_lower_bound)
    _checks.check_interval(fn, "beta", beta, 0.0, 1.0)

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        return MomoState(
            exp_avg=tm.zeros_like(params),
            barf=jnp.zeros([], dtype),
            gamma=jnp.zeros([], dtype),
            lb=jnp.asarray(lower_bound, dtype),
            count=jnp.zeros([], jnp.int32),
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        updates, params, value = checked_inputs(
            fn, updates, state, MomoState, params, value
        )
        # The first step takes the current values as the averages.
        rho = jnp.where(state.count == 0, 0.0, beta)
        barf = rho * state.barf + (1 - rho) * value.astype(state.barf.dtype)
        exp_avg = jax.tree.map(
            lambda d, g: rho * d + (1 - rho) * g, state.exp_avg, updates
        )
        gamma = rho * state.gamma + (1 - rho) * _adaptive.vdot(updates, params)
        d_sq = tm.sum_of_squares(exp_avg)
        d_dot_x = _adaptive.vdot(exp_avg, params)
        alpha = _adaptive.rate_at(learning_rate, state.count)
        shrink = 1 + alpha * weight_decay
        lb = state.lb
        if adapt_lower_bound:
            cap = shrink * (barf - gamma) + d_dot_x
            lb = jnp.where(
                cap < shrink * state.lb,
                jnp.maximum(cap / (2 * shrink), lower_bound),
                state.lb,
            )
        polyak = jnp.maximum(shrink * (barf - lb - gamma) + d_dot_x, 0.0) / d_sq
        polyak = jnp.where(d_sq <= jnp.finfo(float).eps, 0.0, polyak)
        tau = jnp.minimum(alpha, polyak)
        step = jax.tree.map(
            # x − step = (x − τ·d) / (1 + αλ): the proximal step of λ/2·‖x‖².
            lambda d, x: (alpha * weight_decay * x + tau * d) / shrink,
            exp_avg,
            params,
        )
        if adapt_lower_bound:
            lb = jnp.maximum(
                (barf + d_dot_x - gamma) - (1 / 2) * tau * d_sq, lower_bound
            )
        else:
            lb = state.lb
        new_state = MomoState(
            exp_avg=tm.cast_like(exp_avg, state.exp_avg),
            barf=barf.astype(state.barf.dtype),
            gamma=gamma.astype(state.gamma.dtype),
            lb=jnp.asarray(lb).astype(state.lb.dtype),
            count=tm.increment(state.count),
        )
        return step, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@partition_invariant
@_checks.entry_point
def momo(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    beta: jax.typing.ArrayLike = 0.9,
    lower_bound: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    adapt_lower_bound: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """MoMo: SGD with momentum and an adaptive step, θ ← θ − step (see
    `scale_by_momo`). Call `update(grads, state, params, value=loss)`.

    Same signature, defaults and state (`optax.contrib.MomoState`) as
    `optax.contrib.momo`.
    """
    return _adaptive.descent(
        scale_by_momo(learning_rate, beta, lower_bound, weight_decay, adapt_lower_bound)
    )
