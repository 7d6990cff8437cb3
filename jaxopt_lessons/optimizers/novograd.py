"""NovoGrad: layer-wise normalised gradients with momentum."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.novograd import scale_by_novograd
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def novograd(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.25,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformationExtraArgs:
    """NovoGrad: θ ← θ − η · m_t. The maths is in `scale_by_novograd`.

    Same signature, defaults and state layout as `optax.novograd`
    (`weight_decay` is a number: the block does not take schedules).
    Chain: `scale_by_novograd(b1, b2, eps, eps_root, weight_decay)` →
    `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("novograd", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_novograd(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, weight_decay=weight_decay
        ),
        scale_by_learning_rate(learning_rate),
    )
