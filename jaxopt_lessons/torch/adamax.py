"""`torch.optim.Adamax` as an Optax transform."""

from __future__ import annotations

from typing import NamedTuple

import jax
import optax

from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["AdamaxState", "adamax"]


class AdamaxState(NamedTuple):
    """State of `adamax`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    exp_avg: optax.Updates  # m, first moment
    exp_inf: optax.Updates  # n, decaying maximum of |g|


def adamax(
    lr: optax.ScalarOrSchedule = 2e-3,
    betas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.9, 0.999),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0,
    foreach: bool | None = None,
    *,
    maximize: bool = False,
    differentiable: bool = False,
    capturable: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Adamax with the arguments, defaults and arithmetic of `torch.optim.Adamax`.

    Lesson: measuring the scale with a decaying maximum of |g| instead of a
    mean of squares bounds each step by about η, however quiet the gradient
    was before.

    Update rule (g_t: the gradient, θ: the parameters, t from 1, m_0 = n_0 = 0)::

        g_t ← −g_t                                  (maximize=True)
        g_t ← g_t + λ · θ_{t-1}                     (weight_decay λ, L2)
        m_t = lerp(m_{t-1}, g_t, 1 − β₁)
        n_t = max(β₂ · n_{t-1}, |g_t| + ε)
        u_t = −η_t / (1 − β₁ᵗ) · m_t / n_t

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken, as a
            torch LR scheduler stepped after each `optimizer.step()`).
        betas: (β₁, β₂), each in [0, 1).
        eps: ε ≥ 0.
        weight_decay: λ ≥ 0, added to the gradient as λ·θ (L2).
        maximize: climb the objective instead of descending it.
        foreach, differentiable, capturable: torch's execution flags; only
            None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an
        `AdamaxState`.

    Raises:
        ValueError: `lr`, `eps` or `weight_decay` negative or not finite; a
            beta outside [0, 1); a torch execution flag set to True; `update`
            without params when λ ≠ 0.
        TypeError: `betas` not a pair; a flag that is not a bool; complex or
            integer params.

    Differences from `optax.adamax`: the same arithmetic; the default
    learning rate 2e-3 (Optax has none), `weight_decay` (Optax: `adamaxw`,
    decoupled) and `maximize`.

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
        section 7.1 (Algorithm 2).
        PyTorch 2.13, `torch/optim/adamax.py` (`_single_tensor_adamax`).
    """
    preset = _common.Preset.checked("adamax", lr, weight_decay, maximize)
    fn = preset.fn
    b1, b2 = _common.check_adam_args(fn, betas, eps)
    _common.check_torch_only_flags(
        fn, foreach=foreach, differentiable=differentiable, capturable=capturable
    )

    def init_fn(params):
        return AdamaxState(
            count=preset.init_count(params),
            exp_avg=tm.zeros_like(params),
            exp_inf=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        grads, count = preset.start(updates, state.count, state.exp_avg, params)
        lr_t = preset.lr_at(state.count)

        exp_avg = _common.lerp_update(state.exp_avg, grads, b1)
        exp_inf = tm.max_abs_update(grads, state.exp_inf, b2, eps, torch_rounding=True)
        # The bias correction folded into the step size, as torch does.
        clr = lr_t / _common.one_minus_power(b1, _common.step_number(count))
        updates = jax.tree.map(
            lambda m, n: -tm.like(clr, m) * (m / n), exp_avg, exp_inf
        )
        state = AdamaxState(
            count=count,
            exp_avg=tm.cast_like(exp_avg, state.exp_avg),
            exp_inf=tm.cast_like(exp_inf, state.exp_inf),
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
