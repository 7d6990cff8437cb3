"""CosineAnnealingLR and LinearLR: the lr along a cosine or a line."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.torch._common import PREFIX
from jaxopt_lessons.torch.schedules._exact import _div, _float, _int, _time

__all__ = ["cosine_annealing_lr", "linear_lr"]


def cosine_annealing_lr(
    lr: jax.typing.ArrayLike, T_max: int, eta_min: jax.typing.ArrayLike = 0.0
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.CosineAnnealingLR`, as its ``step()`` computes it.

    Schedule (t = count, T = T_max, N(t) = 1 + cos(π·t/T))::

        η_t = η_min + (lr − η_min) · N(t)/2                    0 <= t <= T
        η_s = η_min + (lr − η_min) · (1 − cos(π/T))/2          s = T+1, 3T+1, …
        η_t = η_min + (η_s − η_min) · N(t)/N(s)                s < t < s + 2T

    Without restarts: after T the lr rises back to `lr` over the next T steps
    and keeps oscillating with period 2T, as torch's does. The second and
    third lines are torch's recursion ``η_t − η_min = (η_{t−1} − η_min) ·
    N(t)/N(t−1)`` with its special step at s; they equal the first line in
    exact arithmetic but not in floating point (see the package docstring).
    They are used in float64; in float32 (no ``jax.enable_x64``) N(s) keeps
    too few digits for the ratio, and the first line, used for every t, is
    nearer torch's float64 values.

    Args:
        lr: the optimizer's learning rate, ≥ 0.
        T_max: T, the steps of the half period, a positive integer.
        eta_min: η_min ≥ 0, the lowest lr.

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule.
    """
    fn = PREFIX + "cosine_annealing_lr"
    _checks.check_non_negative(fn, "lr", lr)
    T_max = _int(fn, "T_max", T_max, low=1)
    _checks.check_non_negative(fn, "eta_min", eta_min)
    base, eta_min = _float(lr), _float(eta_min)
    # torch: group["lr"] (exactly eta_min at s − 1) + (base − eta_min)(1 − cos(π/T))/2,
    # then (group["lr"] − eta_min) is what the next ratio multiplies.
    restart = eta_min + (base - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
    amplitude = restart - eta_min

    def one_plus_cos(t):  # N(t), with torch's order of operations
        return 1 + jnp.cos(_div(math.pi * t, T_max))

    def schedule(count):
        count = jnp.asarray(count)
        t = _time(count)
        first = eta_min + (base - eta_min) * one_plus_cos(t) / 2  # /2 is exact
        cycles = jnp.floor_divide(jnp.maximum(count - T_max - 1, 0), 2 * T_max)
        s = _time(T_max + 1 + 2 * T_max * cycles)
        if t.dtype != jnp.float64:
            # In float32, N(s) ≈ (π/T)²/2 keeps few correct digits and the
            # ratio would amplify its rounding; the closed form is nearer
            # torch's float64 values there.
            return first
        later = eta_min + amplitude * _div(one_plus_cos(t), one_plus_cos(s))
        return jnp.where(count <= T_max, first, later)

    return schedule


def linear_lr(
    lr: jax.typing.ArrayLike,
    start_factor: jax.typing.ArrayLike = 1.0 / 3,
    end_factor: jax.typing.ArrayLike = 1.0,
    total_iters: int = 5,
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.LinearLR`: a linear ramp of the factor.

    Schedule (t = count, s, e = start_factor, end_factor, T = total_iters)::

        η_t = lr · (s + (e − s) · min(t, T) / T)

    torch multiplies the current lr by 1 + (e − s)/(T·s + (t − 1)(e − s)) at
    steps 1 … T, a product that telescopes to the line above (equal up to
    rounding).

    Args:
        lr: the optimizer's learning rate, ≥ 0.
        start_factor: s in (0, 1] (torch's rule).
        end_factor: e in [0, 1] (torch's rule).
        total_iters: T, steps of the ramp, a positive integer (torch accepts 0
            and then keeps s forever, where its closed form divides by 0).

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule.
    """
    fn = PREFIX + "linear_lr"
    _checks.check_non_negative(fn, "lr", lr)
    _check_factor(fn, "start_factor", start_factor, open_low=True)
    _check_factor(fn, "end_factor", end_factor, open_low=False)
    total_iters = _int(fn, "total_iters", total_iters, low=1)
    lr, start, end = _float(lr), _float(start_factor), _float(end_factor)

    def schedule(count):
        done = jnp.minimum(_time(count), total_iters)
        return lr * (start + _div((end - start) * done, total_iters))

    return schedule


def _check_factor(fn: str, name: str, value: Any, *, open_low: bool) -> None:
    """torch's LinearLR rules: start in (0, 1], end in [0, 1]."""
    _checks.check_interval(fn, name, value, 0.0, 1.0, high_closed=True)
    if open_low and not isinstance(value, jax.core.Tracer) and not value > 0:
        raise ValueError(f"{fn}: `{name}` must lie in (0, 1], got {value!r}.")
