"""Polyak SGD: gradient descent with Polyak's step size."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.optimizers.sgd import sgd
from jaxopt_lessons.transforms.polyak import scale_by_polyak


@_checks.entry_point
def polyak_sgd(
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    scaling: optax.ScalarOrSchedule = 1.0,
    f_min: jax.typing.ArrayLike = 0.0,
    eps: jax.typing.ArrayLike = 0.0,
    variant: str = "sps",
) -> optax.GradientTransformationExtraArgs:
    """Polyak SGD: θ ← θ − γ_t · g, γ_t = min((f − f*) / ‖g‖², γ_max).

    Call `update(grads, state, params, value=loss)`. The maths is in
    `scale_by_polyak`. Same signature, defaults and state layout as
    `optax.polyak_sgd`.

    Chain: `sgd(learning_rate=scaling)` → `scale_by_polyak(f_min,
    max_learning_rate, eps, variant)`. As in Optax, the Polyak step is
    computed from the already scaled update s·g, so a scaling s ≠ 1 divides
    the final step by s (and still multiplies γ_max by s).

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("polyak_sgd", "scaling", scaling)
    return _chain.chain(
        sgd(learning_rate=scaling),
        scale_by_polyak(
            max_learning_rate=max_learning_rate, f_min=f_min, eps=eps, variant=variant
        ),
    )
