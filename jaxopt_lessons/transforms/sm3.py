"""SM3: an Adagrad-like scale stored with one accumulator per row and column."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import ScaleBySM3State

__all__ = ["ScaleBySM3State", "scale_by_sm3"]


def _axis_vector(x, axis):
    """Zeros shaped (and sharded) like `x` reduced over every axis but `axis`."""
    others = tuple(i for i in range(x.ndim) if i != axis)
    if not others:  # a vector's only cover is shaped like the vector itself
        return jnp.zeros_like(x)
    return jnp.zeros_like(jax.eval_shape(lambda y: jnp.sum(y, axis=others), x))


@not_elementwise(
    "its accumulators cover each array's rows and columns (per-axis statistics)"
)
@_checks.entry_point
def scale_by_sm3(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformation:
    """SM3's direction: g / √ν with ν bounded through per-axis accumulators.

    Lesson: Adagrad's per-weight sum of g² costs as much memory as the model.
    SM3 keeps one accumulator per row and per column of a matrix (a "cover"
    of the entries); each entry's sum is bounded by the smallest accumulator
    that covers it, and each accumulator keeps the largest sum it covers. For
    weights whose gradients share row and column structure (embeddings,
    attention) the bound is tight and the memory falls from n·m to n + m.

    Update rule (per leaf; a_i: the accumulator of axis i, broadcast back;
    for vectors and scalars the single accumulator is the full ν)::

        ν_t = c · g_t² + β₂ · min_i a_i      (c = 1 if β₂ = 1, else 1 − β₂)
        a_i ← max of ν_t over every axis but i
        d_t = g_t / √(ν_t + ε)  where ν_t > 0, else 0
        m_t = β₁ · m_{t-1} + (1 − β₁) · d_t
        u_t = m_t

    Args:
        b1: β₁, the momentum of the scaled update, in [0, 1).
        b2: β₂, the decay of the accumulators, in [0, 1] (1: Adagrad's sum).
        eps: ε >= 0, inside the root.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleBySM3State`.

    Raises:
        ValueError: `b1` outside [0, 1); `b2` outside [0, 1]; negative `eps`.
        TypeError: complex parameters (the maximum of complex numbers is not
            defined).

    Differences from Optax: 0-d leaves keep one accumulator of shape ();
    Optax 0.2.8 raises IndexError on them.

    References:
        Anil, Gupta, Koren, Singer, "Memory-Efficient Adaptive Optimization",
        NeurIPS 2019, Algorithm SM3-II.
    """
    fn = _checks.caller("scale_by_sm3")
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0, high_closed=True)
    _checks.check_non_negative(fn, "eps", eps)
    if isinstance(b2, jax.core.Tracer):
        new_weight = jnp.where(b2 == 1.0, 1.0, 1.0 - b2)
    else:
        new_weight = 1.0 if b2 == 1.0 else 1.0 - b2

    def init_fn(params):
        _checks.check_float_params(fn, params)
        tm.reject_complex(fn, params)
        params = tm.as_arrays(params)

        def covers(p):
            if p.ndim == 0:
                return [jnp.zeros_like(p)]
            return [_axis_vector(p, i) for i in range(p.ndim)]

        return ScaleBySM3State(
            mu=jax.tree.map(covers, params), nu=tm.zeros_like(params)
        )

    def bound(g, accumulators):
        """min over the covers of each entry, broadcast to g's shape."""
        if g.ndim < 2:
            return accumulators[0]
        shaped = [
            jnp.reshape(a, [1] * i + [g.shape[i]] + [1] * (g.ndim - i - 1))
            for i, a in enumerate(accumulators)
        ]
        return functools.reduce(jnp.minimum, shaped)

    def new_covers(nu):
        if nu.ndim < 2:
            return [nu]
        return [
            jnp.max(nu, axis=[j for j in range(nu.ndim) if j != i])
            for i in range(nu.ndim)
        ]

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleBySM3State, "nu")
        # The accumulators' lists sit below each leaf of `updates`.
        nu = jax.tree.map(
            lambda g, a: new_weight * g**2 + b2 * bound(g, a), updates, state.mu
        )
        scaled = jax.tree.map(
            lambda g, v: g * jnp.where(v > 0, jax.lax.rsqrt(v + eps), 0.0), updates, nu
        )
        momentum = tm.ema_update(scaled, state.nu, b1)
        mu = jax.tree.map(new_covers, nu)
        return momentum, ScaleBySM3State(mu=mu, nu=tm.cast_like(momentum, state.nu))

    return optax.GradientTransformation(init_fn, update_fn)
