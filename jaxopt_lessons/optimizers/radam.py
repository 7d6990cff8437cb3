"""RAdam: Adam with the variance rectification that replaces a warm-up."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.radam import scale_by_radam
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def radam(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """RAdam: θ ← θ − η · r_t · m̂_t / (√v̂_t + ε), or −η · m̂_t early on.

    The maths is in `scale_by_radam`. Same signature, defaults and state
    layout as `optax.radam`.
    Chain: `scale_by_radam(...)` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("radam", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_radam(
            b1=b1,
            b2=b2,
            eps=eps,
            eps_root=eps_root,
            threshold=threshold,
            nesterov=nesterov,
        ),
        scale_by_learning_rate(learning_rate),
    )
