"""Mechanic: learn the scale of any optimizer's steps while training."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MechanicState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.grouping.declarations import not_elementwise

__all__ = ["MechanicState", "mechanize"]


@not_elementwise(
    "its state holds num_betas scale factors shared by the whole model, a "
    "vector shaped like no parameter"
)
@_checks.entry_point
def mechanize(
    base_optimizer: optax.GradientTransformation,
    weight_decay: jax.typing.ArrayLike = 1e-2,
    eps: jax.typing.ArrayLike = 1e-8,
    s_init: jax.typing.ArrayLike = 1e-6,
    num_betas: int = 6,
) -> optax.GradientTransformationExtraArgs:
    """Wraps an optimizer and learns a scale s for its accumulated steps.

    Lesson: whatever the base optimizer, its learning rate answers "how far
    along my direction?". Mechanic treats that scale as a one-dimensional
    online-learning problem: the parameters are x₀ + s·Δ, Δ the sum of the
    base optimizer's steps, and s is chosen by a coin-betting learner whose
    "gradient" is h = ⟨g, Δ⟩. Bets that pay (h < 0 along Δ) grow the wealth
    and with it s; a learning rate of 1.0 (or a schedule peaking at 1.0) in
    the base optimizer then needs no tuning.

    Update rule (Σ over the num_betas learners, β_i = 1 − 10⁻ⁱ; every vector
    operation below is per learner; ⟨·,·⟩ and ‖·‖ over the whole tree;
    u_base the base optimizer's update at the raw gradient g)::

        x₀ = x at the first step (then kept)
        g̃  = g + λ · Σs · ‖g‖ / (‖x‖ + ε) · x
        Δ  = (x₀ − x) / (Σs + ε)
        h  = ⟨g̃, Δ⟩
        m  = max(β · m, |h| + ε)
        v  = β² · v + h²
        r  = β · r + clip(h, −m_old, m_old) · s
        s  = (s_init / num_betas · m + max(r, 0)) / (√v + ε)
        x' = x₀ − Σs · (Δ − u_base),   u = x' − x

    Args:
        base_optimizer: the optimizer whose steps are scaled (any
            `optax.GradientTransformation`; extra arguments reach it).
        weight_decay: λ >= 0, Mechanic's own decay of the raw gradient
            (not the base optimizer's).
        eps: ε > 0.
        s_init: s at the start (> 0), and the learners' initial wealth.
        num_betas: how many learners, an integer >= 1 (β_i = 1 − 10⁻ⁱ).

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `MechanicState`; its `update` needs the params.

    Raises:
        TypeError: `base_optimizer` not a GradientTransformation;
            `num_betas` not an integer.
        ValueError: an argument out of range; `update` without params.

    References:
        Cutkosky, Defazio, Mehta, "Mechanic: A Learning Rate Tuner",
        NeurIPS 2023, Algorithm 1 (with the clipping of h added by its
        authors in Optax's version); arXiv:2306.00144.
    """
    fn = _checks.caller("mechanize")
    if not isinstance(base_optimizer, optax.GradientTransformation):
        raise TypeError(
            f"{fn}: `base_optimizer` must be an optax.GradientTransformation, "
            f"got {_checks.describe(base_optimizer)}."
        )
    _checks.check_non_negative(fn, "weight_decay", weight_decay)
    _checks.check_positive(fn, "eps", eps)
    _checks.check_positive(fn, "s_init", s_init)
    _adaptive.check_integer(fn, "num_betas", num_betas, 1)
    num_betas = int(num_betas)
    base = optax.with_extra_args_support(base_optimizer)

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        return MechanicState(
            base_optimizer_state=base.init(params),
            count=jnp.zeros([], jnp.int32),
            r=jnp.zeros([num_betas], dtype),
            m=jnp.zeros([num_betas], dtype),
            v=jnp.zeros([num_betas], dtype),
            s=jnp.full([num_betas], s_init, dtype),
            x0=params,
        )

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any):
        updates, params = _adaptive.checked_update(
            fn, updates, state, MechanicState, "x0", params
        )
        base_step, base_state = base.update(
            updates, state.base_optimizer_state, params, **extra_args
        )
        # The params really trained from (a pretrained model may have
        # replaced the initial ones after `init`).
        first = state.count == 0
        x0 = jax.tree.map(lambda p, a: jnp.where(first, p, a), params, state.x0)
        s_sum = jnp.sum(state.s)
        # 1) Mechanic's own weight decay on the raw gradient.
        pull = (
            weight_decay
            * s_sum
            * tm.global_norm(updates)
            / (tm.global_norm(params) + eps)
        )
        grads = jax.tree.map(lambda g, p: g + pull * p, updates, params)
        # 2) Δ, recomputed from where the params are (no extra slot).
        delta_before = jax.tree.map(lambda x, a: (a - x) / (s_sum + eps), params, x0)
        delta = jax.tree.map(lambda d, u: d - u, delta_before, base_step)
        # 3) The learners' bet on the scale.
        h = _adaptive.vdot(grads, delta_before)
        clipped = jax.lax.clamp(-state.m, jnp.ones_like(state.m) * h, state.m)
        betas = jnp.asarray(
            [1.0 - 0.1**i for i in range(1, num_betas + 1)], state.s.dtype
        )
        m = jnp.maximum(betas * state.m, jnp.abs(h) + eps)
        v = betas**2 * state.v + h**2
        r = betas * state.r + clipped * state.s
        wealth = (s_init / num_betas) * m + jnp.maximum(0.0, r)
        s = wealth / (jnp.sqrt(v) + eps)
        # 4) The new params, x₀ + (Σs)·(−Δ), as an update to add.
        new_params = jax.tree.map(lambda a, d: a - jnp.sum(s) * d, x0, delta)
        step = jax.tree.map(lambda new, x: new - x, new_params, params)
        new_state = MechanicState(
            base_optimizer_state=base_state,
            count=tm.increment(state.count),
            r=r.astype(state.r.dtype),
            m=m.astype(state.m.dtype),
            v=v.astype(state.v.dtype),
            s=s.astype(state.s.dtype),
            x0=x0,
        )
        return step, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
