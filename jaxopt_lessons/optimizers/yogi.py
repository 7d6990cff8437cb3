"""Yogi: Adam with an additive second-moment update."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.yogi import scale_by_yogi


@_checks.entry_point
def yogi(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-3,
) -> optax.GradientTransformationExtraArgs:
    """Yogi: θ ← θ − η · m̂_t / (√v̂_t + ε). The maths is in `scale_by_yogi`.

    Same signature, defaults and state layout as `optax.yogi` (m_0 = v_0 = 1e-6).
    Chain: `scale_by_yogi(b1, b2, eps)` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("yogi", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_yogi(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate)
    )
