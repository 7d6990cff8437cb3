"""Adafactor's preconditioner: a second moment stored as row and column averages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import FactoredState

__all__ = [
    "FactoredState",
    "decay_rate_pow",
    "scale_by_factored_rms",
    "scale_by_param_block_rms",
]


def decay_rate_pow(step: jax.Array, exponent: jax.typing.ArrayLike = 0.8) -> jax.Array:
    """Adafactor's rising decay: β̂₂(t) = 1 − (t + 1)^(−exponent), t from 0.

    At t = 0 it is 0 (v is just g²); it then approaches 1, so the average
    covers more and more of the past. Computed in float32, as in Optax.
    """
    t = jnp.array(step + 1, jnp.float32)
    return 1.0 - t ** (-exponent)


def _factored_dims(shape, factored, min_dim_size_to_factor):
    """(d_col, d_row): the two largest axes, or None if the leaf is not factored.

    The row statistics average over d_row (the largest axis), the column
    statistics over d_col (the second largest).
    """
    if not factored or len(shape) < 2:
        return None
    order = np.argsort(shape)
    if shape[order[-2]] < min_dim_size_to_factor:
        return None
    return int(order[-2]), int(order[-1])


def _without_axis(x, axis):
    """Zeros shaped (and sharded) like `x` summed over `axis`."""
    return jnp.zeros_like(jax.eval_shape(lambda y: jnp.sum(y, axis=axis), x))


@not_elementwise(
    "it keeps row and column statistics of each matrix (factored second moments) and clips by each leaf's RMS"
)
@_checks.entry_point
def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: jax.typing.ArrayLike = 0.8,
    step_offset: jax.typing.ArrayLike = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: jax.typing.ArrayLike = 1e-30,
    decay_rate_fn: Callable[[Any, Any], Any] = decay_rate_pow,
) -> optax.GradientTransformation:
    """Divides by √v̂, with v̂ of a matrix rebuilt from its row and column means.

    Lesson: RMSprop and Adam store one second moment per weight, doubling or
    tripling a model's memory. For an n×m matrix Adafactor keeps only the
    n row means and m column means of g² and rebuilds each entry as
    row · column / (mean of all), the best rank-one fit in the sense of the
    paper; the memory falls from n·m to n + m while each coordinate still
    gets its own step size.

    Update rule (per leaf, t from 0 = `count` − `step_offset`,
    β̂ = decay_rate_fn(t, decay_rate), G = |g|² + ε₁)::

        factored (two axes of size >= min_dim_size_to_factor; R: the largest
        axis, C: the second largest):
            r_t = β̂ · r_{t-1} + (1 − β̂) · mean_R(G)      (v_row)
            c_t = β̂ · c_{t-1} + (1 − β̂) · mean_C(G)      (v_col)
            u_t = g / √(r_t / mean(r_t)) / √c_t           (broadcast back)
        otherwise:
            v_t = β̂ · v_{t-1} + (1 − β̂) · G
            u_t = g / √v_t

    Args:
        factored: factor the second moment of matrices (False: keep it whole).
        decay_rate: the exponent passed to `decay_rate_fn`, >= 0.
        step_offset: subtracted from the step count (fine-tuning restarts the
            decay schedule), >= 0.
        min_dim_size_to_factor: a Python int >= 0; leaves whose second-largest
            axis is shorter are not factored.
        epsilon: ε₁ > 0, added to |g|² (so a zero gradient divides by √ε₁,
            not by 0).
        decay_rate_fn: (t, decay_rate) -> β̂; default `decay_rate_pow`.

    Returns:
        An `optax.GradientTransformation` whose state is a `FactoredState`;
        its `update` needs the params.

    Raises:
        ValueError: a negative `decay_rate`, `step_offset` or
            `min_dim_size_to_factor`; `epsilon` not positive; `update` without
            params.
        TypeError: `factored` not a bool; `min_dim_size_to_factor` not an
            int; `decay_rate_fn` not callable.

    References:
        Shazeer and Stern, "Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost", ICML 2018, Algorithms 4 and 5.
    """
    fn = _checks.caller("scale_by_factored_rms")
    _checks.check_bool(fn, "factored", factored)
    _checks.check_non_negative(fn, "decay_rate", decay_rate)
    _checks.check_non_negative(fn, "step_offset", step_offset)
    if not isinstance(min_dim_size_to_factor, (int, np.integer)) or isinstance(
        min_dim_size_to_factor, bool
    ):
        raise TypeError(
            f"{fn}: `min_dim_size_to_factor` must be a Python int, got "
            f"{min_dim_size_to_factor!r}. It decides the state's shapes; under "
            "optax.inject_hyperparams, list it in `static_args`."
        )
    _checks.check_non_negative(fn, "min_dim_size_to_factor", min_dim_size_to_factor)
    _checks.check_positive(fn, "epsilon", epsilon)
    if not callable(decay_rate_fn):
        raise TypeError(
            f"{fn}: `decay_rate_fn` must be callable, got {decay_rate_fn!r}."
        )

    def placeholder(p):
        return jnp.zeros((1,), p.dtype)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        params = tm.as_arrays(params)

        def one(p):
            dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
            if dims is None:
                return _Leaf(None, placeholder(p), placeholder(p), jnp.zeros_like(p))
            d_col, d_row = dims
            return _Leaf(
                None, _without_axis(p, d_row), _without_axis(p, d_col), placeholder(p)
            )

        return _split(jnp.zeros([], jnp.int32), jax.tree.map(one, params))

    def update_fn(updates, state, params=None):
        _checks.check_state(fn, state, FactoredState)
        _checks.require_params(fn, params)
        updates, params = tm.as_arrays(updates), tm.as_arrays(params)
        # `state.v` holds one leaf per param (a placeholder where factored).
        _checks.check_tree_matches(fn, updates, state.v, shapes=False)
        _checks.check_tree_matches(fn, updates, params)
        _check_state_shapes(fn, init_fn, updates, state)
        decay = decay_rate_fn(state.count - step_offset, decay_rate)

        def one(g, v_row, v_col, v, p):
            dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
            g_sq = tm.abs_sq(g) + epsilon
            if dims is None:
                v = (decay * v + (1.0 - decay) * g_sq).astype(p.dtype)
                return _Leaf(g * v**-0.5, placeholder(p), placeholder(p), v)
            d_col, d_row = dims
            v_row = decay * v_row + (1.0 - decay) * jnp.mean(g_sq, axis=d_row)
            v_col = decay * v_col + (1.0 - decay) * jnp.mean(g_sq, axis=d_col)
            v_row, v_col = v_row.astype(p.dtype), v_col.astype(p.dtype)
            # v_row lost axis d_row, so d_col has moved down by one if it came after.
            col_axis_in_row = d_col - 1 if d_col > d_row else d_col
            row_scale = v_row / jnp.mean(v_row, axis=col_axis_in_row, keepdims=True)
            u = (
                g
                * jnp.expand_dims(row_scale**-0.5, axis=d_row)
                * jnp.expand_dims(v_col**-0.5, axis=d_col)
            )
            return _Leaf(u, v_row, v_col, placeholder(p))

        out = jax.tree.map(one, updates, state.v_row, state.v_col, state.v, params)
        updates = jax.tree.map(lambda leaf: leaf.update, out)
        return updates, _split(tm.increment(state.count), out)

    return optax.GradientTransformation(init_fn, update_fn)


def _check_state_shapes(fn, init_fn, updates, state):
    """Raises unless `state` has the shapes `init` would give for `updates`.

    The moments are not shaped like the params, so each leaf's state is
    compared with the state its update's shape calls for (trace time only).
    """
    expected = jax.eval_shape(init_fn, updates)
    names = ("v_row", "v_col", "v")
    for (path, g), *pairs in zip(
        _checks._paths(updates),
        *[
            zip(
                jax.tree.leaves(getattr(expected, n)),
                jax.tree.leaves(getattr(state, n)),
            )
            for n in names
        ],
    ):
        if any(jnp.shape(want) != jnp.shape(got) for want, got in pairs):
            held = ", ".join(
                f"{n} {jnp.shape(got)}" for n, (_, got) in zip(names, pairs)
            )
            raise ValueError(
                f"{fn}: the update at {path or 'the root'} has shape "
                f"{jnp.shape(g)}, but the optimizer state there ({held}) was built "
                "by `init` for a parameter of another shape."
            )


class _Leaf:
    """One leaf's results. Not a pytree node, so `jax.tree.map` stops at it."""

    def __init__(self, update, v_row, v_col, v):
        self.update, self.v_row, self.v_col, self.v = update, v_row, v_col, v


def _split(count, leaves):
    """A tree of `_Leaf`s -> a FactoredState of three trees."""
    return FactoredState(
        count=count,
        v_row=jax.tree.map(lambda leaf: leaf.v_row, leaves),
        v_col=jax.tree.map(lambda leaf: leaf.v_col, leaves),
        v=jax.tree.map(lambda leaf: leaf.v, leaves),
    )


@not_elementwise(
    "it scales each leaf by the root mean square of that leaf's parameters"
)
@_checks.entry_point
def scale_by_param_block_rms(
    min_scale: jax.typing.ArrayLike = 1e-3,
) -> optax.GradientTransformation:
    """Multiplies each leaf's update by the RMS of that leaf's parameters.

    Lesson: Adafactor's steps are relative: a weight matrix whose entries are
    around 0.05 moves by about 0.05·η per step, so one learning rate suits
    layers of any scale. The floor keeps freshly zeroed leaves moving.

    Update rule (per leaf p)::

        u ← u · max(√mean(|p|²), min_scale)

    Args:
        min_scale: the floor, >= 0.

    Returns:
        A stateless `optax.GradientTransformation`; its `update` needs params.

    Raises:
        ValueError: a negative, NaN or infinite `min_scale`; `update` without
            params.

    References:
        Shazeer and Stern, "Adafactor: Adaptive Learning Rates with Sublinear
        Memory Cost", ICML 2018, section 8 (relative step size).
    """
    fn = _checks.caller("scale_by_param_block_rms")
    _checks.check_non_negative(fn, "min_scale", min_scale)

    def update_fn(updates, state, params=None):
        updates, params = _checks.checked_stateless(
            fn, updates, state, params, needs_params=True
        )
        updates = jax.tree.map(
            lambda u, p: u * tm.safe_rms(p, min_scale), updates, params
        )
        return updates, state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
