"""`torch.optim.Rprop` as an Optax transform: sign steps with adaptive sizes."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["RpropState", "rprop"]


class RpropState(NamedTuple):
    """State of `rprop`. Field names follow torch's state dict (`count` is its
    `step`)."""

    count: jax.Array  # int32 scalar: steps taken
    prev: optax.Updates  # the previous gradient, 0 where its sign flipped
    step_size: optax.Updates  # Δ, one step size per coordinate


def rprop(
    lr: optax.ScalarOrSchedule = 1e-2,
    etas: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (0.5, 1.2),
    step_sizes: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike] = (1e-6, 50),
    *,
    capturable: bool = False,
    foreach: bool | None = None,
    maximize: bool = False,
    differentiable: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Rprop with the arguments, defaults and arithmetic of `torch.optim.Rprop`.

    Lesson: Rprop ignores the gradient's size and keeps only its sign. Each
    coordinate has its own step size Δ, grown by η₊ while the sign holds and
    cut by η₋ when it flips (a sign flip means the last step jumped over a
    minimum, so that step is not repeated: the gradient is treated as 0 once).
    Uneven gradient scales cannot stall it, but minibatch noise flips signs at
    random, so it suits full-batch training.

    Update rule (g_t: the gradient, t from 1, p_0 = 0, Δ_0 = η (`lr`))::

        g_t ← −g_t                                   (maximize=True)
        f_t = η₊ if g_t·p_{t-1} > 0,  η₋ if g_t·p_{t-1} < 0,  1 otherwise
        Δ_t = clip(f_t · Δ_{t-1}, Δ_min, Δ_max)
        g_t ← 0 where g_t·p_{t-1} < 0
        u_t = −sign(g_t) · Δ_t,   p_t = g_t

    Args:
        lr: η ≥ 0, the initial step size Δ_0. A schedule is read once, at
            `count` 0: torch's LR schedulers change `lr` in the parameter
            group, which Rprop reads only when its state is created.
        etas: (η₋, η₊) with 0 < η₋ < 1 < η₊.
        step_sizes: (Δ_min, Δ_max) with 0 ≤ Δ_min ≤ Δ_max (torch does not
            check this pair).
        maximize: climb the objective instead of descending it.
        capturable, foreach, differentiable: torch's execution flags; only
            None or False is accepted.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is an
        `RpropState`.

    Raises:
        ValueError: `lr` negative or not finite; `etas` or `step_sizes` out of
            order; a torch execution flag set to True.
        TypeError: `etas` or `step_sizes` not a pair; a flag that is not a
            bool; complex or integer params.

    Differences from `optax.rprop`: Optax 0.2.8 returns the step computed on
    the previous call (its first update is 0); here, as in torch, each update
    uses the current gradient. Also `maximize`, and torch's names and
    defaults (Optax: `eta_minus`, `eta_plus`, `min_step_size`,
    `max_step_size`).

    References:
        Riedmiller and Braun, "A Direct Adaptive Method for Faster
        Backpropagation Learning: The RPROP Algorithm", IEEE ICNN 1993.
        PyTorch 2.13, `torch/optim/rprop.py` (`_single_tensor_rprop`).
    """
    preset = _common.Preset.checked("rprop", lr, 0, maximize)
    fn = preset.fn
    eta_minus, eta_plus = _common.check_pair(fn, "etas", etas)
    _checks.check_positive(fn, "etas[0]", eta_minus)
    _checks.check_positive(fn, "etas[1]", eta_plus)
    if _common.is_number(eta_minus) and _common.is_number(eta_plus):
        if not eta_minus < 1 < eta_plus:
            raise ValueError(
                f"{fn}: `etas` must satisfy 0 < etas[0] < 1 < etas[1], got {etas!r}."
            )
    min_step, max_step = _common.check_pair(fn, "step_sizes", step_sizes)
    _checks.check_non_negative(fn, "step_sizes[0]", min_step)
    _checks.check_non_negative(fn, "step_sizes[1]", max_step)
    if (
        _common.is_number(min_step)
        and _common.is_number(max_step)
        and min_step > max_step
    ):
        raise ValueError(
            f"{fn}: `step_sizes` must satisfy step_sizes[0] <= step_sizes[1], "
            f"got {step_sizes!r}."
        )
    _common.check_torch_only_flags(
        fn, capturable=capturable, foreach=foreach, differentiable=differentiable
    )

    def init_fn(params):
        count = preset.init_count(params)
        first_lr = preset.lr_at(count)
        return RpropState(
            count=count,
            prev=tm.zeros_like(params),
            step_size=jax.tree.map(
                lambda p: jnp.full_like(p, tm.like(first_lr, p)), params
            ),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args  # Accepted so that the preset composes with any chain.
        # Rprop has no weight decay: the parameters are never read.
        grads, count = preset.start(updates, state.count, state.prev, params)

        # Not `scale_by_rprop`: torch keeps the gradient (0 after a flip) as
        # `prev` where Optax keeps the step, and clips Δ also when g·p = 0.
        def one(g, prev, step_size):
            agreement = jnp.sign(g * prev)
            factor = jnp.where(
                agreement > 0,
                tm.like(eta_plus, g),
                jnp.where(agreement < 0, tm.like(eta_minus, g), jnp.ones_like(g)),
            )
            step_size = jnp.clip(
                step_size * factor, tm.like(min_step, g), tm.like(max_step, g)
            )
            # After a sign flip, stand still once and forget this gradient.
            g = jnp.where(agreement < 0, jnp.zeros_like(g), g)
            return -(jnp.sign(g) * step_size), g, step_size

        out = jax.tree.map(one, grads, state.prev, state.step_size)
        outer = jax.tree.structure(grads)
        inner = jax.tree.structure((0, 0, 0))
        updates, prev, step_size = jax.tree.transpose(outer, inner, out)
        state = RpropState(
            count=count,
            prev=tm.cast_like(prev, state.prev),
            step_size=tm.cast_like(step_size, state.step_size),
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
