"""`torch.optim.SGD` as an Optax transform: momentum with dampening, torch's way."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["SgdState", "sgd"]


class SgdState(NamedTuple):
    """State of `sgd`. Field names follow torch's state dict (`count` is its `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    momentum_buffer: optax.Updates | None  # None when momentum is the number 0


def sgd(
    lr: optax.ScalarOrSchedule = 1e-3,
    momentum: jax.typing.ArrayLike = 0,
    dampening: jax.typing.ArrayLike = 0,
    weight_decay: jax.typing.ArrayLike = 0,
    nesterov: bool = False,
    *,
    maximize: bool = False,
    foreach: bool | None = None,
    differentiable: bool = False,
    fused: bool | None = None,
) -> optax.GradientTransformationExtraArgs:
    """SGD with the arguments, defaults and arithmetic of `torch.optim.SGD`.

    Lesson: porting a PyTorch recipe means porting its exact rule. torch's
    momentum buffer starts as a copy of the first gradient, and `dampening`
    scales only the gradients that come after it, so a dampened buffer is
    neither Optax's `trace` (no dampening) nor its `ema` (which would scale the
    first gradient too). The learning rate multiplies the buffer afterwards,
    so a schedule changes the step, not what the buffer remembers.

    Update rule (g_t: the gradient, θ: the parameters, t from 1)::

        g_t ← −g_t                                   (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                      (weight_decay λ, an L2 term)
        b_1 = g_1,  b_t = μ · b_{t-1} + (1 − τ) · g_t  (momentum μ ≠ 0, dampening τ)
        d_t = g_t + μ · b_t    (nesterov)   d_t = b_t   (otherwise)   d_t = g_t (μ = 0)
        u_t = −η_t · d_t

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        momentum: μ ≥ 0; 0 keeps no buffer.
        dampening: τ, any finite number; scales every gradient but the first.
        weight_decay: λ ≥ 0, added to the gradient as λ·θ (L2).
        nesterov: use the look-ahead direction; needs μ > 0 and τ = 0.
        maximize: climb the objective instead of descending it.
        foreach, differentiable, fused: torch's execution flags; only None or
            False is accepted (they choose kernels, not arithmetic).

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an `SgdState`.

    Raises:
        ValueError: a negative or non-finite `lr`, `momentum` or
            `weight_decay`; `nesterov=True` without μ > 0 and τ = 0; a torch
            execution flag set to True; `update` without params when λ ≠ 0.
        TypeError: a flag that is not a bool; complex or integer params.

    Differences from `optax.sgd`: the dampening, the first buffer being g_1
    (Optax starts from 0, which gives the same b_1 only without dampening),
    `weight_decay` and `maximize`; the defaults (lr 1e-3, momentum 0).

    References:
        Polyak, "Some methods of speeding up the convergence of iteration
        methods", USSR Comput. Math. Math. Phys. 4(5), 1964.
        Sutskever, Martens, Dahl, Hinton, "On the importance of initialization
        and momentum in deep learning", ICML 2013.
        PyTorch 2.13, `torch/optim/sgd.py` (`_single_tensor_sgd`).
    """
    preset = _common.Preset.checked("sgd", lr, weight_decay, maximize)
    fn = preset.fn
    _checks.check_non_negative(fn, "momentum", momentum)
    _checks.check_interval(fn, "dampening", dampening, -float("inf"), float("inf"))
    _common.check_flags(fn, nesterov=nesterov)
    _common.check_torch_only_flags(
        fn, foreach=foreach, differentiable=differentiable, fused=fused
    )
    if nesterov and _common.is_number(momentum) and _common.is_number(dampening):
        if momentum <= 0 or dampening != 0:
            raise ValueError(
                f"{fn}: `nesterov=True` needs `momentum` > 0 and `dampening` = 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}."
            )
    has_buffer = not _common.is_static_zero(momentum)

    def init_fn(params):
        count = preset.init_count(params)
        buffer = tm.zeros_like(params) if has_buffer else None
        return SgdState(count=count, momentum_buffer=buffer)

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.momentum_buffer, params)

        buffer = state.momentum_buffer
        if has_buffer:
            # torch: the first buffer is a copy of g; later ones are the heavy
            # ball of the dampened gradients (1 − τ)·g.
            dampened = jax.tree.map(lambda g: tm.like(1 - dampening, g) * g, grads)
            later = tm.trace_update(dampened, buffer, momentum, torch_rounding=True)
            first = state.count == 0
            buffer = jax.tree.map(lambda g, b: jnp.where(first, g, b), grads, later)
            if nesterov:
                direction = tm.trace_update(
                    grads, buffer, momentum, torch_rounding=True
                )
            else:
                direction = buffer
            if not _common.is_number(momentum):
                # An array momentum may be 0 at run time; torch then skips the buffer.
                direction = jax.tree.map(
                    lambda d, g: jnp.where(momentum != 0, d, g), direction, grads
                )
            buffer = tm.cast_like(buffer, state.momentum_buffer)
        else:
            direction = grads

        updates = _common.descend(direction, preset.lr_at(state.count))
        return updates, SgdState(count=count, momentum_buffer=buffer)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
