"""`torch.optim.Adam` and `torch.optim.AdamW` as Optax transforms."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["AdamState", "adam", "adamw"]


class AdamState(NamedTuple):
    """State of `adam` and `adamw`. Field names follow torch's state dict
    (`count` is its `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    exp_avg: optax.Updates  # m, first moment
    exp_avg_sq: optax.Updates  # v, second moment
    max_exp_avg_sq: optax.Updates | None  # running max of v (amsgrad), else None


def adam(
    lr: optax.ScalarOrSchedule = 1e-3,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0,
    amsgrad: bool = False,
    *,
    foreach: bool | None = None,
    maximize: bool = False,
    capturable: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
    decoupled_weight_decay: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Adam with the arguments, defaults and arithmetic of `torch.optim.Adam`.

    Lesson: the same algorithm can be written in ways that drift apart. Without
    `amsgrad` torch's Adam is Optax's to rounding. With it, torch keeps the
    running maximum of the raw second moment v and bias-corrects afterwards,
    which differs from Optax's maximum of the corrected v̂ while βᵗ matters.
    `weight_decay` is an L2 term in the gradient unless
    `decoupled_weight_decay=True` (AdamW), where it shrinks the parameters by
    η·λ before the step.

    Update rule (g_t: the gradient, θ: the parameters, t from 1, m_0 = v_0 = 0)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        m_t = lerp(m_{t-1}, g_t, 1 − β₁)            (= β₁·m_{t-1} + (1 − β₁)·g_t)
        v_t = β₂ · v_{t-1} + (1 − β₂) · g_t²
        n_t = max(n_{t-1}, v_t)                     (amsgrad; else n_t = v_t)
        u_t = −η_t / (1 − β₁ᵗ) · m_t / (√n_t / √(1 − β₂ᵗ) + ε)
        u_t ← u_t − η_t · λ · θ_{t-1}               (decoupled_weight_decay=True)

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        betas: (β₁, β₂), each in [0, 1).
        eps: ε ≥ 0, added to √v̂ (outside the root).
        weight_decay: λ ≥ 0.
        amsgrad: divide by the running maximum of v.
        maximize: climb the objective instead of descending it.
        decoupled_weight_decay: shrink θ by η·λ (AdamW) instead of adding λ·θ
            to the gradient.
        foreach, capturable, differentiable, fused: torch's execution flags;
            only None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an `AdamState`.

    Raises:
        ValueError: `lr`, `eps` or `weight_decay` negative or not finite; a
            beta outside [0, 1); a torch execution flag set to True; `update`
            without params when λ ≠ 0.
        TypeError: `betas` not a pair; a flag that is not a bool; complex or
            integer params.

    Differences from `optax.adam`: `amsgrad` (Optax has a separate
    `optax.amsgrad` that takes the maximum of v̂), `weight_decay`, `maximize`;
    torch divides √v by √(1 − β₂ᵗ) rather than v by (1 − β₂ᵗ) under the root,
    which is the same number up to rounding.

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
        Reddi, Kale, Kumar, "On the Convergence of Adam and Beyond", ICLR 2018.
        Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
        PyTorch 2.13, `torch/optim/adam.py` (`_single_tensor_adam`).
    """
    preset = _common.Preset.checked(
        "adam", lr, weight_decay, maximize, decoupled_weight_decay
    )
    return _adam(
        preset, betas, eps, amsgrad, foreach, capturable, differentiable, fused
    )


def adamw(
    lr: optax.ScalarOrSchedule = 1e-3,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 1e-2,
    amsgrad: bool = False,
    *,
    maximize: bool = False,
    foreach: bool | None = None,
    capturable: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
) -> optax.GradientTransformationExtraArgs:
    """AdamW with the arguments, defaults and arithmetic of `torch.optim.AdamW`.

    `adam(..., decoupled_weight_decay=True)` with torch's AdamW default
    λ = 1e-2: θ is shrunk by η·λ before each Adam step. The update rule,
    arguments and errors are those of `adam`.

    Differences from `optax.adamw`: the default weight decay (1e-2 here, 1e-4
    in Optax), `amsgrad` and `maximize`; no `mask` (use `optax.masked` or
    `optax.partition` around the preset, as torch uses parameter groups).

    References:
        Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
        PyTorch 2.13, `torch/optim/adamw.py`.
    """
    preset = _common.Preset.checked("adamw", lr, weight_decay, maximize, True)
    return _adam(
        preset, betas, eps, amsgrad, foreach, capturable, differentiable, fused
    )


def _adam(
    preset: _common.Preset,
    betas: Any,
    eps: Any,
    amsgrad: Any,
    foreach: Any,
    capturable: Any,
    differentiable: Any,
    fused: Any,
) -> optax.GradientTransformationExtraArgs:
    """`adam` and `adamw` once their shared arguments are checked in `preset`."""
    fn = preset.fn
    b1, b2 = _common.check_adam_args(fn, betas, eps)
    _common.check_flags(fn, amsgrad=amsgrad)
    _common.check_torch_only_flags(
        fn,
        foreach=foreach,
        capturable=capturable,
        differentiable=differentiable,
        fused=fused,
    )

    def init_fn(params):
        return AdamState(
            count=preset.init_count(params),
            exp_avg=tm.zeros_like(params),
            exp_avg_sq=tm.zeros_like(params),
            max_exp_avg_sq=tm.zeros_like(params) if amsgrad else None,
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.exp_avg, params)
        lr_t = preset.lr_at(state.count)
        t = _common.step_number(count)

        # 1) The running direction and the running scale.
        exp_avg, exp_avg_sq = _common.adam_moments(
            state.exp_avg, state.exp_avg_sq, grads, b1, b2
        )
        max_exp_avg_sq = state.max_exp_avg_sq
        if amsgrad:
            # torch takes the maximum of the raw v, before bias correction.
            max_exp_avg_sq = jax.tree.map(jnp.maximum, max_exp_avg_sq, exp_avg_sq)
            scale_sq = max_exp_avg_sq
        else:
            scale_sq = exp_avg_sq

        # 2) Bias corrections, folded into the step size and the denominator.
        step_size = lr_t / _common.one_minus_power(b1, t)
        bias_correction2_sqrt = jnp.sqrt(_common.one_minus_power(b2, t))

        def step(m, n):
            denom = jnp.sqrt(n) / tm.like(bias_correction2_sqrt, n) + tm.like(eps, n)
            return -tm.like(step_size, m) * (m / denom)

        updates = jax.tree.map(step, exp_avg, scale_sq)
        # 3) torch shrinks θ by η·λ·θ before the Adam step; as an update, add it.
        updates = preset.add_decoupled_decay(updates, params, lr_t)
        state = AdamState(
            count=count,
            exp_avg=tm.cast_like(exp_avg, state.exp_avg),
            exp_avg_sq=tm.cast_like(exp_avg_sq, state.exp_avg_sq),
            max_exp_avg_sq=(
                tm.cast_like(max_exp_avg_sq, state.max_exp_avg_sq) if amsgrad else None
            ),
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
