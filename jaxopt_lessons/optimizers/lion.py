"""Lion: sign steps from an interpolated momentum, with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.lion import scale_by_lion
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights


@_checks.entry_point
def lion(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.99,
    mu_dtype: Any | None = None,
    weight_decay: optax.ScalarOrSchedule = 1e-3,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Lion: θ ← θ − η · (sign(β₁ · m + (1 − β₁) · g) + λ · θ).

    The maths is in `scale_by_lion`.

    Every coordinate moves by exactly η per step (plus decay), so Lion's
    learning rate is usually 3-10 times smaller than AdamW's, and its weight
    decay correspondingly larger. Same signature, defaults and state layout
    as `optax.lion`.

    Chain: `scale_by_lion(b1, b2, mu_dtype)` → `add_decayed_weights(weight_decay,
    mask)` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("lion", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_lion(b1=b1, b2=b2, mu_dtype=mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
