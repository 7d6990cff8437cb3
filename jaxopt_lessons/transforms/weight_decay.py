"""Weight decay: pull every parameter towards zero."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm

__all__ = ["AddDecayedWeightsState", "add_decayed_weights"]


class AddDecayedWeightsState(NamedTuple):
    """State of `add_decayed_weights` with a schedule: the step count."""

    count: jax.Array  # int32 scalar


def add_decayed_weights(
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformation:
    """Adds λ times the parameters to the updates.

    Lesson: where it sits in a chain decides what it means. Before a
    preconditioner (Adam's 1/√v) it is an L2 penalty whose pull is rescaled
    with the gradient; after it, the pull is the same for every coordinate
    ("decoupled" weight decay, AdamW).

    Update rule (p_t: the parameters, λ = `weight_decay`)::

        u_t = g_t + λ_t · p_t

    Args:
        weight_decay: λ >= 0, or a schedule of the step count.
        mask: a pytree of bools like the params (or a function of the params
            that returns one); only leaves marked True are decayed, as
            `optax.masked` does. None decays every leaf.

    Returns:
        An `optax.GradientTransformation`; its state is `optax.EmptyState`, or
        an `AddDecayedWeightsState` for a schedule (wrapped by `optax.masked`
        when a mask is given).

    Raises:
        ValueError: negative, NaN or infinite `weight_decay`; `update` called
            without params.
    """
    fn = "add_decayed_weights"
    _checks.check_learning_rate(fn, "weight_decay", weight_decay)
    scheduled = _checks.is_schedule(weight_decay)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        if scheduled:
            return AddDecayedWeightsState(count=jnp.zeros([], jnp.int32))
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError(f"{fn}: `update` needs the current `params`; got None.")
        _checks.check_tree_matches(fn, updates, params)
        if scheduled:
            decay = weight_decay(state.count)
            state = AddDecayedWeightsState(count=tm.increment(state.count))
        else:
            decay = weight_decay
        if isinstance(decay, (int, float)) and decay == 0:
            return updates, state
        return jax.tree.map(lambda g, p: g + decay * p, updates, params), state

    transform = optax.GradientTransformation(init_fn, update_fn)
    if mask is not None:
        return optax.masked(transform, mask)
    return transform
