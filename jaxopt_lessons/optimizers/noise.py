"""Noisy SGD: gradient descent with annealed Gaussian gradient noise."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.noise import add_noise
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def noisy_sgd(
    learning_rate: optax.ScalarOrSchedule,
    eta: jax.typing.ArrayLike = 0.01,
    gamma: jax.typing.ArrayLike = 0.55,
    key: jax.typing.ArrayLike | None = None,
    *,
    seed: int | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Noisy SGD: θ ← θ − η · (g + σ_t · z), σ_t² = eta / tᵞ. Maths in `add_noise`.

    Same signature, defaults, state layout and random numbers as
    `optax.noisy_sgd` for the same `key` (or `seed`).
    Chain: `add_noise(eta, gamma, key, seed=seed)` →
    `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter; both `key` and `seed`.
        TypeError: a `key` that is neither a typed key nor an integer.
    """
    _checks.check_learning_rate("noisy_sgd", "learning_rate", learning_rate)
    return _chain.chain(
        add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate)
    )
