"""Rprop: sign steps whose size grows while the sign holds and shrinks when it flips."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByRpropState

__all__ = ["ScaleByRpropState", "scale_by_rprop"]


@elementwise
@_checks.entry_point
def scale_by_rprop(
    learning_rate: jax.typing.ArrayLike,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
) -> optax.GradientTransformation:
    """Rprop's step: the sign of the gradient times a per-coordinate step size.

    Lesson: Rprop throws the gradient's size away and learns each
    coordinate's step size from the signs alone: while the sign holds, the
    step grows by η₊ (we are still going downhill); when it flips, the last
    step jumped over a minimum, so the step shrinks by η₋ and this step is
    skipped. Uneven scales cannot stall it, but minibatch noise flips signs
    at random, so it is a full-batch method.

    Update rule (g_t: incoming update, p_0 = 0, Δ_0 = `learning_rate`)::

        s = g_t · p_{t-1}
        Δ_t = clip(η₊ · Δ_{t-1}, Δ_min, Δ_max)   if s > 0
        Δ_t = clip(η₋ · Δ_{t-1}, Δ_min, Δ_max)   if s < 0
        Δ_t = Δ_{t-1}                            if s = 0
        u_t = p_t = 0 where s < 0, else Δ_t · sign(g_t)

    The result is the step to subtract: `rprop` chains it with `scale(-1)`.

    Args:
        learning_rate: Δ_0 >= 0, the initial step size (a number or an array
            broadcastable to every leaf; not a schedule).
        eta_minus: η₋, the shrink factor, in [0, 1).
        eta_plus: η₊ >= 1, the growth factor.
        min_step_size: Δ_min >= 0.
        max_step_size: Δ_max >= Δ_min.

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByRpropState`.

    Raises:
        ValueError: an argument out of its range; `max_step_size` below
            `min_step_size`.
        TypeError: a schedule as `learning_rate`; complex parameters.

    Differences from Optax: `optax.scale_by_rprop` (0.2.8) stores the same
    state but returns p_{t-1}, the step computed on the previous call (its
    first update is 0, and each step uses the sign of the gradient before).
    Here u_t = p_t, as in Riedmiller and Braun and in `torch.optim.Rprop`;
    `tests/transforms/test_rprop.py` pins both. Differences from PyTorch:
    when s = 0, torch clips Δ as well, which matters only for an initial Δ_0
    outside [Δ_min, Δ_max].

    References:
        Riedmiller and Braun, "A Direct Adaptive Method for Faster
        Backpropagation Learning: The RPROP Algorithm", IEEE International
        Conference on Neural Networks, 1993 (the variant without
        backtracking, often called Rprop−).
    """
    fn = _checks.caller("scale_by_rprop")
    if _checks.is_schedule(learning_rate):
        raise TypeError(
            f"{fn}: `learning_rate` is the initial step size and must be a number "
            f"or an array, got the schedule {learning_rate!r}."
        )
    _checks.check_non_negative(fn, "learning_rate", learning_rate)
    _checks.check_interval(fn, "eta_minus", eta_minus, 0.0, 1.0)
    _checks.check_interval(fn, "eta_plus", eta_plus, 1.0, float("inf"))
    _checks.check_non_negative(fn, "min_step_size", min_step_size)
    _checks.check_non_negative(fn, "max_step_size", max_step_size)
    traced = any(isinstance(v, jax.core.Tracer) for v in (min_step_size, max_step_size))
    if not traced and np.any(np.asarray(max_step_size) < np.asarray(min_step_size)):
        raise ValueError(
            f"{fn}: `max_step_size` must be >= `min_step_size`, got "
            f"max_step_size={max_step_size!r} < min_step_size={min_step_size!r}."
        )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        tm.reject_complex(fn, params)
        return ScaleByRpropState(
            step_sizes=tm.full_like(params, learning_rate),
            prev_updates=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByRpropState, "step_sizes"
        )
        # s > 0: same sign as the last step; s < 0: it flipped; s = 0: no step.
        agreement = jax.tree.map(lambda g, p: g * p, updates, state.prev_updates)

        def new_size(s, size):
            factor = jnp.where(s > 0, eta_plus, eta_minus)
            resized = jnp.clip(size * factor, min=min_step_size, max=max_step_size)
            return jnp.where(s == 0, size, resized)

        step_sizes = jax.tree.map(new_size, agreement, state.step_sizes)
        # After a flip the coordinate waits one step (its gradient counts as 0).
        steps = jax.tree.map(
            lambda s, g, size: jnp.where(s < 0, jnp.zeros_like(g), size * jnp.sign(g)),
            agreement,
            updates,
            step_sizes,
        )
        return steps, ScaleByRpropState(step_sizes=step_sizes, prev_updates=steps)

    return optax.GradientTransformation(init_fn, update_fn)
