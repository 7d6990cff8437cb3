"""Weight decay: pull every parameter towards zero."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import (
    AddDecayedWeightsState,
    WeightDecaySchedule,
)

__all__ = ["AddDecayedWeightsState", "WeightDecaySchedule", "add_decayed_weights"]


@elementwise
@_checks.entry_point
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

    As in Optax, a None in the updates (the whole tree, or a subtree) stands
    for "no update there" and stays None.

    Args:
        weight_decay: λ >= 0, or a schedule of the step count.
        mask: a pytree of bools like the params (or a function of the params
            that returns one); only leaves marked True are decayed, as
            `optax.masked` does. None decays every leaf.

    Returns:
        An `optax.GradientTransformation`; its state is `optax.EmptyState`
        (Optax's `AddDecayedWeightsState`), or Optax's `WeightDecaySchedule`
        (the step count) for a schedule; wrapped by `optax.masked` when a
        mask is given.

    Raises:
        ValueError: negative, NaN or infinite `weight_decay`; `update` called
            without params, or with updates not shaped like the params.
    """
    fn = _checks.caller("add_decayed_weights")
    _checks.check_weight_decay(fn, "weight_decay", weight_decay)

    def add(updates, params, decay):
        if isinstance(decay, (int, float)) and decay == 0:
            return updates
        return tm.add_scaled(updates, params, decay)

    transform = params_term(fn, weight_decay, add)
    if mask is not None:
        return optax.masked(transform, mask)
    return transform


def params_term(
    fn: str,
    value: optax.ScalarOrSchedule,
    add: Callable[[Any, Any, Any], Any],
) -> optax.GradientTransformation:
    """A block that adds a term in the parameters: u ← add(u, θ, c_t).

    c_t is `value`, or `value(count)` for a schedule. The state is Optax's:
    `optax.EmptyState` for a constant, `WeightDecaySchedule` (the step count)
    for a schedule. `update` needs the params and checks the updates against
    them. The mechanics of `add_decayed_weights` and of `fromage`'s shrink
    (`optimizers/trust_ratio.py`).
    """
    scheduled = _checks.is_schedule(value)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        if scheduled:
            return WeightDecaySchedule(count=jnp.zeros([], jnp.int32))
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if scheduled:
            _checks.check_state(fn, state, WeightDecaySchedule)
        else:
            _checks.check_stateless(fn, state)
        _checks.require_params(fn, params)
        _checks.check_updates_match_params(fn, updates, params)
        if scheduled:
            coefficient = value(state.count)
            state = WeightDecaySchedule(count=tm.increment(state.count))
        else:
            coefficient = value
        return add(updates, params, coefficient), state

    return optax.GradientTransformation(init_fn, update_fn)
