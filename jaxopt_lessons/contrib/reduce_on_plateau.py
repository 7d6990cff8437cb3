"""Reduce on plateau: shrink the updates when the monitored loss stops improving."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import ReduceLROnPlateauState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.grouping.declarations import elementwise

__all__ = ["ReduceLROnPlateauState", "reduce_on_plateau"]


@elementwise
@_checks.entry_point
def reduce_on_plateau(
    factor: float = 0.1,
    patience: int = 10,
    rtol: float = 1e-4,
    atol: float = 0.0,
    cooldown: int = 0,
    accumulation_size: int = 1,
    min_scale: float = 0.0,
) -> optax.GradientTransformationExtraArgs:
    """Multiplies the updates by a scale that drops by `factor` whenever the
    loss has not improved for `patience` evaluations.

    Lesson: a schedule decides in advance when to lower the learning rate;
    this block decides from the loss itself. Chain it after an optimizer,
    and feed it the loss (or a validation loss) as `value=`.

    Rule (f̄ the mean of the last `accumulation_size` values; b the best f̄,
    +∞ at first; n the plateau count, c the cooldown count; s the scale,
    1 at first; all updated once per `accumulation_size` calls)::

        improved = f̄ < b − rtol · |b| − atol
        b        = f̄ if improved
        n        = 0 if improved else n + 1
        if c > 0:         n = 0, c = c − 1
        elif n == patience: s = max(factor · s, min_scale), n = 0, c = cooldown
        u        = s · g   (every call)

    Args:
        factor: the reduction, in (0, 1).
        patience: evaluations without improvement before a reduction (>= 1).
        rtol: relative margin of an improvement, in [0, 1].
        atol: absolute margin (>= 0); `rtol` and `atol` not both 0.
        cooldown: evaluations after a reduction during which no plateau is
            counted (>= 0).
        accumulation_size: calls averaged into one evaluation (>= 1): take
            more than 1 when `value` is a minibatch loss.
        min_scale: the scale never goes below it (>= 0).

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `ReduceLROnPlateauState`; its `update` needs `value=`.

    Raises:
        ValueError: an argument out of range.
        TypeError: an integer argument that is not an integer; `update`
            without `value`.

    Differences from Optax (`optax.contrib.reduce_on_plateau`): Optax's test
    is f̄ < (1 − rtol) · b − atol, whose margin has the wrong sign when b < 0:
    a loss that stays at −1 "improves" at every evaluation and the scale
    never drops (reported upstream, google-deepmind/optax pull request 1767).
    Here the margin is rtol · |b|, so a negative loss (a log-likelihood, an
    ELBO, a negative reward) plateaus as a positive one does; for b >= 0 the
    two tests are the same. The margin is formed as b · (1 − rtol · sign(b)),
    which is exactly Optax's product for b > 0 and stays +∞ at the start.
    """
    fn = _checks.caller("reduce_on_plateau")
    _checks.check_positive(fn, "factor", factor)
    _checks.check_interval(fn, "factor", factor, 0.0, 1.0)
    _adaptive.check_integer(fn, "patience", patience, 1)
    _checks.check_interval(fn, "rtol", rtol, 0.0, 1.0, high_closed=True)
    _checks.check_non_negative(fn, "atol", atol)
    concrete = not any(isinstance(v, jax.core.Tracer) for v in (rtol, atol))
    if concrete and rtol == 0 and atol == 0:
        raise ValueError(
            f"{fn}: `rtol` and `atol` cannot both be 0 (any decrease of the loss, "
            "however small, would reset the plateau count); got rtol=0, atol=0."
        )
    _adaptive.check_integer(fn, "cooldown", cooldown, 0)
    _adaptive.check_integer(fn, "accumulation_size", accumulation_size, 1)
    _checks.check_non_negative(fn, "min_scale", min_scale)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        params = tm.as_arrays(params)
        low = optax.tree.dtype(params, "lowest")
        high = optax.tree.dtype(params, "highest")
        return ReduceLROnPlateauState(
            scale=jnp.asarray(1.0, low),
            best_value=jnp.asarray(jnp.inf, high),
            plateau_count=jnp.asarray(0, jnp.int32),
            cooldown_count=jnp.asarray(0, jnp.int32),
            count=jnp.asarray(0, jnp.int32),
            avg_value=jnp.asarray(0.0, high),
        )

    def evaluate(state):
        best = state.best_value
        threshold = best * (1 - rtol * jnp.sign(best)) - atol
        improved = state.avg_value < threshold
        plateau = jnp.where(improved, 0, tm.increment(state.plateau_count))
        cooling = state.cooldown_count > 0
        reduce = jnp.logical_and(~cooling, plateau == patience)
        scale = jnp.where(
            cooling,
            state.scale,
            jnp.maximum(
                jnp.where(reduce, state.scale * factor, state.scale), min_scale
            ),
        )
        return ReduceLROnPlateauState(
            scale=scale.astype(state.scale.dtype),
            best_value=jnp.where(improved, state.avg_value, best).astype(best.dtype),
            plateau_count=jnp.where(cooling | reduce, 0, plateau).astype(jnp.int32),
            cooldown_count=jnp.where(
                cooling,
                state.cooldown_count - 1,
                jnp.where(reduce, cooldown, 0),
            ).astype(jnp.int32),
            count=jnp.asarray(0, jnp.int32),
            avg_value=jnp.zeros_like(state.avg_value),
        )

    def update_fn(updates, state, params=None, *, value=None, **extra_args):
        del extra_args
        _checks.check_state(fn, state, ReduceLROnPlateauState)
        value = _adaptive.need_value(fn, value)
        updates = tm.as_arrays(updates)
        if params is not None:  # its state holds no tree to check against
            _checks.check_updates_match_params(fn, updates, params)
        count = tm.increment(state.count)
        average = (
            state.count * state.avg_value + value.astype(state.avg_value.dtype)
        ) / count
        state = state._replace(
            avg_value=average.astype(state.avg_value.dtype), count=count
        )
        # Every call computes the evaluation (a few scalar operations) and
        # keeps it only when the accumulation is complete: a select, not a
        # `lax.cond`, which eagerly would compile its branches at every call.
        done = count == accumulation_size
        state = jax.tree.map(
            lambda new, old: jnp.where(done, new, old), evaluate(state), state
        )
        return jax.tree.map(lambda g: state.scale * g, updates), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
