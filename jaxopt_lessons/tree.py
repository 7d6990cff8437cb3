"""Tree maths shared by the update rules: moments, bias correction, casts.

Each function maps one small formula over every leaf of a pytree. The formulas
are the ones written in the transforms' docstrings; keeping them here means
that `scale_by_adam`, `scale_by_rms`, `ema` and the torch presets
(`jaxopt_lessons.torch`) all average the same way.

`torch_rounding` chooses how a formula rounds; the formula is the same.
False (the transforms, as Optax): JAX's promotion, so an array coefficient
wider than a leaf widens that leaf's result. True (the torch presets, as
torch computes): each coefficient is rounded to the dtype of the leaf it
multiplies, every term stays in its own leaf's dtype, and the terms are added
in torch's order. The order is part of the arithmetic: under `jax.jit`, XLA
on CPU fuses a·b + c·d into a fused multiply-add whose rounding depends on
which product comes first (measured: for random float64 a, b, c, d, a third
of the elements of a·b + c·d and c·d + a·b differ). For Python-number
coefficients, leaves of one dtype and no jit the two give the same bits.
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import jax
import jax.numpy as jnp

__all__ = [
    "abs_sq",
    "adam_ratio",
    "add_scaled",
    "as_arrays",
    "bias_correction",
    "cast",
    "cast_like",
    "coefficient",
    "debiased_momentum",
    "ema_update",
    "ema_update_sq",
    "full_like",
    "global_norm",
    "increment",
    "like",
    "max_abs_update",
    "reject_complex",
    "safe_norm",
    "safe_rms",
    "sum_of_squares",
    "sum_update_sq",
    "trace_update",
    "zeros_like",
]


def abs_sq(x: jax.Array) -> jax.Array:
    """|x|², real-valued for complex x (x̄·x), x² for real x."""
    if jnp.iscomplexobj(x):
        return (jnp.conj(x) * x).real
    return x * x


def as_arrays(tree: Any) -> Any:
    """The tree with Python and NumPy scalars (and NumPy arrays) as JAX arrays.

    Gradients and parameters may hold Python floats (Optax accepts them); the
    rules read each leaf's `dtype` and `shape`. JAX arrays, tracers included,
    are passed through untouched, so this costs nothing for ordinary trees.
    """
    return jax.tree.map(
        lambda x: x if isinstance(x, jax.Array) else jnp.asarray(x), tree
    )


def ema_update(grads: Any, moments: Any, decay: Any) -> Any:
    """First moment: m ← (1 − β)·g + β·m, leaf by leaf."""
    return jax.tree.map(lambda g, m: (1 - decay) * g + decay * m, grads, moments)


def like(scalar: Any, leaf: jax.Array) -> jax.Array:
    """A scalar coefficient in the leaf's dtype, so it never promotes the leaf."""
    return jnp.asarray(scalar).astype(leaf.dtype)


def coefficient(value: Any, leaf: jax.Array, torch_rounding: bool) -> Any:
    """A coefficient as it enters a leaf's formula (`torch_rounding`: see above)."""
    return like(value, leaf) if torch_rounding else value


def ema_update_sq(
    grads: Any, moments: Any, decay: Any, *, torch_rounding: bool = False
) -> Any:
    """Second moment: v ← (1 − β)·|g|² + β·v, leaf by leaf.

    |g|² is taken in the moment's precision when that is wider than the
    gradient's, so a float32 `nu` fed float16 gradients cannot overflow at
    |g| > 256 before the average is even formed. With `torch_rounding`, as
    torch's ``v.mul_(β).addcmul_(g, g, value=1 − β)``: g·g in the gradient's
    dtype, and β·v first.
    """

    def one(g, v):
        if torch_rounding:
            return like(decay, v) * v + like(1 - decay, g) * abs_sq(g)
        g = g.astype(jnp.promote_types(g.dtype, v.dtype))
        return (1 - decay) * abs_sq(g) + decay * v

    return jax.tree.map(one, grads, moments)


def sum_update_sq(grads: Any, sums: Any) -> Any:
    """Adagrad's accumulator: s ← s + |g|², leaf by leaf."""
    return jax.tree.map(lambda g, s: abs_sq(g) + s, grads, sums)


def trace_update(
    grads: Any, trace: Any, decay: Any, *, torch_rounding: bool = False
) -> Any:
    """Heavy-ball momentum: m ← g + β·m, leaf by leaf (also Nesterov's g + β·m_t).

    With `torch_rounding`, β·m comes first, as in torch's ``b.mul_(μ).add_(g)``.
    """

    def one(g, m):
        if torch_rounding:
            return like(decay, m) * m + g
        return g + decay * m

    return jax.tree.map(one, grads, trace)


def max_abs_update(
    grads: Any, moments: Any, decay: Any, eps: Any, *, torch_rounding: bool = False
) -> Any:
    """Adamax's scale, a decaying maximum: n ← max(|g| + ε, β·n), leaf by leaf."""

    def one(g, n):
        return jnp.maximum(
            jnp.abs(g) + coefficient(eps, g, torch_rounding),
            coefficient(decay, n, torch_rounding) * n,
        )

    return jax.tree.map(one, grads, moments)


def add_scaled(
    tree: Any, other: Any, scale: Any, *, torch_rounding: bool = False
) -> Any:
    """tree + λ·other, leaf by leaf (weight decay: g + λ·θ).

    A None in `tree` (no update for that subtree, as in Optax) stays None.
    With `torch_rounding`, λ is rounded to the dtype of `tree`'s leaf.
    """
    return jax.tree.map(
        lambda x, y: (
            None if x is None else x + coefficient(scale, x, torch_rounding) * y
        ),
        tree,
        other,
        is_leaf=_is_none,
    )


def _is_none(x: Any) -> bool:
    return x is None


@functools.partial(jax.jit, inline=True)
def bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    """Divides each leaf by 1 − βᵗ, which undoes the pull towards m₀ = 0.

    βᵗ is formed in the precision of β and t, then cast to each leaf's dtype
    (a bfloat16 βᵗ rounds to 1 for small t and would divide by zero). The
    function is compiled even when called eagerly, so eager and jitted runs
    raise β to the power t the same way (eagerly, JAX would use repeated
    multiplication for a concrete integer t, which rounds differently).
    """
    correction = 1 - decay**count
    return jax.tree.map(lambda m: m / correction.astype(m.dtype), moment)


def debiased_momentum(
    mu: Any, grads: Any, decay: Any, count: jax.Array, *, nesterov: bool = False
) -> Any:
    """Adam's m̂: m_t / (1 − βᵗ), or with `nesterov` NAdam's look-ahead
    β · m_t / (1 − βᵗ⁺¹) + (1 − β) · g_t / (1 − βᵗ). `count` is t."""
    if not nesterov:
        return bias_correction(mu, decay, count)
    return jax.tree.map(
        lambda m, g: decay * m + (1 - decay) * g,
        bias_correction(mu, decay, increment(count)),
        bias_correction(grads, decay, count),
    )


def adam_ratio(mu_hat: Any, nu_hat: Any, eps: Any, eps_root: Any) -> Any:
    """Adam's direction over scale: m̂ / (√(v̂ + ε_root) + ε), leaf by leaf."""
    return jax.tree.map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)


def increment(count: jax.Array) -> jax.Array:
    """count + 1, saturating at the dtype's maximum instead of wrapping around."""
    top = jnp.iinfo(count.dtype).max
    return jnp.where(count < top, count + 1, top).astype(count.dtype)


def zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros shaped (and sharded) like each leaf; works on `jax.ShapeDtypeStruct`."""
    return jax.tree.map(lambda p: jnp.zeros_like(p, dtype=dtype), tree)


def full_like(tree: Any, value: Any, dtype: Any = None) -> Any:
    """`value` everywhere, shaped like each leaf."""
    return jax.tree.map(lambda p: jnp.full_like(p, value, dtype=dtype), tree)


def cast(tree: Any, dtype: Any) -> Any:
    """Casts every leaf to `dtype`; `None` leaves the tree as it is."""
    if dtype is None:
        return tree
    return jax.tree.map(lambda x: x.astype(dtype), tree)


def cast_like(tree: Any, reference: Any) -> Any:
    """Casts each leaf to the dtype of the matching leaf of `reference`.

    Used to store a new state in the dtype the state was created with, so the
    state's types never drift between steps (no recompilation, no surprises
    under `lax.scan` or `lax.cond`).
    """
    return jax.tree.map(lambda x, r: x.astype(r.dtype), tree, reference)


def sum_of_squares(tree: Any) -> jax.Array:
    """Σ |x|² over every entry of every leaf: one real scalar for the whole tree.

    The leaves' sums are added in the tree's leaf order, as `optax.tree.norm`
    does, so float32 results agree to the last bit or two.
    """
    sums = [jnp.sum(abs_sq(leaf)) for leaf in jax.tree.leaves(tree)]
    return jnp.asarray(functools.reduce(operator.add, sums, 0))


def global_norm(tree: Any) -> jax.Array:
    """‖tree‖₂: the Euclidean norm of all leaves taken together as one vector."""
    return jnp.sqrt(sum_of_squares(tree))


def safe_norm(x: jax.Array, min_norm: Any) -> jax.Array:
    """max(‖x‖₂, min_norm) for one array, with a finite derivative at x = 0.

    The norm's derivative x/‖x‖ is 0/0 at x = 0, and `jnp.maximum` would still
    differentiate that branch. Replacing x by ones where the floor wins keeps
    the unused branch finite, which matters when one differentiates through
    an update (meta-learning).
    """
    norm = jnp.linalg.norm(x, keepdims=True)
    floored = norm <= min_norm
    x = jnp.where(floored, jnp.ones_like(x), x)
    norm = jnp.squeeze(norm)
    return jnp.where(norm <= min_norm, min_norm, jnp.linalg.norm(x))


def safe_rms(x: jax.Array, min_rms: Any) -> jax.Array:
    """max(√mean|x|², min_rms) for one array, with a finite derivative at x = 0."""
    rms = jnp.sqrt(jnp.mean(abs_sq(x)))
    x = jnp.where(rms <= min_rms, jnp.ones_like(x), x)
    return jnp.where(rms <= min_rms, min_rms, jnp.sqrt(jnp.mean(abs_sq(x))))


def reject_complex(fn: str, params: Any) -> None:
    """Raises TypeError when a rule that compares magnitudes meets complex leaves."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.complexfloating):
            raise TypeError(
                f"{fn}: complex parameters are not supported, but "
                f"params{jax.tree_util.keystr(path)} has dtype {jnp.dtype(dtype).name}."
            )
