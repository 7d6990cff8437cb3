"""Diagnostics: record what an optimizer did at every step, inside jit.

`diagnose(inner)` wraps any Optax-compatible transform. Its updates are the
inner transform's updates, unchanged; its state carries the inner state plus
a `StepStats` of numbers about the step just taken:

- ``grad_norm``, ``update_norm``: global L2 norms of g and u over the whole tree;
- ``cosine``: cos(u, −g); 1 for plain SGD, lower when momentum or per-coordinate
  scaling turns the step away from the steepest descent direction;
- ``update_param_rms``: RMS(u) / RMS(θ), the relative size of the step;
- ``step_spread_log10``: log10(max_i r_i / min_i r_i) with r_i = |u_i| / |g_i|,
  the effective learning rate of coordinate i; 0 for SGD (one rate for all),
  about 3 for RMSprop on a 1000:1 bowl;
- ``step_log10_std``: the standard deviation of log10 r_i over coordinates;
- ``zigzag``: the share of coordinates whose update changes sign against the
  previous step's update; 1 for GD bouncing between the walls of a ravine.

Coordinates with g_i = 0 (or u_i = 0) are left out of the step-size spread;
coordinates where either update is 0 are left out of the zig-zag share. A
quantity with no coordinate to measure, or needing the previous step at the
first step, is NaN.

With ``history=n`` the state also keeps the first n steps' numbers as arrays
(`history` field), so a `lax.scan` or a Python loop can read the whole record
from the final state. `run` drives an optimizer on a gradient function with
`lax.scan` and returns the path of parameters and the per-step numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm

__all__ = ["DiagnoseState", "StepStats", "diagnose", "run", "step_stats"]

_TINY = 1e-30


class StepStats(NamedTuple):
    """The numbers recorded for one step (scalars), or for many (arrays)."""

    grad_norm: jax.Array
    update_norm: jax.Array
    cosine: jax.Array
    update_param_rms: jax.Array
    step_spread_log10: jax.Array
    step_log10_std: jax.Array
    zigzag: jax.Array


class DiagnoseState(NamedTuple):
    """State of `diagnose`."""

    inner: optax.OptState  # the wrapped transform's state
    count: jax.Array  # shape=(), int32: steps taken
    previous: optax.Updates  # the last update (zeros before the first step)
    last: StepStats  # the numbers of the last step (NaN before the first)
    history: StepStats | None  # arrays of length `history`, or None


def _flat(tree: Any) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros((0,), jnp.float32)
    return jnp.concatenate([jnp.ravel(x).astype(jnp.float32) for x in leaves])


def _nan_stats(shape=()) -> StepStats:
    nan = jnp.full(shape, jnp.nan, jnp.float32)
    return StepStats(*([nan] * len(StepStats._fields)))


def step_stats(
    grads: Any, updates: Any, params: Any | None = None, previous: Any | None = None
) -> StepStats:
    """The numbers of one step from its gradient, update, params and last update.

    Args:
        grads: g, the gradient the transform received.
        updates: u, what it returned.
        params: θ before the step; None gives a NaN `update_param_rms`.
        previous: the previous step's update; None gives a NaN `zigzag`.

    Returns:
        A `StepStats` of float32 scalars.
    """
    g, u = _flat(grads), _flat(updates)
    g_norm = jnp.sqrt(jnp.sum(g * g))
    u_norm = jnp.sqrt(jnp.sum(u * u))
    denom = g_norm * u_norm
    cosine = jnp.where(denom > 0, -jnp.sum(u * g) / jnp.maximum(denom, _TINY), jnp.nan)
    if params is None:
        ratio = jnp.float32(jnp.nan)
    else:
        p = _flat(params)
        p_rms = jnp.sqrt(jnp.mean(p * p))
        u_rms = jnp.sqrt(jnp.mean(u * u))
        ratio = jnp.where(p_rms > 0, u_rms / jnp.maximum(p_rms, _TINY), jnp.nan)
    # Effective per-coordinate step sizes r_i = |u_i| / |g_i|, compared in log10.
    valid = (jnp.abs(g) > 0) & (jnp.abs(u) > 0)
    log_r = jnp.log10(jnp.abs(u) + (~valid)) - jnp.log10(jnp.abs(g) + (~valid))
    n_valid = jnp.sum(valid)
    has_any = n_valid > 0
    spread = jnp.where(
        has_any,
        jnp.max(jnp.where(valid, log_r, -jnp.inf))
        - jnp.min(jnp.where(valid, log_r, jnp.inf)),
        jnp.nan,
    )
    mean_log = jnp.sum(jnp.where(valid, log_r, 0.0)) / jnp.maximum(n_valid, 1)
    var_log = jnp.sum(jnp.where(valid, (log_r - mean_log) ** 2, 0.0)) / jnp.maximum(
        n_valid, 1
    )
    log_std = jnp.where(has_any, jnp.sqrt(var_log), jnp.nan)
    if previous is None:
        zigzag = jnp.float32(jnp.nan)
    else:
        prev = _flat(previous)
        both = (u != 0) & (prev != 0)
        flips = jnp.sum(both & (jnp.sign(u) != jnp.sign(prev)))
        n_both = jnp.sum(both)
        zigzag = jnp.where(n_both > 0, flips / jnp.maximum(n_both, 1), jnp.nan)
    return StepStats(
        grad_norm=g_norm,
        update_norm=u_norm,
        cosine=cosine.astype(jnp.float32),
        update_param_rms=jnp.asarray(ratio, jnp.float32),
        step_spread_log10=spread.astype(jnp.float32),
        step_log10_std=log_std.astype(jnp.float32),
        zigzag=jnp.asarray(zigzag, jnp.float32),
    )


def diagnose(
    inner: optax.GradientTransformation, history: int | None = None
) -> optax.GradientTransformationExtraArgs:
    """Wraps `inner` so that its state records the numbers of every step.

    The updates are exactly those of `inner` (same arrays, nothing added);
    only the state grows. Extra arguments (``value=`` etc.) are passed on.

    Args:
        inner: any Optax-compatible transform (one of ours, or Optax's).
        history: keep the first `history` steps' numbers in the state, or
            None to keep only the last step's.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is a
        `DiagnoseState`.

    Raises:
        ValueError: `history` is not None or an int >= 1.
        TypeError: `inner` is not a gradient transformation.
    """
    _checks.check_transformation("diagnose", "inner", inner)
    if history is not None and (
        isinstance(history, bool) or not isinstance(history, int) or history < 1
    ):
        raise ValueError(
            f"diagnose: `history` must be None or an int >= 1, got {history!r}."
        )
    inner = optax.with_extra_args_support(inner)

    def init_fn(params):
        return DiagnoseState(
            inner=inner.init(params),
            count=jnp.zeros([], jnp.int32),
            previous=jax.tree.map(jnp.zeros_like, params),
            last=_nan_stats(),
            history=None if history is None else _nan_stats((history,)),
        )

    def update_fn(updates, state, params=None, **extra_args):
        new_updates, inner_state = inner.update(
            updates, state.inner, params, **extra_args
        )
        stats = step_stats(updates, new_updates, params, state.previous)
        stats = stats._replace(
            zigzag=jnp.where(state.count > 0, stats.zigzag, jnp.nan).astype(jnp.float32)
        )
        recorded = state.history
        if recorded is not None:
            recorded = jax.tree.map(
                lambda h, s: h.at[state.count].set(s, mode="drop"), recorded, stats
            )
        previous = jax.tree.map(
            lambda u, p: u.astype(p.dtype), new_updates, state.previous
        )
        new_state = DiagnoseState(
            inner=inner_state,
            count=tm.increment(state.count),
            previous=previous,
            last=stats,
            history=recorded,
        )
        return new_updates, new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def run(
    optimizer: optax.GradientTransformation,
    grad_fn: Callable[..., Any],
    params: Any,
    steps: int,
    *args: Any,
) -> tuple[Any, StepStats]:
    """Takes `steps` steps of `optimizer` on `grad_fn(params, *args)` in one scan.

    Args:
        optimizer: the transform to run (wrapped in `diagnose` here).
        grad_fn: the gradient at the current params; `args` are passed on.
        params: the start.
        steps: how many steps (a Python int).

    Returns:
        (path, stats): the params after each step, stacked along a leading axis
        of length `steps`, and a `StepStats` of arrays of that length.
    """
    wrapped = diagnose(optimizer)

    def step(carry, _):
        x, state = carry
        updates, state = wrapped.update(grad_fn(x, *args), state, x)
        x = optax.apply_updates(x, updates)
        return (x, state), (x, state.last)

    _, (path, stats) = jax.lax.scan(
        step, (params, wrapped.init(params)), None, length=steps
    )
    return path, stats
