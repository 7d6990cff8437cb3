"""AdaBelief: Adam that trusts a steady gradient more than a large one."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.belief import scale_by_belief
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def adabelief(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-16,
    eps_root: jax.typing.ArrayLike = 1e-16,
    *,
    nesterov: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """AdaBelief: θ ← θ − η · m̂_t / (√ŝ_t + ε). The maths is in `scale_by_belief`.

    Same signature, defaults and state layout as `optax.adabelief`.
    Chain: `scale_by_belief(...)` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("adabelief", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_belief(b1=b1, b2=b2, eps=eps, eps_root=eps_root, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )
