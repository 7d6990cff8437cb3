"""Rprop: full-batch training from gradient signs, with the current step's update."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.rprop import scale_by_rprop
from jaxopt_lessons.transforms.scaling import scale


@_checks.entry_point
def rprop(
    learning_rate: jax.typing.ArrayLike,
    eta_minus: jax.typing.ArrayLike = 0.5,
    eta_plus: jax.typing.ArrayLike = 1.2,
    min_step_size: jax.typing.ArrayLike = 1e-6,
    max_step_size: jax.typing.ArrayLike = 50.0,
) -> optax.GradientTransformationExtraArgs:
    """Rprop: θ ← θ − Δ_t · sign(g_t). The maths is in `scale_by_rprop`.

    Same signature, defaults and state layout as `optax.rprop`;
    `learning_rate` is the initial step size Δ_0 (a number, no schedules).
    Chain: `scale_by_rprop(...)` → `scale(-1)`.

    Differences from Optax: `optax.rprop` (0.2.8) applies the step computed on
    the previous call, so its first update is 0 and every later one lags a
    step behind the gradient; here each update uses the current gradient, as
    in the paper and `torch.optim.Rprop` (same states, updates one step
    earlier). `tests/transforms/test_rprop.py` pins this against torch and
    by hand.

    Raises:
        ValueError: an invalid hyperparameter.
        TypeError: a schedule as `learning_rate`; complex parameters.
    """
    return _chain.chain(
        scale_by_rprop(
            learning_rate=learning_rate,
            eta_minus=eta_minus,
            eta_plus=eta_plus,
            min_step_size=min_step_size,
            max_step_size=max_step_size,
        ),
        scale(-1.0),
    )
