"""`torch.optim.RMSprop` as an Optax transform: the learning rate after momentum."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["RmspropState", "rmsprop"]


class RmspropState(NamedTuple):
    """State of `rmsprop`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    square_avg: optax.Updates  # v, running mean of g²
    momentum_buffer: optax.Updates | None  # b, when momentum is not the number 0
    grad_avg: optax.Updates | None  # ḡ, running mean of g (centered=True)


def rmsprop(
    lr: optax.ScalarOrSchedule = 1e-2,
    alpha: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0,
    momentum: jax.typing.ArrayLike = 0,
    centered: bool = False,
    capturable: bool = False,
    foreach: bool | None = None,
    maximize: bool = False,
    differentiable: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """RMSprop with the arguments, defaults and arithmetic of `torch.optim.RMSprop`.

    Lesson: where the learning rate enters matters once it changes. torch
    accumulates the normalised gradients g/(√v + ε) in the momentum buffer and
    multiplies by η afterwards, so a schedule rescales the whole step at once;
    Optax multiplies by η before its `trace`, so the buffer keeps steps taken
    at older learning rates. With a constant η the two agree. ε is added
    outside the root, as Optax does only with `eps_in_sqrt=False`.

    Update rule (g_t: the gradient, θ: the parameters, v_0 = ḡ_0 = b_0 = 0)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        v_t = α · v_{t-1} + (1 − α) · g_t²
        ḡ_t = lerp(ḡ_{t-1}, g_t, 1 − α)             (centered)
        s_t = √(v_t − ḡ_t²) + ε  (centered)         s_t = √v_t + ε  (otherwise)
        b_t = μ · b_{t-1} + g_t / s_t               (momentum μ ≠ 0)
        u_t = −η_t · b_t   (μ ≠ 0)                  u_t = −η_t · g_t / s_t  (μ = 0)

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        alpha: α ≥ 0, the decay of the running means (torch checks only
            α ≥ 0; α > 1 gives a negative v and NaN, as in torch).
        eps: ε ≥ 0, added outside the root.
        weight_decay: λ ≥ 0, added to the gradient as λ·θ (L2).
        momentum: μ ≥ 0; 0 keeps no buffer.
        centered: divide by the running standard deviation instead of the
            running root mean square.
        maximize: climb the objective instead of descending it.
        capturable, foreach, differentiable: torch's execution flags; only
            None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an
        `RmspropState`.

    Raises:
        ValueError: `lr`, `alpha`, `eps`, `weight_decay` or `momentum`
            negative or not finite; a torch execution flag set to True;
            `update` without params when λ ≠ 0.
        TypeError: a flag that is not a bool; complex or integer params.

    Differences from `optax.rmsprop`: η after the momentum buffer (Optax:
    before), ε outside the root (Optax's default puts it inside), α = 0.99
    (Optax's `decay` = 0.9), `weight_decay` and `maximize`; no Nesterov option
    and no bias correction, as in torch.

    References:
        Tieleman and Hinton, "Lecture 6.5 - RMSprop", COURSERA: Neural
        Networks for Machine Learning, 2012.
        Graves, "Generating Sequences With Recurrent Neural Networks",
        arXiv:1308.0850, 2013 (the centered form).
        PyTorch 2.13, `torch/optim/rmsprop.py` (`_single_tensor_rmsprop`).
    """
    preset = _common.Preset.checked("rmsprop", lr, weight_decay, maximize)
    fn = preset.fn
    _checks.check_non_negative(fn, "alpha", alpha)
    _checks.check_non_negative(fn, "eps", eps)
    _checks.check_non_negative(fn, "momentum", momentum)
    _common.check_flags(fn, centered=centered)
    _common.check_torch_only_flags(
        fn, capturable=capturable, foreach=foreach, differentiable=differentiable
    )
    has_buffer = not _common.is_static_zero(momentum)

    def init_fn(params):
        return RmspropState(
            count=preset.init_count(params),
            square_avg=tm.zeros_like(params),
            momentum_buffer=tm.zeros_like(params) if has_buffer else None,
            grad_avg=tm.zeros_like(params) if centered else None,
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.square_avg, params)

        # 1) The running scale: root mean square, or standard deviation.
        square_avg = tm.ema_update_sq(
            grads, state.square_avg, alpha, torch_rounding=True
        )
        grad_avg = state.grad_avg
        # Not `scale_by_rms`/`scale_by_stddev(eps_in_sqrt=False)`: torch divides
        # g by √v + ε where they multiply by 1/(√v + ε), and ḡ is torch's lerp.
        if centered:
            grad_avg = _common.lerp_update(grad_avg, grads, alpha)
            scale = jax.tree.map(
                lambda v, a: jnp.sqrt(v - a * a) + tm.like(eps, v),
                square_avg,
                grad_avg,
            )
        else:
            scale = jax.tree.map(lambda v: jnp.sqrt(v) + tm.like(eps, v), square_avg)
        direction = jax.tree.map(lambda g, s: g / s, grads, scale)

        # 2) Momentum on the normalised gradient, then the learning rate.
        buffer = state.momentum_buffer
        if has_buffer:
            buffer = tm.trace_update(direction, buffer, momentum, torch_rounding=True)
            if _common.is_number(momentum):
                direction = buffer
            else:  # An array momentum may be 0 at run time; torch then has no buffer.
                direction = jax.tree.map(
                    lambda b, d: jnp.where(momentum > 0, b, d), buffer, direction
                )
            buffer = tm.cast_like(buffer, state.momentum_buffer)
        updates = _common.descend(direction, preset.lr_at(state.count))

        state = RmspropState(
            count=count,
            square_avg=tm.cast_like(square_avg, state.square_avg),
            momentum_buffer=buffer,
            grad_avg=tm.cast_like(grad_avg, state.grad_avg) if centered else None,
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
