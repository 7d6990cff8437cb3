"""Sign SGD and Signum: steps of equal size in every coordinate."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.momentum import ema
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.sign import scale_by_sign


@_checks.entry_point
def sign_sgd(
    learning_rate: optax.ScalarOrSchedule,
) -> optax.GradientTransformationExtraArgs:
    """Sign SGD: θ ← θ − η · sign(g). The maths is in `scale_by_sign`.

    Same signature and state layout as `optax.sign_sgd`.
    Chain: `scale_by_sign()` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid learning rate.
    """
    _checks.check_learning_rate("sign_sgd", "learning_rate", learning_rate)
    return _chain.chain(scale_by_sign(), scale_by_learning_rate(learning_rate))


@_checks.entry_point
def signum(
    learning_rate: optax.ScalarOrSchedule,
    beta: jax.typing.ArrayLike = 0.9,
    accumulator_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Signum: θ ← θ − η · sign(m), m an average of past gradients.

    The sign of an average flips far less often under minibatch noise than
    the sign of one gradient. The average needs no bias correction: dividing
    by 1 − βᵗ does not change a sign. Same signature, defaults and state
    layout as `optax.signum`.

    Chain: `ema(beta, debias=False, accumulator_dtype)` → `scale_by_sign()` →
    `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.

    References:
        Bernstein, Wang, Azizzadenesheli, Anandkumar, "signSGD: Compressed
        Optimisation for Non-Convex Problems", ICML 2018, Algorithm 1
        (Signum).
    """
    _checks.check_learning_rate("signum", "learning_rate", learning_rate)
    _checks.check_interval("signum", "beta", beta, 0.0, 1.0)
    return _chain.chain(
        ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        scale_by_sign(),
        scale_by_learning_rate(learning_rate),
    )
