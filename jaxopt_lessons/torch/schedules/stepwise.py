"""StepLR, MultiStepLR and ExponentialLR: the lr multiplied by γ at given steps."""

from __future__ import annotations

from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.torch._common import PREFIX
from jaxopt_lessons.torch.schedules._exact import _float, _int, _time

__all__ = ["exponential_lr", "multi_step_lr", "step_lr"]


def step_lr(
    lr: jax.typing.ArrayLike, step_size: int, gamma: jax.typing.ArrayLike = 0.1
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.StepLR`: multiply by γ every `step_size` steps.

    Schedule (t = count)::

        η_t = lr · γ^⌊t / step_size⌋

    torch's ``step()`` multiplies the current lr by γ at t = step_size,
    2·step_size, …; the power here equals that product up to rounding.

    Args:
        lr: the optimizer's learning rate, ≥ 0.
        step_size: period of the decay, a positive integer.
        gamma: γ ≥ 0, the factor.

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule.
    """
    fn = PREFIX + "step_lr"
    _checks.check_non_negative(fn, "lr", lr)
    step_size = _int(fn, "step_size", step_size, low=1)
    _checks.check_non_negative(fn, "gamma", gamma)
    lr, gamma = _float(lr), _float(gamma)

    def schedule(count):
        decays = jnp.floor_divide(jnp.asarray(count), step_size)
        return lr * jnp.power(gamma, _time(decays))

    return schedule


def multi_step_lr(
    lr: jax.typing.ArrayLike,
    milestones: Iterable[int],
    gamma: jax.typing.ArrayLike = 0.1,
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.MultiStepLR`: multiply by γ at each milestone.

    Schedule (t = count)::

        η_t = lr · γ^(number of milestones m with m <= t)

    A milestone listed n times multiplies by γⁿ, and the order of the list
    does not matter, as in torch (which counts them with a ``Counter``).

    Args:
        lr: the optimizer's learning rate, ≥ 0.
        milestones: step counts >= 0 (torch's "epoch indices").
        gamma: γ ≥ 0, the factor.

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule; a negative
            milestone (torch's ``step()`` never reaches it, its closed form
            counts it).
    """
    fn = PREFIX + "multi_step_lr"
    _checks.check_non_negative(fn, "lr", lr)
    if isinstance(milestones, str) or not isinstance(milestones, Iterable):
        raise TypeError(
            f"{fn}: `milestones` must be a list of integers, got {milestones!r}."
        )
    milestones = list(milestones)
    for i, m in enumerate(milestones):
        _int(fn, f"milestones[{i}]", m, low=0)
    _checks.check_non_negative(fn, "gamma", gamma)
    lr, gamma = _float(lr), _float(gamma)
    points = np.sort(np.asarray(milestones, np.int64)).astype(np.int32)

    def schedule(count):
        passed = jnp.searchsorted(jnp.asarray(points), jnp.asarray(count), side="right")
        return lr * jnp.power(gamma, _time(passed))

    return schedule


def exponential_lr(
    lr: jax.typing.ArrayLike, gamma: jax.typing.ArrayLike
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.ExponentialLR`: multiply by γ every step.

    Schedule (t = count)::

        η_t = lr · γ^t

    torch multiplies t times; the power equals that product up to rounding
    (a few 1e-16 relative per hundred steps, measured in the tests).

    Args:
        lr: the optimizer's learning rate, ≥ 0.
        gamma: γ ≥ 0, the factor (torch's required argument, no default).

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule.
    """
    fn = PREFIX + "exponential_lr"
    _checks.check_non_negative(fn, "lr", lr)
    _checks.check_non_negative(fn, "gamma", gamma)
    lr, gamma = _float(lr), _float(gamma)

    def schedule(count):
        return lr * jnp.power(gamma, _time(count))

    return schedule
