"""Scaling: turn a direction into a step by multiplying it by a step size."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByScheduleState

__all__ = [
    "ScaleByScheduleState",
    "scale",
    "scale_by_learning_rate",
    "scale_by_schedule",
]


@elementwise
@_checks.entry_point
def scale(step_size: jax.typing.ArrayLike) -> optax.GradientTransformation:
    """Multiplies every update by a constant: u_t = s · g_t.

    Args:
        step_size: s, any finite real number (negative flips the direction).

    Returns:
        A stateless `optax.GradientTransformation` (state `optax.EmptyState`).

    Raises:
        ValueError: `step_size` is NaN or infinite.
        TypeError: `step_size` is not a real number.
    """
    fn = _checks.caller("scale")
    _checks.check_interval(fn, "step_size", step_size, -float("inf"), float("inf"))

    def update_fn(updates, state, params=None):
        updates, _ = _checks.checked_stateless(fn, updates, state, params)
        return jax.tree.map(lambda g: step_size * g, updates), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)


@elementwise
@_checks.entry_point
def scale_by_schedule(step_size_fn: _checks.Schedule) -> optax.GradientTransformation:
    """Multiplies the updates by a step size that depends on the step count.

    Update rule (t counts from 0)::

        u_t = s(t) · g_t

    Args:
        step_size_fn: s, a function from the step count to a step size; any
            Optax schedule.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByScheduleState`.

    Raises:
        TypeError: `step_size_fn` is not callable.
    """
    fn = _checks.caller("scale_by_schedule")
    if not callable(step_size_fn):
        raise TypeError(f"{fn}: `step_size_fn` must be callable, got {step_size_fn!r}.")

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None):
        _checks.check_state(fn, state, ScaleByScheduleState)
        updates = tm.as_arrays(updates)
        _checks.check_updates_match_params(fn, updates, params)
        step_size = step_size_fn(state.count)
        updates = jax.tree.map(lambda g: jnp.asarray(step_size, g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=tm.increment(state.count))

    return optax.GradientTransformation(init_fn, update_fn)


@elementwise
@_checks.entry_point
def scale_by_learning_rate(
    learning_rate: optax.ScalarOrSchedule | None = None,
    *,
    flip_sign: bool = True,
) -> optax.GradientTransformation:
    """The last link of every optimizer: u_t = −η_t · d_t.

    Lesson: this is all plain SGD does. Everything else in an optimizer only
    shapes the direction d_t that this step then follows downhill.

    Args:
        learning_rate: η, a number or array >= 0, or a schedule (step -> η).
            None gives the identity (the direction is used as it is).
        flip_sign: multiply by −η (descent) rather than +η.

    Returns:
        `scale(∓η)` for a number, `scale_by_schedule` for a schedule, or
        `optax.identity()` for None.

    Raises:
        ValueError: a negative, NaN or infinite learning rate.
        TypeError: `learning_rate` of the wrong type; `flip_sign` not a bool.
    """
    fn = _checks.caller("scale_by_learning_rate")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate, allow_none=True)
    _checks.check_bool(fn, "flip_sign", flip_sign)
    if learning_rate is None:
        return optax.identity()
    sign = -1 if flip_sign else 1
    if _checks.is_integer_array(learning_rate):
        # −1 times an unsigned integer would wrap around (or overflow).
        learning_rate = jnp.asarray(learning_rate, jnp.result_type(float))
    if _checks.is_schedule(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)
