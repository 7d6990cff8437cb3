"""Adan: adaptive Nesterov momentum with decoupled weight decay."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adan import scale_by_adan
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights


@_checks.entry_point
def adan(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.98,
    b2: jax.typing.ArrayLike = 0.92,
    b3: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 1e-8,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Adan: θ ← θ − η · ((m̂ + (1 − β₂) v̂) / √n̂ + λ · θ). Maths in `scale_by_adan`.

    Same signature, defaults and state layout as `optax.adan` (note `eps_root`
    defaults to 1e-8 here, 0 in the block).
    Chain: `scale_by_adan(b1, b2, b3, eps, eps_root)` →
    `add_decayed_weights(weight_decay, mask)` → `scale_by_learning_rate`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("adan", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
