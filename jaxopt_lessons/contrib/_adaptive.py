"""What the adaptive-step methods share: sums over the whole tree, the
direction of descent, the scalar state's dtype, and their argument checks.

Prodigy, D-Adaptation, DoG, DoWG, Mechanic and MoMo each estimate one step
size for the whole model from inner products and norms taken over every
coordinate of every leaf. The leaves' partial sums are added in the tree's
leaf order, as Optax's `optax.tree` functions do, so float32 results agree
with Optax's to the last bit or two (a sum of products may still round
differently: see the tests' tolerances).
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm

__all__ = [
    "check_betas",
    "check_integer",
    "checked_init",
    "checked_update",
    "descent",
    "lowest_dtype",
    "need_params",
    "need_value",
    "rate_at",
    "safe_ratio",
    "sum_abs",
    "vdot",
]


def _add_leaves(values: list[jax.Array]) -> jax.Array:
    return jnp.asarray(functools.reduce(operator.add, values, 0))


def vdot(a: Any, b: Any) -> jax.Array:
    """⟨a, b⟩ = Σ ā·b over every entry of every leaf.

    Each leaf's sum is a contraction over all its axes at the highest matmul
    precision (XLA's dot, which Optax's `tree.vdot` also uses, so the sums
    agree with Optax's to the bit; an elementwise product summed by
    `jnp.sum` would round differently).
    """
    return _add_leaves(
        [
            jnp.tensordot(
                jnp.conj(x) if jnp.iscomplexobj(x) else x,
                y,
                jnp.ndim(x),
                precision=jax.lax.Precision.HIGHEST,
            )
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))
        ]
    )


def sum_abs(tree: Any) -> jax.Array:
    """‖tree‖₁ = Σ |x| over every entry of every leaf."""
    return _add_leaves([jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(tree)])


def safe_ratio(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """numerator / denominator, and 0 where the denominator is 0 (no evidence
    yet: an estimate of the step size stays where it was)."""
    zero = denominator == 0
    return jnp.where(zero, 0.0, numerator / jnp.where(zero, 1.0, denominator)).astype(
        jnp.result_type(numerator, denominator)
    )


def lowest_dtype(params: Any) -> Any:
    """The least precise floating dtype among the leaves: the dtype of the
    scalar state (step-size estimates), as in Optax, so that a step size
    never widens a low-precision parameter's update."""
    return optax.tree.dtype(params, "lowest")


def need_params(fn: str, params: Any) -> Any:
    """The params as arrays; a clear error when `update` was not given them."""
    if params is None:
        raise ValueError(f"{fn}: `update` needs the current `params`; got None.")
    return tm.as_arrays(params)


def checked_init(fn: str, params: Any) -> tuple[Any, Any]:
    """The start of every `init` here: float params only, as arrays, and the
    dtype of the scalar state (`lowest_dtype`). Returns (params, dtype)."""
    _checks.check_float_params(fn, params)
    params = tm.as_arrays(params)
    return params, lowest_dtype(params)


def checked_update(
    fn: str, updates: Any, state: Any, state_class: type, field: str, params: Any
) -> tuple[Any, Any]:
    """The start of an `update` that needs the params, in this order: the
    state and the updates against its `field` (`_checks.checked_updates`),
    the params given (`need_params`), the updates against the params.
    Returns (updates, params), both as arrays."""
    updates = _checks.checked_updates(fn, updates, state, state_class, field)
    params = need_params(fn, params)
    _checks.check_updates_match_params(fn, updates, params)
    return updates, params


def rate_at(learning_rate: Any, count: jax.Array) -> Any:
    """The learning rate of the step after `count` steps: a schedule is
    called with the count, a number is returned as it is."""
    return learning_rate(count) if callable(learning_rate) else learning_rate


def need_value(fn: str, value: Any) -> jax.Array:
    """The loss passed as `value=`; a clear error when it is missing."""
    if value is None:
        raise TypeError(
            f"{fn}: `update` needs the current loss as the keyword `value=` "
            "(use jax.value_and_grad)."
        )
    return jnp.asarray(value)


def descent(
    tx: optax.GradientTransformation,
) -> optax.GradientTransformationExtraArgs:
    """`tx` with its updates negated, and its state unchanged.

    The `scale_by_*` blocks here return the step to subtract (as
    `scale_by_adam` does); the optimizer of the same name returns the update
    to add, with the very same state, so that it stays interchangeable with
    Optax's (a chain with `scale(-1)` would add a link to the state).
    """
    tx = optax.with_extra_args_support(tx)

    def update_fn(updates, state, params=None, **extra_args):
        step, state = tx.update(updates, state, params, **extra_args)
        return jax.tree.map(jnp.negative, step), state

    return optax.GradientTransformationExtraArgs(tx.init, update_fn)


def check_betas(fn: str, name: str, betas: Any) -> tuple[Any, Any]:
    """A pair (β₁, β₂) of decays in [0, 1); returns it as a tuple."""
    fn = _checks.caller(fn)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{fn}: `{name}` must be a pair (beta1, beta2), got {betas!r}.")
    _checks.check_interval(fn, f"{name}[0]", betas[0], 0.0, 1.0)
    _checks.check_interval(fn, f"{name}[1]", betas[1], 0.0, 1.0)
    return betas[0], betas[1]


def check_integer(fn: str, name: str, value: Any, low: int) -> None:
    """A Python or NumPy integer (not a bool) >= `low`; skipped for tracers
    (`optax.inject_hyperparams` passes its hyperparameters as arrays)."""
    fn = _checks.caller(fn)
    if isinstance(value, jax.core.Tracer):
        return
    if isinstance(value, (bool, np.bool_)) or not (
        isinstance(value, (int, np.integer))
        or (_checks.is_integer_array(value) and np.ndim(value) == 0)
    ):
        raise TypeError(
            f"{fn}: `{name}` must be an integer, got {value!r} "
            f"of type {type(value).__name__}."
        )
    if int(value) < low:
        raise ValueError(f"{fn}: `{name}` must be >= {low}, got {value!r}.")
