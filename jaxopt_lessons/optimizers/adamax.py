"""Adamax and Adamax with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adam import scale_by_adamax
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights


@_checks.entry_point
def adamax(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformationExtraArgs:
    """Adamax: θ ← θ − η · m̂_t / n_t. The maths is in `scale_by_adamax`.

    Same signature, defaults and state layout as `optax.adamax`.
    Chain: `scale_by_adamax(b1, b2, eps)` → `scale_by_learning_rate`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("adamax", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_adamax(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate)
    )


@_checks.entry_point
def adamaxw(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 1e-4,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Adamax with decoupled weight decay: θ ← θ − η · (m̂_t / n_t + λ · θ).

    Same signature, defaults and state layout as `optax.adamaxw`.
    Chain: `scale_by_adamax` → `add_decayed_weights(weight_decay, mask)` →
    `scale_by_learning_rate`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("adamaxw", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_adamax(b1=b1, b2=b2, eps=eps),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
