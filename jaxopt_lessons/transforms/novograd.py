"""NovoGrad: momentum of gradients normalised layer by layer."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import ScaleByNovogradState

__all__ = ["ScaleByNovogradState", "scale_by_novograd"]


@not_elementwise(
    "its second moment is one number per leaf, the norm of that leaf's gradient"
)
@_checks.entry_point
def scale_by_novograd(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.25,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
) -> optax.GradientTransformation:
    """NovoGrad's direction: momentum of each layer's gradient over its norm.

    Lesson: Adam keeps one second moment per weight; NovoGrad keeps one per
    layer (the running mean of ‖g‖²), which costs almost no memory and makes
    the step of each layer independent of its gradient's scale, as LARS and
    LAMB do. Normalising before the momentum (not after, as Adam does) keeps
    one huge gradient from dominating the momentum for many steps.

    Update rule (per leaf, t from 1, λ = `weight_decay`, θ: its parameters)::

        v_1 = ‖g_1‖²,   v_t = β₂ · v_{t-1} + (1 − β₂) · ‖g_t‖²
        d_t = g_t / (√(v_t + ε_root) + ε) + λ · θ
        m_1 = d_1,      m_t = β₁ · m_{t-1} + d_t
        u_t = m_t

    Args:
        b1: β₁, in [0, 1).
        b2: β₂, in [0, 1).
        eps: ε >= 0, outside the root.
        eps_root: ε_root >= 0, inside the root.
        weight_decay: λ >= 0 (a number: schedules are not taken).
        mu_dtype: dtype of m; None keeps each parameter's dtype.

    Returns:
        An `optax.GradientTransformation` whose state is a
        `ScaleByNovogradState`; its `update` needs the params.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps`, `eps_root` or
            `weight_decay`; `eps` and `eps_root` both 0; `update` without
            params.
        TypeError: a non-numeric `weight_decay` (such as a schedule).

    References:
        Ginsburg et al., "Stochastic Gradient Methods with Layer-wise Adaptive
        Moments for Training of Deep Networks", arXiv:1905.11286, 2019,
        Algorithm 1.
    """
    fn = _checks.caller("scale_by_novograd")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _checks.check_non_negative(fn, "weight_decay", weight_decay)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        params = tm.as_arrays(params)
        return ScaleByNovogradState(
            count=jnp.zeros([], jnp.int32),
            mu=tm.zeros_like(params, mu_dtype),
            nu=jax.tree.map(lambda p: jnp.zeros([], p.dtype), params),
        )

    def update_fn(updates, state, params=None):
        _checks.check_state(fn, state, ScaleByNovogradState)
        _checks.require_params(fn, params)
        updates, params = tm.as_arrays(updates), tm.as_arrays(params)
        _checks.check_tree_matches(fn, updates, state.mu)
        _checks.check_updates_match_params(fn, updates, params)
        count = tm.increment(state.count)
        first = count == 1

        def layer_moment(g, v):
            g_sq = jnp.linalg.norm(g) ** 2
            return jnp.where(first, g_sq.astype(v.dtype), (1 - b2) * g_sq + b2 * v)

        nu = jax.tree.map(layer_moment, updates, state.nu)

        def momentum(g, p, m, v):
            d = g / (jnp.sqrt(v + eps_root) + eps) + weight_decay * p
            return jnp.where(first, d, b1 * m + d)

        mu = jax.tree.map(momentum, updates, params, state.mu, nu)
        mu = tm.cast(mu, mu_dtype)
        return mu, ScaleByNovogradState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init_fn, update_fn)
