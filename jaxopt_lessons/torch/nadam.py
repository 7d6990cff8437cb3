"""`torch.optim.NAdam` as an Optax transform: Dozat's μ-schedule."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["NadamState", "nadam"]


class NadamState(NamedTuple):
    """State of `nadam`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    mu_product: jax.Array  # scalar Π μ_s, in JAX's default float dtype
    exp_avg: optax.Updates  # m, first moment
    exp_avg_sq: optax.Updates  # v, second moment


def nadam(
    lr: optax.ScalarOrSchedule = 2e-3,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0,
    momentum_decay: jax.typing.ArrayLike = 4e-3,
    decoupled_weight_decay: bool = False,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool = False,
    differentiable: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """NAdam with the arguments, defaults and arithmetic of `torch.optim.NAdam`.

    Lesson: NAdam puts Nesterov's look-ahead into Adam: the step uses the
    momentum the *next* step will have. torch follows Dozat's paper with a
    momentum coefficient that warms up, μ_t = β₁·(1 − ½·0.96^(t·ψ)), and
    corrects the bias with the product of all μ so far; Optax's `nadam` keeps
    μ = β₁ fixed, so the two differ most in the first few hundred steps.

    Update rule (g_t: the gradient, θ: the parameters, t from 1, m_0 = v_0 = 0,
    P_0 = 1, ψ = `momentum_decay`)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        μ_t = β₁ · (1 − ½ · 0.96^(t·ψ)),   P_t = P_{t-1} · μ_t
        m_t = lerp(m_{t-1}, g_t, 1 − β₁),  v_t = β₂ · v_{t-1} + (1 − β₂) · g_t²
        s_t = √(v_t / (1 − β₂ᵗ)) + ε
        u_t = −η_t · (1 − μ_t) / (1 − P_t) · g_t / s_t
              − η_t · μ_{t+1} / (1 − P_t · μ_{t+1}) · m_t / s_t
        u_t ← u_t − η_t · λ · θ_{t-1}               (decoupled_weight_decay=True)

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        betas: (β₁, β₂), each in [0, 1).
        eps: ε ≥ 0, added outside the root.
        weight_decay: λ ≥ 0.
        momentum_decay: ψ ≥ 0, how fast μ_t warms up to β₁.
        decoupled_weight_decay: shrink θ by η·λ (as AdamW) instead of adding
            λ·θ to the gradient.
        maximize: climb the objective instead of descending it.
        foreach, capturable, differentiable: torch's execution flags; only
            None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is a
        `NadamState`.

    Raises:
        ValueError: `lr`, `eps`, `weight_decay` or `momentum_decay` negative or
            not finite; a beta outside [0, 1); a torch execution flag set to
            True; `update` without params when λ ≠ 0.
        TypeError: `betas` not a pair; a flag that is not a bool; complex or
            integer params.

    Differences from `optax.nadam`: the μ-schedule and its product-based bias
    correction (Optax: constant β₁), the default lr 2e-3, `weight_decay`,
    `decoupled_weight_decay` (Optax: `nadamw`), `maximize`. The scalar P_t is
    kept in JAX's default float dtype (float64 under `jax.enable_x64`), as
    torch keeps it in its default dtype.

    References:
        Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
        workshop, Algorithm 2.
        PyTorch 2.13, `torch/optim/nadam.py` (`_single_tensor_nadam`).
    """
    preset = _common.Preset.checked(
        "nadam", lr, weight_decay, maximize, decoupled_weight_decay
    )
    fn = preset.fn
    b1, b2 = _common.check_adam_args(fn, betas, eps)
    _checks.check_non_negative(fn, "momentum_decay", momentum_decay)
    _common.check_torch_only_flags(
        fn, foreach=foreach, capturable=capturable, differentiable=differentiable
    )

    def init_fn(params):
        return NadamState(
            count=preset.init_count(params),
            mu_product=jnp.ones([], jnp.result_type(float)),
            exp_avg=tm.zeros_like(params),
            exp_avg_sq=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.exp_avg, params)
        lr_t = preset.lr_at(state.count)
        t = _common.step_number(count)

        # 1) The warming-up momentum coefficients of this step and the next.
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        mu_product = (state.mu_product * mu).astype(state.mu_product.dtype)
        mu_product_next = mu_product * mu_next

        # 2) Adam's moments.
        exp_avg, exp_avg_sq = _common.adam_moments(
            state.exp_avg, state.exp_avg_sq, grads, b1, b2
        )

        # 3) A step along the gradient and one along the next momentum.
        bias_correction2 = _common.one_minus_power(b2, t)
        grad_coef = -lr_t * (1.0 - mu) / (1.0 - mu_product)
        avg_coef = -lr_t * mu_next / (1.0 - mu_product_next)

        def step(g, m, v):
            denom = jnp.sqrt(v / tm.like(bias_correction2, v)) + tm.like(eps, v)
            return tm.like(grad_coef, g) * (g / denom) + tm.like(avg_coef, m) * (
                m / denom
            )

        updates = jax.tree.map(step, grads, exp_avg, exp_avg_sq)
        updates = preset.add_decoupled_decay(updates, params, lr_t)
        state = NadamState(
            count=count,
            mu_product=mu_product,
            exp_avg=tm.cast_like(exp_avg, state.exp_avg),
            exp_avg_sq=tm.cast_like(exp_avg_sq, state.exp_avg_sq),
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
