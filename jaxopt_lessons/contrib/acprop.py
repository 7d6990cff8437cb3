"""ACProp: AdaBelief's centred scale, applied one step late.

AdaBelief divides by the spread of g around its momentum; ACProp keeps that
"centred" second moment but, like ADOPT, divides the step-t gradient by the
spread measured up to step t − 1, so that the gradient cannot shrink its own
step (the "asynchronous" update of Zhuang et al.).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms._states import ScaleByBeliefState
from jaxopt_lessons.transforms.adam import next_moments_state
from jaxopt_lessons.transforms.belief import belief_moments, init_belief_state
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["ScaleByBeliefState", "acprop", "scale_by_acprop"]


@elementwise
@_checks.entry_point
def scale_by_acprop(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
) -> optax.GradientTransformation:
    """ACProp's direction: the gradient over the centred scale of the past.

    Lesson: the step of g_t is decided before g_t is seen. The scale is the
    spread of the gradients around their momentum (AdaBelief's "belief"),
    taken up to the previous step; the first step, with no past, divides by 1.

    Update rule (t from 1, m_0 = s_0 = 0)::

        m_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        s_t = β₂ · s_{t-1} + (1 − β₂) · |g_t − m_t|² + ε_root
        u_t = g_t / (√(s_{t-1} / (1 − β₂ᵗ⁻¹)) + ε)      (t >= 2)
        u_1 = g_1 / (1 + ε)

    Args:
        b1: β₁, the momentum decay, in [0, 1).
        b2: β₂, the spread's decay, in [0, 1).
        eps: ε >= 0, outside the square root.
        eps_root: ε_root >= 0, added to s at every step (not both 0).

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByBeliefState`
        (m in `mu`, s in `nu`), as Optax's.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps` or `eps_root`, or
            both 0.

    Difference from Optax 0.2.8: Optax centres g_t on the previous momentum
    m_{t-1}; here it is centred on m_t, as the method's update rule (and
    Optax's own docstring) states and as AdaBelief does: this is Optax pull
    request #1716. The two differ from the second step on.

    References:
        Zhuang, Ding, Tang, Dvornek, Tatikonda, Duncan, "Momentum Centering
        and Asynchronous Update for Adaptive Gradient Methods", NeurIPS 2021
        (arXiv:2110.05454), Algorithm 2.
    """
    fn = _checks.caller("scale_by_acprop")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)

    def init_fn(params):
        return init_belief_state(fn, params)

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByBeliefState, "mu")
        # 1) The new momentum, and the spread of g_t around it.
        mu, nu = belief_moments(updates, state, b1, b2, eps_root)
        # 2) The scale of the past: s_{t-1}, bias-corrected with t − 1 (1 on
        #    the first step, where there is no past).
        first = state.count == 0
        past = tm.bias_correction(state.nu, b2, jnp.where(first, 1, state.count))
        past = jax.tree.map(lambda s: jnp.where(first, 1, s), past)
        updates = jax.tree.map(lambda g, s: g / (jnp.sqrt(s) + eps), updates, past)
        state = next_moments_state(
            ScaleByBeliefState, state, tm.increment(state.count), mu, nu
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def acprop(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """ACProp: θ ← θ − η · (u_t + λ · θ), u_t from `scale_by_acprop`.

    Same signature, defaults and state layout as `optax.contrib.acprop`
    (centred on m_t; see `scale_by_acprop`). Chain: `scale_by_acprop` →
    `add_decayed_weights(weight_decay, mask)` → `scale_by_learning_rate`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    fn = _checks.caller("acprop")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_acprop(b1, b2, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
