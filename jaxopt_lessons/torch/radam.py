"""`torch.optim.RAdam` as an Optax transform: ε outside the bias correction."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["RadamState", "radam"]


class RadamState(NamedTuple):
    """State of `radam`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    exp_avg: optax.Updates  # m, first moment
    exp_avg_sq: optax.Updates  # v, second moment


def radam(
    lr: optax.ScalarOrSchedule = 1e-3,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0,
    decoupled_weight_decay: bool = False,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool = False,
    differentiable: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """RAdam with the arguments, defaults and arithmetic of `torch.optim.RAdam`.

    Lesson: in Adam's first steps v̂ rests on a handful of gradients, so 1/√v̂
    has a huge variance. RAdam takes plain momentum steps until the
    approximate length of v's moving average, ρ_t, exceeds 5, then turns the
    adaptive step on gradually with the rectification factor r_t.

    Update rule (g_t: the gradient, θ: the parameters, t from 1, m_0 = v_0 = 0)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        m_t = lerp(m_{t-1}, g_t, 1 − β₁),  v_t = β₂ · v_{t-1} + (1 − β₂) · g_t²
        m̂_t = m_t / (1 − β₁ᵗ)
        ρ_∞ = 2 / (1 − β₂) − 1,  ρ_t = ρ_∞ − 2t · β₂ᵗ / (1 − β₂ᵗ)
        r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
        u_t = −η_t · m̂_t · √(1 − β₂ᵗ) / (√v_t + ε) · r_t    (ρ_t > 5)
        u_t = −η_t · m̂_t                                   (otherwise)
        u_t ← u_t − η_t · λ · θ_{t-1}               (decoupled_weight_decay=True)

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        betas: (β₁, β₂), each in [0, 1).
        eps: ε ≥ 0, added to √v (before the bias correction).
        weight_decay: λ ≥ 0.
        decoupled_weight_decay: shrink θ by η·λ (as AdamW) instead of adding
            λ·θ to the gradient.
        maximize: climb the objective instead of descending it.
        foreach, capturable, differentiable: torch's execution flags; only
            None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is a
        `RadamState`.

    Raises:
        ValueError: `lr`, `eps` or `weight_decay` negative or not finite; a
            beta outside [0, 1); a torch execution flag set to True; `update`
            without params when λ ≠ 0.
        TypeError: `betas` not a pair; a flag that is not a bool; complex or
            integer params.

    Differences from `optax.radam`: ε is added to √v, not to √v̂ (the same
    as Optax's ε multiplied by √(1 − β₂ᵗ)); rectification starts when ρ_t > 5
    (Optax: ρ_t ≥ `threshold` = 5); `weight_decay`, `decoupled_weight_decay`,
    `maximize`.

    References:
        Liu, Jiang, He, Chen, Liu, Gao, Han, "On the Variance of the Adaptive
        Learning Rate and Beyond", ICLR 2020, Algorithm 2.
        PyTorch 2.13, `torch/optim/radam.py` (`_single_tensor_radam`).
    """
    preset = _common.Preset.checked(
        "radam", lr, weight_decay, maximize, decoupled_weight_decay
    )
    fn = preset.fn
    b1, b2 = _common.check_adam_args(fn, betas, eps)
    _common.check_torch_only_flags(
        fn, foreach=foreach, capturable=capturable, differentiable=differentiable
    )

    def init_fn(params):
        return RadamState(
            count=preset.init_count(params),
            exp_avg=tm.zeros_like(params),
            exp_avg_sq=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.exp_avg, params)
        lr_t = preset.lr_at(state.count)
        t = _common.step_number(count)
        exp_avg, exp_avg_sq = _common.adam_moments(
            state.exp_avg, state.exp_avg_sq, grads, b1, b2
        )

        # 1) How many gradients v's moving average is worth, and whether that
        #    is enough to trust 1/√v̂.
        bias_correction1 = _common.one_minus_power(b1, t)
        bias_correction2 = _common.one_minus_power(b2, t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * _common.power(b2, t) / bias_correction2
        rectified = rho_t > 5.0
        ratio = (
            (rho_t - 4)
            * (rho_t - 2)
            * rho_inf
            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
        rect = jnp.sqrt(jnp.where(rectified, ratio, 1.0))  # no √ of a negative
        sqrt_bc2 = jnp.sqrt(bias_correction2)

        def step(m, v):
            m_hat = m / tm.like(bias_correction1, m)
            plain = m_hat * tm.like(lr_t, m)
            adaptive = tm.like(sqrt_bc2, v) / (jnp.sqrt(v) + tm.like(eps, v))
            return -jnp.where(rectified, plain * adaptive * tm.like(rect, m), plain)

        updates = jax.tree.map(step, exp_avg, exp_avg_sq)
        updates = preset.add_decoupled_decay(updates, params, lr_t)
        state = RadamState(
            count=count,
            exp_avg=tm.cast_like(exp_avg, state.exp_avg),
            exp_avg_sq=tm.cast_like(exp_avg_sq, state.exp_avg_sq),
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
