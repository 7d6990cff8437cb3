"""`torch.optim.Adagrad` as an Optax transform: ε outside the root, `lr_decay`."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["AdagradState", "adagrad"]


class AdagradState(NamedTuple):
    """State of `adagrad`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    sum: optax.Updates  # s, the sum of squared gradients


def adagrad(
    lr: optax.ScalarOrSchedule = 1e-2,
    lr_decay: jax.typing.ArrayLike = 0,
    weight_decay: jax.typing.ArrayLike = 0,
    initial_accumulator_value: jax.typing.ArrayLike = 0,
    eps: jax.typing.ArrayLike = 1e-10,
    foreach: bool | None = None,
    *,
    maximize: bool = False,
    differentiable: bool = False,
    fused: bool | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Adagrad with the arguments, defaults and arithmetic of `torch.optim.Adagrad`.

    Lesson: each coordinate's step shrinks with the root of everything it has
    seen, so rarely-moved coordinates keep large steps. Small details decide
    the first steps: torch starts the sum at 0 and adds ε to the root, so a
    first gradient g gives a step of η·g/(|g| + ε), about η·sign(g); Optax
    starts at 0.1 and puts ε inside the root. `lr_decay` further divides η by
    1 + (t − 1)·δ.

    Update rule (g_t: the gradient, θ: the parameters, t from 1,
    s_0 = `initial_accumulator_value`)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        s_t = s_{t-1} + g_t²
        u_t = −η_t / (1 + (t − 1) · δ) · g_t / (√s_t + ε)

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        lr_decay: δ ≥ 0.
        weight_decay: λ ≥ 0, added to the gradient as λ·θ (L2).
        initial_accumulator_value: s_0 ≥ 0.
        eps: ε ≥ 0, added outside the root.
        maximize: climb the objective instead of descending it.
        foreach, differentiable, fused: torch's execution flags; only None or
            False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an
        `AdagradState`.

    Raises:
        ValueError: a negative or non-finite number; a torch execution flag
            set to True; `update` without params when λ ≠ 0.
        TypeError: a flag that is not a bool; complex or integer params.

    Differences from `optax.adagrad`: ε outside the root and 1e-10 (Optax:
    inside, 1e-7, with a zero step where the sum is 0), s_0 = 0 (Optax 0.1),
    `lr_decay`, `weight_decay`, `maximize`. With s_0 = ε = 0 a zero gradient
    on the first step gives 0/0 = NaN, in torch as here.

    References:
        Duchi, Hazan, Singer, "Adaptive Subgradient Methods for Online Learning
        and Stochastic Optimization", JMLR 12, 2011.
        PyTorch 2.13, `torch/optim/adagrad.py` (`_single_tensor_adagrad`).
    """
    preset = _common.Preset.checked("adagrad", lr, weight_decay, maximize)
    fn = preset.fn
    _checks.check_non_negative(fn, "lr_decay", lr_decay)
    _checks.check_non_negative(
        fn, "initial_accumulator_value", initial_accumulator_value
    )
    _checks.check_non_negative(fn, "eps", eps)
    _common.check_torch_only_flags(
        fn, foreach=foreach, differentiable=differentiable, fused=fused
    )

    def init_fn(params):
        return AdagradState(
            count=preset.init_count(params),
            sum=tm.full_like(params, initial_accumulator_value),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.sum, params)
        lr_t = preset.lr_at(state.count)

        clr = lr_t / (1 + (_common.step_number(count) - 1) * lr_decay)
        total = tm.sum_update_sq(grads, state.sum)
        # ε outside the root and no skipped zeros: torch's, not `scale_by_rss`'s.
        updates = jax.tree.map(
            lambda g, s: -tm.like(clr, g) * (g / (jnp.sqrt(s) + tm.like(eps, s))),
            grads,
            total,
        )
        return updates, AdagradState(count=count, sum=tm.cast_like(total, state.sum))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
