"""Momentum: smooth the direction by averaging past gradients.

Two ways to keep a running direction. `trace` sums past gradients with
geometrically decaying weights (Polyak's heavy ball, PyTorch's SGD momentum);
`ema` averages them, so its output stays on the gradient's scale.
"""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import EmaState, TraceState

__all__ = ["EmaState", "TraceState", "ema", "trace"]


@elementwise
@_checks.entry_point
def trace(
    decay: jax.typing.ArrayLike,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> optax.GradientTransformation:
    """Heavy-ball momentum: replace each gradient by a decaying sum of past ones.

    Lesson: in a ravine the gradient points mostly across the valley, flipping
    sign from one wall to the other, and only a little along the floor. In the
    running sum the flipping parts cancel while the steady part adds up, so the
    path stops zig-zagging and speeds up along the floor: for a constant
    gradient the step grows to 1 / (1 − β) times plain SGD's.

    Update rule (g_t: incoming update, β = `decay`, m_0 = 0)::

        m_t = β · m_{t-1} + g_t
        u_t = m_t                  (nesterov=False)
        u_t = g_t + β · m_t        (nesterov=True, the look-ahead form)

    Args:
        decay: β, the momentum coefficient, in [0, 1).
        nesterov: use the Nesterov look-ahead form.
        accumulator_dtype: dtype of m; None keeps each parameter's dtype.

    Returns:
        An `optax.GradientTransformation` whose state is a `TraceState`.

    Raises:
        ValueError: `decay` outside [0, 1); a non-float `accumulator_dtype`.
        TypeError: `nesterov` not a bool.

    Differences from Optax: the new velocity is stored in the state's own
    dtype, so the state's types never change between steps.

    References:
        Polyak, "Some methods of speeding up the convergence of iteration
        methods", USSR Comput. Math. Math. Phys. 4(5), 1964.
        Sutskever, Martens, Dahl, Hinton, "On the importance of initialization
        and momentum in deep learning", ICML 2013 (the Nesterov form, eq. 3-4).
    """
    fn = _checks.caller("trace")
    _checks.check_interval(fn, "decay", decay, 0.0, 1.0)
    _checks.check_bool(fn, "nesterov", nesterov)
    accumulator_dtype = _checks.check_dtype(fn, "accumulator_dtype", accumulator_dtype)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return TraceState(trace=tm.zeros_like(params, accumulator_dtype))

    def update_fn(updates, state, params=None):
        del params  # Momentum never looks at the parameters.
        updates = _checks.checked_updates(fn, updates, state, TraceState, "trace")
        velocity = tm.trace_update(updates, state.trace, decay)
        if nesterov:
            updates = tm.trace_update(updates, velocity, decay)
        else:
            updates = velocity
        return updates, TraceState(trace=tm.cast_like(velocity, state.trace))

    return optax.GradientTransformation(init_fn, update_fn)


@elementwise
@_checks.entry_point
def ema(
    decay: jax.typing.ArrayLike,
    debias: bool = True,
    accumulator_dtype: Any | None = None,
) -> optax.GradientTransformation:
    """Exponential moving average of the updates: a smoothed gradient.

    Lesson: averaging the last ~1 / (1 − β) minibatch gradients cancels much of
    their noise while keeping the direction they agree on. Unlike `trace`, the
    average stays on the gradient's scale, so the learning rate keeps its
    meaning; this is Adam's first moment.

    Update rule (g_t: incoming update, β = `decay`, e_0 = 0, t from 1)::

        e_t = β · e_{t-1} + (1 − β) · g_t
        u_t = e_t / (1 − βᵗ)       (debias=True)
        u_t = e_t                  (debias=False)

    Args:
        decay: β, in [0, 1).
        debias: divide by 1 − βᵗ, which removes the pull towards e_0 = 0.
        accumulator_dtype: dtype of e; None keeps each parameter's dtype.

    Returns:
        An `optax.GradientTransformation` whose state is an `EmaState`.

    Raises:
        ValueError: `decay` outside [0, 1); a non-float `accumulator_dtype`.
        TypeError: `debias` not a bool.

    References:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
        section 3 (initialization bias correction).
    """
    fn = _checks.caller("ema")
    _checks.check_interval(fn, "decay", decay, 0.0, 1.0)
    _checks.check_bool(fn, "debias", debias)
    accumulator_dtype = _checks.check_dtype(fn, "accumulator_dtype", accumulator_dtype)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return EmaState(
            count=jax.numpy.zeros([], jax.numpy.int32),
            ema=tm.zeros_like(params, accumulator_dtype),
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, EmaState, "ema")
        average = tm.ema_update(updates, state.ema, decay)
        count = tm.increment(state.count)
        updates = tm.bias_correction(average, decay, count) if debias else average
        return updates, EmaState(count=count, ema=tm.cast_like(average, state.ema))

    return optax.GradientTransformation(init_fn, update_fn)
