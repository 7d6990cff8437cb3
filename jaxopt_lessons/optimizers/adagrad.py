"""Adagrad: steps scaled by the root of every squared gradient seen so far."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.rms import scale_by_rss
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def adagrad(
    learning_rate: optax.ScalarOrSchedule,
    initial_accumulator_value: jax.typing.ArrayLike = 0.1,
    eps: jax.typing.ArrayLike = 1e-7,
) -> optax.GradientTransformationExtraArgs:
    """Adagrad: θ ← θ − η · g_t / √(Σ g² + ε). The maths is in `scale_by_rss`.

    Same signature, defaults and state layout as `optax.adagrad`.
    Chain: `scale_by_rss(initial_accumulator_value, eps)` → `scale_by_learning_rate`.

    Differences from PyTorch: `torch.optim.Adagrad` starts the sum at 0, adds
    ε (default 1e-10) outside the root and has `lr_decay`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("adagrad", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        scale_by_learning_rate(learning_rate),
    )
