"""Plain SGD and SGD with (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.momentum import trace
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def sgd(
    learning_rate: optax.ScalarOrSchedule,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Stochastic gradient descent, the lesson's baseline: θ ← θ − η · d_t.

    d_t is the gradient itself, or with `momentum` the velocity of `trace`
    (update rule and references there). Same signature, defaults and state
    layout as `optax.sgd`.

    Chain: `trace(momentum, nesterov, accumulator_dtype)` (or identity) →
    `scale_by_learning_rate(learning_rate)`.

    Args:
        learning_rate: η >= 0, or a schedule.
        momentum: β in [0, 1), or None for plain SGD.
        nesterov: use Nesterov momentum (needs `momentum`).
        accumulator_dtype: dtype of the velocity.

    Raises:
        ValueError: an invalid hyperparameter, or `nesterov=True` without momentum.
    """
    _checks.check_learning_rate("sgd", "learning_rate", learning_rate)
    _checks.check_bool("sgd", "nesterov", nesterov)
    _checks.check_dtype("sgd", "accumulator_dtype", accumulator_dtype)
    if momentum is None:
        if nesterov:
            raise ValueError("sgd: `nesterov=True` needs a `momentum` value, got None.")
        direction = optax.identity()
    else:
        # Checked here so that the message names sgd's argument, not trace's.
        _checks.check_interval("sgd", "momentum", momentum, 0.0, 1.0)
        direction = trace(momentum, nesterov, accumulator_dtype)
    return _chain.chain(direction, scale_by_learning_rate(learning_rate))
