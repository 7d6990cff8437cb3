"""COCOB-Backprop: no learning rate, a bet on each coordinate instead.

Coin betting turns optimisation into a game: on each coordinate, a bettor
starts with a little money (ε), and each step bets a fraction of its wealth
(initial money plus winnings) on the sign of the negative gradient. The
parameter is the start x₀ plus the current bet, so a coordinate whose
gradients keep one sign moves further and further, and one whose gradients
flip stays near x₀. Nothing needs tuning but a bound on how fast the bet may
grow (α).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import COCOBState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["COCOBState", "cocob", "scale_by_cocob"]


@elementwise
@_checks.entry_point
def scale_by_cocob(
    alpha: jax.typing.ArrayLike = 100.0, eps: jax.typing.ArrayLike = 1e-8
) -> optax.GradientTransformation:
    """COCOB-Backprop's step: to x₀ plus a bet sized by past wins.

    Lesson: the step size comes from the gradients themselves: the bet is
    the negated sum of gradients, θ_t, scaled by wealth over the total of
    |g| seen. α caps how fast the bet can grow early on, while G_t is small.

    Update rule (per coordinate; L_0 = ε, G_0 = R_0 = θ_0 = 0, x₀ the params
    at `init`, x_t the params at step t)::

        L_t = max(L_{t-1}, |g_t|)                    largest |g| seen
        G_t = G_{t-1} + |g_t|                        sum of |g|
        R_t = max(R_{t-1} − g_t · (x_t − x₀), 0)      reward (winnings)
        θ_t = θ_{t-1} − g_t                          negated sum of g
        x_{t+1} = x₀ + θ_t / (L_t · max(G_t + L_t, α · L_t)) · (L_t + R_t)
        u_t = x_{t+1} − x_t

    Args:
        alpha: α >= 0, the bound on the early growth of the bet (100 in the
            paper).
        eps: ε > 0, the initial L (the bettor's starting money).

    Returns:
        An `optax.GradientTransformation` whose state is Optax's `COCOBState`
        (init_particles = x₀, cumulative_gradients = θ, scale = L,
        subgradients = G, reward = R).

    Raises:
        ValueError: negative `alpha`, `eps` not positive, `update` without
            params.
        TypeError: complex parameters (the bet is on a sign).

    References:
        Orabona and Tommasi, "Training Deep Networks without Learning Rates
        Through Coin Betting", NeurIPS 2017 (arXiv:1705.07795), Algorithm 2.
    """
    fn = _checks.caller("scale_by_cocob")
    _checks.check_non_negative(fn, "alpha", alpha)
    _checks.check_positive(fn, "eps", eps)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        tm.reject_complex(fn, params)
        params = tm.as_arrays(params)
        zeros = tm.zeros_like(params)
        return COCOBState(
            init_particles=jax.tree.map(jnp.array, params),
            cumulative_gradients=zeros,
            scale=tm.full_like(params, eps),
            subgradients=zeros,
            reward=zeros,
        )

    def update_fn(updates, state, params=None):
        updates = _checks.checked_updates(fn, updates, state, COCOBState, "scale")
        if params is None:
            raise ValueError(f"{fn}: `update` needs `params` (x_t), got None.")
        params = tm.as_arrays(params)
        x0 = state.init_particles
        # 1) Bookkeeping of the game: bounds, totals, winnings, the bet.
        scale = jax.tree.map(
            lambda L, g: jnp.maximum(L, jnp.abs(g)), state.scale, updates
        )
        total = jax.tree.map(lambda G, g: G + jnp.abs(g), state.subgradients, updates)
        reward = jax.tree.map(
            lambda R, g, x, x0_: jnp.maximum(R - g * (x - x0_), 0),
            state.reward,
            updates,
            params,
            x0,
        )
        theta = jax.tree.map(lambda c, g: c - g, state.cumulative_gradients, updates)

        # 2) The new point: x₀ plus a fraction of the wealth L + R.
        def new_point(x0_, c, L, G, R):
            return x0_ + c / (L * jnp.maximum(G + L, alpha * L)) * (L + R)

        target = jax.tree.map(new_point, x0, theta, scale, total, reward)
        updates = jax.tree.map(lambda x_new, x: x_new - x, target, params)
        state = COCOBState(
            init_particles=x0,
            cumulative_gradients=theta,
            scale=scale,
            subgradients=total,
            reward=reward,
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def cocob(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    alpha: jax.typing.ArrayLike = 100.0,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """COCOB-Backprop: `scale_by_cocob` on η · (g + λ · θ).

    Same signature, defaults and state layout as `optax.contrib.cocob`.
    Chain: `add_decayed_weights(weight_decay, mask)` →
    `scale_by_learning_rate(learning_rate, flip_sign=False)` (η multiplies
    the gradient, it is not a step size; the default 1 leaves it as it is)
    → `scale_by_cocob(alpha, eps)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    fn = _checks.caller("cocob")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate, flip_sign=False),
        scale_by_cocob(alpha, eps),
    )
