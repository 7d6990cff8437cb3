"""Adadelta: steps in the parameters' own units, with no learning rate needed."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adadelta import scale_by_adadelta
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights


@_checks.entry_point
def adadelta(
    learning_rate: optax.ScalarOrSchedule | None = None,
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    weight_decay_mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Adadelta: θ ← θ − η · Δ_t. The maths is in `scale_by_adadelta`.

    Same signature, defaults and state layout as `optax.adadelta`.
    Chain: `add_decayed_weights(weight_decay, weight_decay_mask)` →
    `scale_by_adadelta(rho, eps)` → `scale_by_learning_rate(learning_rate)`,
    with η = 1 when `learning_rate` is None (the paper's rule has no
    learning rate; `torch.optim.Adadelta` defaults to lr = 1.0).

    Differences from Optax: `optax.adadelta(learning_rate=None)` (0.2.8) uses
    `scale_by_learning_rate(None)`, the identity, so it adds +Δ_t to the
    parameters and climbs the loss. Here None means η = 1 and the parameters
    descend; with an explicit learning rate the two agree at every step.
    `tests/transforms/test_adadelta.py` pins this against torch and by hand.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    fn = "adadelta"
    _checks.check_learning_rate(fn, "learning_rate", learning_rate, allow_none=True)
    return _chain.chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        scale_by_adadelta(rho=rho, eps=eps),
        scale_by_learning_rate(1.0 if learning_rate is None else learning_rate),
    )
