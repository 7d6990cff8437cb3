"""Optimistic gradient descent and optimistic Adam, for min-max games."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adam import scale_by_adam
from jaxopt_lessons.transforms.optimistic import scale_by_optimistic_gradient
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def optimistic_gradient_descent(
    learning_rate: optax.ScalarOrSchedule,
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
) -> optax.GradientTransformationExtraArgs:
    """Optimistic GD: θ ← θ − η · ((α + β) g_t − β g_{t-1}).

    The maths is in `scale_by_optimistic_gradient`. Same signature, defaults
    and state layout as `optax.optimistic_gradient_descent`.
    Chain: `scale_by_optimistic_gradient(alpha, beta)` →
    `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate(
        "optimistic_gradient_descent", "learning_rate", learning_rate
    )
    return _chain.chain(
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        scale_by_learning_rate(learning_rate),
    )


@_checks.entry_point
def optimistic_adam_v2(
    learning_rate: optax.ScalarOrSchedule,
    *,
    alpha: jax.typing.ArrayLike = 1.0,
    beta: jax.typing.ArrayLike = 1.0,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-08,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    nesterov: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """Optimistic Adam: the optimistic extrapolation applied to Adam's direction.

    Same signature, defaults and state layout as `optax.optimistic_adam_v2`
    (NAdam's look-ahead on by default).
    Chain: `scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)`
    → `scale_by_optimistic_gradient(alpha, beta)` →
    `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.

    References:
        Daskalakis, Ilyas, Syrgkanis, Zeng, "Training GANs with Optimism",
        ICLR 2018, section 4 (Optimistic Adam).
    """
    _checks.check_learning_rate("optimistic_adam_v2", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_adam(
            b1=b1,
            b2=b2,
            eps=eps,
            eps_root=eps_root,
            mu_dtype=mu_dtype,
            nesterov=nesterov,
        ),
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        scale_by_learning_rate(learning_rate),
    )
