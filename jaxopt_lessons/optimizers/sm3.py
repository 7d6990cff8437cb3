"""SM3: memory-light Adagrad with momentum."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.scaling import scale
from jaxopt_lessons.transforms.sm3 import scale_by_sm3


@_checks.entry_point
def sm3(
    learning_rate: jax.typing.ArrayLike,
    momentum: jax.typing.ArrayLike = 0.9,
) -> optax.GradientTransformationExtraArgs:
    """SM3: θ ← θ − η · m_t. The maths is in `scale_by_sm3`.

    Same signature, defaults and state layout as `optax.sm3`: the learning
    rate is a number (no schedules) and `momentum` is the block's `b1`.
    Chain: `scale_by_sm3(momentum)` → `scale(-learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
        TypeError: a schedule as `learning_rate`.
    """
    if _checks.is_schedule(learning_rate):
        raise TypeError(
            "sm3: `learning_rate` must be a number or an array (Optax's sm3 takes "
            f"no schedules), got {learning_rate!r}."
        )
    _checks.check_learning_rate("sm3", "learning_rate", learning_rate)
    _checks.check_interval("sm3", "momentum", momentum, 0.0, 1.0)
    if _checks.is_integer_array(learning_rate):
        # −1 times an unsigned integer would wrap around (or overflow).
        learning_rate = jnp.asarray(learning_rate, jnp.result_type(float))
    return _chain.chain(scale_by_sm3(momentum), scale(-learning_rate))
