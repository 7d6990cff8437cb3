"""`torch.optim.Adadelta` as an Optax transform."""

from __future__ import annotations

from typing import NamedTuple

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common
from jaxopt_lessons.transforms.adadelta import adadelta_step

__all__ = ["AdadeltaState", "adadelta"]


class AdadeltaState(NamedTuple):
    """State of `adadelta`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    square_avg: optax.Updates  # v, running mean of g²
    acc_delta: optax.Updates  # a, running mean of the squared steps


def adadelta(
    lr: optax.ScalarOrSchedule = 1.0,
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
    weight_decay: jax.typing.ArrayLike = 0,
    foreach: bool | None = None,
    *,
    capturable: bool = False,
    maximize: bool = False,
    differentiable: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Adadelta with the arguments, defaults and arithmetic of `torch.optim.Adadelta`.

    Lesson: Adadelta gives each step the units of the parameter: the ratio of
    the running root mean squares of past steps and of gradients replaces a
    hand-set learning rate (η = 1 is torch's default, a pure multiplier).

    Update rule (g_t: the gradient, θ: the parameters, v_0 = a_0 = 0)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        v_t = ρ · v_{t-1} + (1 − ρ) · g_t²
        d_t = √(a_{t-1} + ε) / √(v_t + ε) · g_t
        a_t = ρ · a_{t-1} + (1 − ρ) · d_t²
        u_t = −η_t · d_t

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        rho: ρ in [0, 1].
        eps: ε ≥ 0, inside both roots.
        weight_decay: λ ≥ 0, added to the gradient as λ·θ (L2).
        maximize: climb the objective instead of descending it.
        foreach, capturable, differentiable: torch's execution flags; only
            None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an
        `AdadeltaState`.

    Raises:
        ValueError: `lr`, `eps` or `weight_decay` negative or not finite; `rho`
            outside [0, 1]; a torch execution flag set to True; `update`
            without params when λ ≠ 0.
        TypeError: a flag that is not a bool; complex or integer params.

    Differences from `optax.adadelta`: the same arithmetic; the default
    learning rate is 1.0 (Optax's `None` skips the sign flip and ascends),
    `maximize`. Optax's `weight_decay` is the same L2 term.

    References:
        Zeiler, "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701,
        2012, Algorithm 1.
        PyTorch 2.13, `torch/optim/adadelta.py` (`_single_tensor_adadelta`).
    """
    preset = _common.Preset.checked("adadelta", lr, weight_decay, maximize)
    fn = preset.fn
    _checks.check_interval(fn, "rho", rho, 0.0, 1.0, high_closed=True)
    _checks.check_non_negative(fn, "eps", eps)
    _common.check_torch_only_flags(
        fn, foreach=foreach, capturable=capturable, differentiable=differentiable
    )

    def init_fn(params):
        return AdadeltaState(
            count=preset.init_count(params),
            square_avg=tm.zeros_like(params),
            acc_delta=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.square_avg, params)
        # The transforms' rule (`scale_by_adadelta`), with torch's dtype rule.
        deltas, square_avg, acc_delta = adadelta_step(
            grads, state.square_avg, state.acc_delta, rho, eps, torch_rounding=True
        )
        updates = _common.descend(deltas, preset.lr_at(state.count))
        state = AdadeltaState(
            count=count,
            square_avg=tm.cast_like(square_avg, state.square_avg),
            acc_delta=tm.cast_like(acc_delta, state.acc_delta),
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
