"""Schedule-free learning: averaging the iterates instead of decaying the rate.

A decaying learning-rate schedule needs the training length in advance.
Schedule-free methods run the base optimizer at a constant rate on a
sequence z, keep x, a running (weighted) average of z, and evaluate the
gradient at y, a point between the two. The average does what the schedule's
decay would have done, for any stopping time. The parameters the optimizer
updates are y; evaluate the model at x (`schedule_free_eval_params`).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax.contrib import ScheduleFreeState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.optimizers.sgd import sgd
from jaxopt_lessons.transforms.rms import scale_by_rms
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = [
    "ScheduleFreeState",
    "schedule_free",
    "schedule_free_adamw",
    "schedule_free_eval_params",
    "schedule_free_sgd",
]


def _check_b1(fn: str, b1: Any) -> None:
    """β in (0, 1]: y = β·x + (1 − β)·z is inverted by dividing by β."""
    fn = _checks.caller(fn)
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0, high_closed=True)
    if not isinstance(b1, jax.core.Tracer) and bool(np.any(np.asarray(b1) == 0)):
        raise ValueError(
            f"{fn}: `b1` must lie in (0, 1] (x is recovered from y by dividing "
            f"by it), got {b1!r}."
        )


def schedule_free(
    base_optimizer: optax.GradientTransformation,
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Turns `base_optimizer` into its schedule-free version.

    Lesson: the base optimizer steps z at a constant rate; x averages the
    z's, each weighted by the largest learning rate seen so far to the power
    `weight_lr_power` (so steps taken during warmup count less); the
    gradient is taken at y, which mixes x and z with weight β. With β = 0.9
    this behaves like momentum; x is where the model should be evaluated.

    Update rule (t from 1; y: the params; z_0 = y_0, W_0 = 0;
    `learning_rate` η_t is read at step t when it is a schedule)::

        d_t = base_optimizer's update at (g_t, y_t)
        z_t = z_{t-1} + d_t
        r_t = max(r_{t-1}, η_t),  w_t = r_tᵖ,  W_t = W_{t-1} + w_t,  c_t = w_t / W_t
        x_{t-1} = (y_t − (1 − β) · z_{t-1}) / β
        x_t = (1 − c_t) · x_{t-1} + c_t · z_t
        y_{t+1} = β · x_t + (1 − β) · z_t,     u_t = y_{t+1} − y_t

    Args:
        base_optimizer: the optimizer stepping z (its learning rate should
            be `learning_rate`; it gets the extra arguments of `update`).
        learning_rate: η >= 0, or a schedule of the step count; used for
            the averaging weights only.
        b1: β in (0, 1], the interpolation between x and z.
        weight_lr_power: p >= 0, the power of the learning rate in the
            weights (0: a plain average).
        state_dtype: dtype of z; None keeps each parameter's.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `ScheduleFreeState` (b1, weight_sum, step_count, max_lr,
        base_optimizer_state, z); `step_count` starts at 1, as Optax's.

    Raises:
        TypeError: `base_optimizer` not a gradient transformation.
        ValueError: an invalid hyperparameter; `update` without params.

    Grouping: the wrapper declares nothing, so that `grouped` judges the
    base optimizer's blocks by their own declarations (a declaration here
    would vouch for whatever is wrapped); its own arithmetic is elementwise.

    References:
        Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, "The Road Less
        Scheduled", NeurIPS 2024 (arXiv:2405.15682), Algorithm 1.
    """
    with _checks.reporting_as("schedule_free") as fn:
        if not (hasattr(base_optimizer, "init") and hasattr(base_optimizer, "update")):
            raise TypeError(
                f"{fn}: `base_optimizer` must be an optax.GradientTransformation, "
                f"got {_checks.describe(base_optimizer)}."
            )
        _checks.check_learning_rate(fn, "learning_rate", learning_rate)
        _check_b1(fn, b1)
        _checks.check_non_negative(fn, "weight_lr_power", weight_lr_power)
        state_dtype = _checks.check_dtype(fn, "state_dtype", state_dtype)
    base = optax.with_extra_args_support(base_optimizer)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        params = tm.as_arrays(params)
        # The scalars' dtype: the params' lowest precision, as Optax's.
        dtype = optax.tree.dtype(params, "lowest")
        z = tm.cast(params, state_dtype)
        return ScheduleFreeState(
            b1=jnp.asarray(b1, dtype=dtype),
            weight_sum=jnp.zeros([], dtype=dtype),
            step_count=jnp.ones([], dtype=jnp.int32),
            max_lr=jnp.zeros([], dtype=dtype),
            base_optimizer_state=base.init(params),
            z=jax.tree.map(jnp.array, z),
        )

    def update_fn(updates, state, params=None, **extra_args):
        updates = _checks.checked_updates(fn, updates, state, ScheduleFreeState, "z")
        if params is None:
            raise ValueError(f"{fn}: `update` needs `params` (y_t), got None.")
        params = tm.as_arrays(params)
        # 1) The averaging weight of this step.
        eta = learning_rate
        if _checks.is_schedule(learning_rate):
            eta = jnp.asarray(learning_rate(state.step_count), state.max_lr.dtype)
        max_lr = jnp.maximum(state.max_lr, eta)
        weight = max_lr**weight_lr_power
        weight_sum = state.weight_sum + weight
        # w/W, with 0/0 (no weight yet, e.g. a warmup starting at 0) as 0; a
        # NaN weight stays NaN.
        ratio = jnp.nan_to_num(weight / weight_sum, nan=0.0, posinf=jnp.inf)
        c = jnp.where(jnp.isnan(weight) | jnp.isnan(weight_sum), jnp.nan, ratio)
        # 2) The base optimizer steps z.
        step, base_state = base.update(
            updates, state.base_optimizer_state, params, **extra_args
        )
        z = jax.tree.map(lambda z_, d: (z_ + d).astype(z_.dtype), state.z, step)
        # 3) Average z into x; the new y mixes x and z.
        x_prev = jax.tree.map(lambda y, z_: (y - (1.0 - b1) * z_) / b1, params, state.z)
        x = jax.tree.map(lambda x_, z_: (1.0 - c) * x_ + c * z_, x_prev, z)
        y = jax.tree.map(lambda x_, z_: b1 * x_ + (1.0 - b1) * z_, x, z)
        updates = jax.tree.map(lambda new, old: new - old, y, params)
        state = ScheduleFreeState(
            b1=state.b1,
            weight_sum=weight_sum,
            step_count=tm.increment(state.step_count),
            max_lr=max_lr,
            base_optimizer_state=base_state,
            z=z,
        )
        return updates, state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def schedule_free_eval_params(state: Any, params: Any) -> Any:
    """x, the averaged point at which to evaluate a schedule-free model.

    From y = β·x + (1 − β)·z: x = (y − (1 − β)·z) / β, with β and z read
    from a `ScheduleFreeState` (found inside a chain or `inject_hyperparams`
    state too, as Optax's attribute lookup does for a direct state).

    β is read from the state, stored in the params' lowest precision as in
    Optax: with bfloat16 params 0.9 is held as 0.8984, so x can differ from
    the exact average by a few bfloat16 ulps (the update itself uses the
    exact β).

    Raises:
        ValueError: `state` holds no `ScheduleFreeState`.
    """
    found = _find_schedule_free_state(state)
    if found is None:
        raise ValueError(
            "schedule_free_eval_params: `state` must be (or contain) the "
            f"ScheduleFreeState of a schedule-free optimizer, got "
            f"{_checks.describe(state)}."
        )
    b1, z = found.b1, found.z
    return jax.tree.map(lambda y, z_: (y - (1.0 - b1) * z_) / b1, params, z)


def _find_schedule_free_state(state: Any) -> ScheduleFreeState | None:
    if isinstance(state, ScheduleFreeState):
        return state
    if isinstance(state, (tuple, list)):
        for item in state:
            found = _find_schedule_free_state(item)
            if found is not None:
                return found
    inner = getattr(state, "inner_state", None)  # inject_hyperparams
    return None if inner is None else _find_schedule_free_state(inner)


def _check_warmup(fn: str, warmup_steps: Any) -> None:
    if warmup_steps is None:
        return
    if isinstance(warmup_steps, bool) or not isinstance(
        warmup_steps, (int, jnp.integer)
    ):
        raise TypeError(
            f"{fn}: `warmup_steps` must be None or an int, got {warmup_steps!r} "
            f"of type {type(warmup_steps).__name__}."
        )
    if warmup_steps < 1:
        raise ValueError(f"{fn}: `warmup_steps` must be >= 1, got {warmup_steps!r}.")


def _rates(fn: str, learning_rate: Any, warmup_steps: Any) -> tuple[Any, Any]:
    """(rate for the averaging weights at step_count t, rate for z's step).

    With a warmup, both are η·min(t, W)/W at step t (from 1): the base
    optimizer counts its steps from 0, so its schedule is shifted by one
    to read the same step as the weights.
    """
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _check_warmup(fn, warmup_steps)
    if warmup_steps is None:
        return learning_rate, learning_rate

    def warmup(count):
        # Optax's warmup_constant_schedule, in the precision of η (Optax's
        # divides the int32 count in float32, even with float64 enabled); a
        # schedule η is multiplied by the ramp.
        eta = (
            learning_rate(count)
            if _checks.is_schedule(learning_rate)
            else (learning_rate)
        )
        return eta * jnp.minimum(count, warmup_steps) / warmup_steps

    return warmup, lambda count: warmup(count + 1)


@_checks.entry_point
def schedule_free_sgd(
    learning_rate: jax.typing.ArrayLike = 1.0,
    warmup_steps: int | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    weight_decay: jax.typing.ArrayLike | None = None,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Schedule-free SGD: `schedule_free` around `sgd(learning_rate)`.

    z_t = z_{t-1} − η_t · (g_t + λ · y_t); the rest as `schedule_free`.
    `warmup_steps` W ramps η linearly, η_t = η · min(t, W) / W for t from 1
    (a schedule η is multiplied by the ramp; `schedule_free_adamw` alike).

    Same signature, defaults and state layout as
    `optax.contrib.schedule_free_sgd`.

    Difference from Optax 0.2.8 (only with `warmup_steps`): Optax reads the
    warmup at step t for the averaging weights but at t − 1 for z's step,
    so its first step does not move z at all and every later one lags by a
    step. Here both read step t, as the authors' code does (`SGDScheduleFree`
    in the `schedulefree` package: its step k from 0 uses η·(k+1)/W for both).

    Raises:
        ValueError: an invalid hyperparameter.
        TypeError: `warmup_steps` not None or an int.
    """
    fn = _checks.caller("schedule_free_sgd")
    weights_rate, step_rate = _rates(fn, learning_rate, warmup_steps)
    optimizer = sgd(step_rate)
    if weight_decay is not None:
        optimizer = _chain.chain(add_decayed_weights(weight_decay), optimizer)
    return schedule_free(optimizer, weights_rate, b1, weight_lr_power, state_dtype)


@_checks.entry_point
def schedule_free_adamw(
    learning_rate: jax.typing.ArrayLike = 0.0025,
    warmup_steps: int | None = None,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0.0,
    weight_lr_power: jax.typing.ArrayLike = 2.0,
    state_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Schedule-free AdamW: `schedule_free` around RMSprop with weight decay.

    z_t = z_{t-1} − η_t · (g_t / (√(v_t / (1 − β₂ᵗ)) + ε) + λ · y_t), with
    v_t = β₂ · v_{t-1} + (1 − β₂) · g_t²; momentum comes from the averaging
    (`b1` is schedule-free's β, not Adam's β₁). Chain inside:
    `scale_by_rms(b2, eps, eps_in_sqrt=False, bias_correction=True)` →
    `add_decayed_weights(weight_decay)` → `scale_by_learning_rate`.

    Same signature, defaults and state layout as
    `optax.contrib.schedule_free_adamw`.

    Difference from Optax 0.2.8 (only with `warmup_steps`): as
    `schedule_free_sgd`, z's step reads the warmup at the same step as the
    averaging weights, as `AdamWScheduleFree` in the authors' `schedulefree`
    package does.

    Raises:
        ValueError: an invalid hyperparameter.
        TypeError: `warmup_steps` not None or an int.
    """
    fn = _checks.caller("schedule_free_adamw")
    weights_rate, step_rate = _rates(fn, learning_rate, warmup_steps)
    # Named here: inside `scale_by_rms` they are `decay` and `eps`.
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)
    optimizer = _chain.chain(
        scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
        add_decayed_weights(weight_decay),
        scale_by_learning_rate(step_rate),
    )
    return schedule_free(optimizer, weights_rate, b1, weight_lr_power, state_dtype)
