"""D-Adaptation for AdamW: the learning rate as a growing lower bound on the
distance to the solution."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import DAdaptAdamWState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["DAdaptAdamWState", "dadapt_adamw", "scale_by_dadapt_adamw"]


@partition_invariant
@_checks.entry_point
def scale_by_dadapt_adamw(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformationExtraArgs:
    """D-Adapted AdamW's step, to be subtracted.

    Lesson: gradient descent's best step on a convex problem is proportional
    to D, the distance from the start to the solution. D-Adaptation bounds D
    from below with quantities the run has already seen (the gradients and
    how far the parameters moved along them) and uses the bound as the
    learning rate; the bound never decreases, so the step grows from a tiny
    d₀ until it is about right, then stays.

    Update rule (t from 1; m₀ = v₀ = s₀ = 0, r₀ = 0, d = d₀ = `estim_lr0`;
    η_t the learning rate at step t − 1; b = √β₂; ⟨·,·⟩ and ‖·‖₁ over the
    whole tree)::

        d_lr = d · η_t · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
        r    = b · r + (1 − b) · d_lr · ⟨g, s / (√v + ε)⟩      (old s and v)
        m    = β₁ · m + (1 − β₁) · d_lr · g
        v    = β₂ · v + (1 − β₂) · g²
        s    = b · s + (1 − b) · d_lr · g
        d    = max(d, r / ((1 − b) · ‖s‖₁))
        step = m / (√v + ε) + λ · d_lr · x

    Args:
        learning_rate: η, a multiplier of d (>= 0) or a schedule of the step
            count (warmup then decay from 1.0 is the authors' advice).
        betas: (β₁, β₂), Adam's decays, each in [0, 1).
        eps: ε > 0, Adam's term in the denominator.
        estim_lr0: d₀ > 0, the first (under)estimate of the distance.
        weight_decay: λ >= 0, decoupled weight decay, scaled by d_lr.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `DAdaptAdamWState`; its `update` needs the params.

    Raises:
        ValueError: an argument out of range; `update` without params.
        TypeError: `betas` not a pair.

    Differences from Optax (`optax.contrib.dadapt_adamw`, of which this block
    is the negation): when ‖s‖₁ = 0 (every gradient so far zero, or a
    schedule that starts at η = 0, as warmups do) Optax divides 0 by 0 and d
    becomes NaN for good; here the estimate is skipped and d keeps its value
    (the moments are updated as in Optax, and with η = 0 the step is zero).
    The authors' code also refuses the 0/0 (dadaptation 3.2, `DAdaptAdam`
    returns from the step when its ‖s‖₁ is 0).

    References:
        Defazio and Mishchenko, "Learning-Rate-Free Learning by
        D-Adaptation", ICML 2023, Algorithm 4 (Adam version);
        arXiv:2301.07733.
    """
    fn = _checks.caller("scale_by_dadapt_adamw")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    beta1, beta2 = _adaptive.check_betas(fn, "betas", betas)
    _checks.check_positive(fn, "eps", eps)
    _checks.check_positive(fn, "estim_lr0", estim_lr0)
    _checks.check_non_negative(fn, "weight_decay", weight_decay)

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        return DAdaptAdamWState(
            exp_avg=tm.zeros_like(params),
            exp_avg_sq=tm.zeros_like(params),
            grad_sum=tm.zeros_like(params),
            estim_lr=jnp.asarray(estim_lr0, dtype),
            numerator_weighted=jnp.zeros([], dtype),
            count=jnp.zeros([], jnp.int32),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        updates, params = _adaptive.checked_update(
            fn, updates, state, DAdaptAdamWState, "exp_avg", params
        )
        b = beta2**0.5
        count = tm.increment(state.count)
        rate = _adaptive.rate_at(learning_rate, state.count)
        # 1) This step's size: d times η, bias-corrected as Adam's.
        correction = (1 - beta2**count) ** 0.5 / (1 - beta1**count)
        d_lr = (state.estim_lr * rate * correction).astype(
            state.numerator_weighted.dtype
        )
        # 2) The evidence about the distance, from the previous s and v.
        weighted = jax.tree.map(
            lambda s, v: s / (jnp.sqrt(v) + eps), state.grad_sum, state.exp_avg_sq
        )
        numerator = b * state.numerator_weighted + (1 - b) * d_lr * _adaptive.vdot(
            updates, weighted
        )
        # 3) Adam's moments, the first of the d_lr-scaled gradient.
        exp_avg = jax.tree.map(
            lambda m, g: beta1 * m + (1 - beta1) * d_lr * g, state.exp_avg, updates
        )
        exp_avg_sq = jax.tree.map(
            lambda v, g: beta2 * v + (1 - beta2) * g * g, state.exp_avg_sq, updates
        )
        grad_sum = jax.tree.map(
            lambda s, g: b * s + (1 - b) * d_lr * g, state.grad_sum, updates
        )
        # 4) The new bound, which never decreases.
        estimate = _adaptive.safe_ratio(
            numerator, (1 - b) * _adaptive.sum_abs(grad_sum)
        )
        d_new = jnp.maximum(state.estim_lr, estimate)
        step = jax.tree.map(
            lambda m, v, p: weight_decay * d_lr * p + m / (jnp.sqrt(v) + eps),
            exp_avg,
            exp_avg_sq,
            params,
        )
        new_state = DAdaptAdamWState(
            exp_avg=exp_avg,
            exp_avg_sq=exp_avg_sq,
            grad_sum=grad_sum,
            estim_lr=d_new.astype(state.estim_lr.dtype),
            numerator_weighted=numerator.astype(state.numerator_weighted.dtype),
            count=count,
        )
        return step, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@partition_invariant
@_checks.entry_point
def dadapt_adamw(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformationExtraArgs:
    """D-Adaptation AdamW: learning-rate-free AdamW, θ ← θ − step (see
    `scale_by_dadapt_adamw`).

    Same signature, defaults and state (`optax.contrib.DAdaptAdamWState`) as
    `optax.contrib.dadapt_adamw`; `update` needs the params. The learning
    rate multiplies the estimated step: keep 1.0, or a schedule with peak 1.0.
    """
    return _adaptive.descent(
        scale_by_dadapt_adamw(learning_rate, betas, eps, estim_lr0, weight_decay)
    )
