"""Prodigy: AdamW whose learning rate is an estimate of the distance to the solution."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import ProdigyState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["ProdigyState", "prodigy", "scale_by_prodigy"]


@partition_invariant
@_checks.entry_point
def scale_by_prodigy(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    beta3: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    estim_lr_coef: jax.typing.ArrayLike = 1.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    safeguard_warmup: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Prodigy's step, to be subtracted: AdamW scaled by an estimate d of the
    distance from the initial point to the solution.

    Lesson: the best constant step of gradient descent on a convex problem is
    about D/G·√T, D the distance to the solution. D is unknown, but every
    gradient says something about it: ⟨g_k, x₀ − x_k⟩ summed over the run,
    divided by the size of the summed gradients, is a lower bound on it. The
    bound only grows, so d starts tiny (`estim_lr0`) and rises to the right
    scale within a few hundred steps; the learning rate is then a multiplier
    of d (1.0, or a schedule that treats 1.0 as its peak).

    Update rule (t from 1; d₀ = `estim_lr0`; s₀ = m₀ = v₀ = 0, r₀ = 0; η_t the
    learning rate at step t − 1; ⟨·,·⟩ and ‖·‖₁ over the whole tree)::

        d_lr  = d · η_t · √(1 − β₂ᵗ) / (1 − β₁ᵗ)
        m     = β₁ · m + (1 − β₁) · d · g
        v     = β₂ · v + (1 − β₂) · d² · g²
        s     = β₃ · s + (d_lr / d₀) · d · g      (safeguard_warmup: (d / d₀) · d · g)
        r     = β₃ · r + (d / d₀) · d_lr · ⟨g, x₀ − x⟩
        d     = max(d, c · r / ‖s‖₁)                 (c = `estim_lr_coef`)
        step  = d_lr · m / (√v + d · ε) + λ · d_lr · x

    The new d enters ε's term, as in Optax.

    Args:
        learning_rate: η, a multiplier of d (>= 0) or a schedule of the step
            count (warmup then decay from 1.0 is the authors' advice).
        betas: (β₁, β₂), Adam's decays, each in [0, 1).
        beta3: β₃ in [0, 1), the decay of s and r; None means √β₂.
        eps: ε > 0, scaled by d in the denominator.
        estim_lr0: d₀ > 0, the first (under)estimate of the distance.
        estim_lr_coef: c >= 0, multiplies every new estimate.
        weight_decay: λ >= 0, decoupled weight decay, scaled by d_lr.
        safeguard_warmup: leave η out of s, so that a warmup schedule whose
            small η shrinks s does not inflate d.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `ProdigyState`; its `update` needs the params.

    Raises:
        ValueError: an argument out of range; `update` without params.
        TypeError: `betas` not a pair; `safeguard_warmup` not a bool.

    Differences from Optax (`optax.contrib.prodigy`, of which this block is
    the negation): when ‖s‖₁ = 0 (every gradient so far zero, or a schedule
    that starts at η = 0, as warmups do) Optax divides 0 by 0 and d becomes
    NaN for good; here the estimate is skipped and d keeps its value (the
    moments are updated as in Optax, and with η = 0 the step is zero). The
    authors' code (prodigyopt 1.1.2) also refuses the 0/0: it returns from
    the step when its ‖s‖₁ is 0. Elsewhere, with its bias correction on,
    this block follows prodigyopt to rtol 1e-7 over 50 float64 steps
    (tests/contrib/test_adaptive_references.py).

    References:
        Mishchenko and Defazio, "Prodigy: An Expeditiously Adaptive
        Parameter-Free Learner", ICML 2024, Algorithm 4 (Prodigy, Adam
        version); arXiv:2306.06101.
    """
    fn = _checks.caller("scale_by_prodigy")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    beta1, beta2 = _adaptive.check_betas(fn, "betas", betas)
    if beta3 is not None:
        _checks.check_interval(fn, "beta3", beta3, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)
    _checks.check_positive(fn, "estim_lr0", estim_lr0)
    _checks.check_non_negative(fn, "estim_lr_coef", estim_lr_coef)
    _checks.check_non_negative(fn, "weight_decay", weight_decay)
    _checks.check_bool(fn, "safeguard_warmup", safeguard_warmup)
    beta3 = beta2**0.5 if beta3 is None else beta3

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        return ProdigyState(
            exp_avg=tm.zeros_like(params),
            exp_avg_sq=tm.zeros_like(params),
            grad_sum=tm.zeros_like(params),
            params0=params,
            estim_lr=jnp.asarray(estim_lr0, dtype),
            numerator_weighted=jnp.zeros([], dtype),
            count=jnp.zeros([], jnp.int32),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        updates, params = _adaptive.checked_update(
            fn, updates, state, ProdigyState, "exp_avg", params
        )
        count = tm.increment(state.count)
        rate = _adaptive.rate_at(learning_rate, state.count)
        d = state.estim_lr
        # 1) The step size of this step: d times η, bias-corrected as Adam's.
        correction = (1 - beta2**count) ** 0.5 / (1 - beta1**count)
        d_lr = jnp.asarray(d * rate * correction, d.dtype)
        # 2) Adam's moments of the gradient scaled by d.
        scaled = jax.tree.map(lambda g: d * g, updates)
        exp_avg = tm.ema_update(scaled, state.exp_avg, beta1)
        exp_avg_sq = jax.tree.map(
            lambda g, v: beta2 * v + (1 - beta2) * g * g, scaled, state.exp_avg_sq
        )
        # 3) The evidence about the distance: ⟨g, x₀ − x⟩ against the size
        #    of the (weighted) gradients summed so far.
        moved = jax.tree.map(lambda p0, p: p0 - p, state.params0, params)
        weight = d if safeguard_warmup else d_lr
        grad_sum = jax.tree.map(
            lambda s, g: beta3 * s + weight * g / estim_lr0, state.grad_sum, scaled
        )
        numerator = beta3 * state.numerator_weighted + (
            d / estim_lr0
        ) * d_lr * _adaptive.vdot(updates, moved)
        estimate = estim_lr_coef * _adaptive.safe_ratio(
            numerator, _adaptive.sum_abs(grad_sum)
        )
        d_new = jnp.maximum(d, estimate)
        # 4) AdamW's step with the new d in ε's place.
        step = jax.tree.map(
            lambda m, v, p: (
                weight_decay * d_lr * p + d_lr * m / (jnp.sqrt(v) + d_new * eps)
            ),
            exp_avg,
            exp_avg_sq,
            params,
        )
        new_state = ProdigyState(
            exp_avg=exp_avg,
            exp_avg_sq=exp_avg_sq,
            grad_sum=grad_sum,
            params0=state.params0,
            estim_lr=d_new.astype(d.dtype),
            numerator_weighted=jnp.asarray(numerator, state.numerator_weighted.dtype),
            count=count,
        )
        return step, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@partition_invariant
@_checks.entry_point
def prodigy(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    beta3: jax.typing.ArrayLike | None = None,
    eps: jax.typing.ArrayLike = 1e-8,
    estim_lr0: jax.typing.ArrayLike = 1e-6,
    estim_lr_coef: jax.typing.ArrayLike = 1.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    safeguard_warmup: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Prodigy: learning-rate-free AdamW, θ ← θ − step (see `scale_by_prodigy`).

    Same signature, defaults and state (`optax.contrib.ProdigyState`) as
    `optax.contrib.prodigy`; `update` needs the params. The learning rate
    multiplies the estimated step: keep 1.0, or a schedule with peak 1.0.
    """
    return _adaptive.descent(
        scale_by_prodigy(
            learning_rate,
            betas,
            beta3,
            eps,
            estim_lr0,
            estim_lr_coef,
            weight_decay,
            safeguard_warmup,
        )
    )
