"""AdaBelief: Adam scaled by how far the gradient strays from its prediction."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByBeliefState
from jaxopt_lessons.transforms.adam import next_moments_state

__all__ = ["ScaleByBeliefState", "scale_by_belief"]


def init_belief_state(fn: str, params: Any) -> ScaleByBeliefState:
    """Zero moments shaped like `params`, and a step count of 0."""
    _checks.check_float_params(fn, params)
    return ScaleByBeliefState(
        count=jnp.zeros([], jnp.int32),
        mu=tm.zeros_like(params),
        nu=tm.zeros_like(params),
    )


def belief_moments(updates, state: ScaleByBeliefState, b1, b2, eps_root):
    """The new momentum m_t and the spread of g_t around it,
    s_t = b₂ s_{t-1} + (1 − b₂)(g_t − m_t)² + ε_root (not yet bias-corrected)."""
    mu = tm.ema_update(updates, state.mu, b1)
    surprise = jax.tree.map(lambda g, m: g - m, updates, mu)
    nu = tm.ema_update_sq(surprise, state.nu, b2)
    return mu, jax.tree.map(lambda s: s + eps_root, nu)


@elementwise
@_checks.entry_point
def scale_by_belief(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    *,
    nesterov: bool = False,
) -> optax.GradientTransformation:
    """AdaBelief's direction: momentum over the spread of g around that momentum.

    Lesson: Adam divides by the gradient's size; AdaBelief divides by how much
    the gradient disagrees with the momentum m (its "belief"). Where the
    gradient is large but steady, as on the walls of a straight valley, the
    disagreement is small and the step stays large; where it jumps around,
    the step shrinks.

    Update rule (t from 1, m_0 = s_0 = 0)::

        m_t = β₁ · m_{t-1} + (1 − β₁) · g_t
        s_t = β₂ · s_{t-1} + (1 − β₂) · |g_t − m_t|² + ε_root
        m̂_t = m_t / (1 − β₁ᵗ)   (or NAdam's look-ahead form, nesterov=True)
        ŝ_t = s_t / (1 − β₂ᵗ)
        u_t = m̂_t / (√ŝ_t + ε)

    Args:
        b1: β₁, in [0, 1).
        b2: β₂, in [0, 1).
        eps: ε >= 0, outside the root.
        eps_root: ε_root >= 0, added to s_t at every step (and kept there).
        nesterov: use NAdam's look-ahead form of m̂ (see `scale_by_adam`).

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByBeliefState`.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps` or `eps_root`, or
            both 0.
        TypeError: `nesterov` not a bool.

    References:
        Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief
        in Observed Gradients", NeurIPS 2020, Algorithm 2.
    """
    fn = _checks.caller("scale_by_belief")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _checks.check_bool(fn, "nesterov", nesterov)

    def init_fn(params):
        return init_belief_state(fn, params)

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByBeliefState, "mu")
        mu, nu = belief_moments(updates, state, b1, b2, eps_root)
        count = tm.increment(state.count)
        mu_hat = tm.debiased_momentum(mu, updates, b1, count, nesterov=nesterov)
        nu_hat = tm.bias_correction(nu, b2, count)
        updates = jax.tree.map(lambda m, s: m / (jnp.sqrt(s) + eps), mu_hat, nu_hat)
        state = next_moments_state(ScaleByBeliefState, state, count, mu, nu)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)
