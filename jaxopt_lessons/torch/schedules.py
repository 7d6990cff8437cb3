"""torch's common LR schedulers as Optax schedules ``count -> learning rate``.

A torch scheduler edits ``param_group["lr"]`` each time ``scheduler.step()``
runs; called once after every ``optimizer.step()``, the lr of step ``count``
(counting from 0) is the value after ``count`` scheduler steps. Each function
here returns that value as a pure function of ``count``, so it can be the
``lr`` of a `jaxopt_lessons.torch` preset, the ``learning_rate`` of any Optax
optimizer, or a hyperparameter of ``optax.inject_hyperparams``; it is
jit-able, vmap-able and computes in JAX's default float type (float64 under
``jax.enable_x64``).

Arguments keep torch's names and defaults. torch's ``optimizer`` becomes
``lr``, the optimizer's learning rate (torch's ``base_lr``); ``last_epoch``
(resuming) has no counterpart: the count in the optimizer state already says
where a run is.

Recursive against closed form. Most of torch's schedulers compute the new lr
from the previous one (``lr ← lr · γ``), not from ``base_lr``; their
``_get_closed_form_lr`` is only used by the deprecated ``step(epoch)``. What
``step()`` produces is what is matched here. For StepLR, MultiStepLR,
ExponentialLR and LinearLR the two forms are equal up to the rounding of the
repeated products (measured against torch over 10 000 steps in float64:
``tests/torch/test_schedules.py`` and docs/torch.md). They part in two places:

- CosineAnnealingLR after ``T_max``: the recursion restarts at
  t = T_max + 1, 3·T_max + 1, … from ``eta_min + (base_lr − eta_min)·(1 −
  cos(π/T_max))/2`` and scales by ratios of ``1 + cos(π t/T_max)`` from
  there; the closed form ``eta_min + (base_lr − eta_min)(1 + cos(π t/T_max))/2``
  is mathematically the same, but ``1 + cos(π (T_max + 1)/T_max)`` cancels
  catastrophically, so past ``T_max`` it is off by up to about
  ``1e-16 · T_max²`` relative. `cosine_annealing_lr` follows the recursion.
- MultiStepLR with a negative milestone: ``step()`` never reaches it, the
  closed form counts it. Negative milestones are refused here.

References: PyTorch 2.13, ``torch/optim/lr_scheduler.py`` (the ``get_lr``
methods); Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
Restarts", ICLR 2017 (cosine annealing); Smith & Topin, "Super-Convergence:
Very Fast Training of Neural Networks Using Large Learning Rates", 2018
(one-cycle).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.torch._common import PREFIX

__all__ = [
    "cosine_annealing_lr",
    "exponential_lr",
    "linear_lr",
    "multi_step_lr",
    "one_cycle_lr",
    "step_lr",
]


def _int(fn: str, name: str, value: Any, *, low: int) -> int:
    """A Python or NumPy integer >= low (bools refused), as a Python int."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{fn}: `{name}` must be an integer, got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < low:
        rule = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{fn}: `{name}` must be {rule}, got {value!r}.")
    return int(value)


def _float(value: Any) -> Any:
    """A number as a Python float (exact for torch's double arithmetic); a
    traced value is kept."""
    if isinstance(value, jax.core.Tracer):
        return value
    return float(np.asarray(value, np.float64))


def _time(count: Any) -> jax.Array:
    """The step count as a float in JAX's default float type."""
    return jnp.asarray(count).astype(jnp.result_type(float))


def _div(x: jax.Array, d: Any) -> jax.Array:
    """x / d, correctly rounded, as Python (and so torch) divides.

    XLA replaces a division by a scalar with a multiplication by its
    reciprocal, which is off by one ulp for about half of all x. Dividing by
    an array of the same shape, hidden behind an optimization barrier so the
    compiler cannot see it is constant, keeps the true division.
    """
    x, denominator = jax.lax.optimization_barrier((x, x * 0 + d))
    return x / denominator


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
    exact arithmetic but not in floating point (see the module docstring).
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


def one_cycle_lr(
    max_lr: jax.typing.ArrayLike,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.OneCycleLR`'s learning rate.

    Schedule, with η_0 = max_lr / div_factor, η_min = η_0 / final_div_factor
    and N = total_steps (or epochs · steps_per_epoch)::

        phase 1, t <= pct_start·N − 1:       η_0 → max_lr
        phase 2, up to N − 1:                max_lr → η_min
      three_phase=True:
        phase 2, t <= 2·pct_start·N − 2:     max_lr → η_0
        phase 3, up to N − 1:                η_0 → η_min

    Within a phase from step a to step b, p = (t − a)/(b − a) and the lr is
    ``end + (start − end)/2 · (1 + cos(π p))`` (``anneal_strategy="cos"``) or
    ``start + (end − start) · p`` ("linear"), in torch's order of operations.
    torch's ``step()`` computes each value from these formulas, not from the
    previous lr, so there is no recursive form to follow.

    Past the end: torch allows ``count = N`` (the last phase extrapolated one
    step, slightly off η_min) and raises after that. Here ``count = N`` gives
    torch's value and later counts keep it.

    Not included: the momentum cycle (``cycle_momentum``, ``base_momentum``,
    ``max_momentum``), which changes the optimizer's momentum or β₁, not the
    lr; with it on (torch's default), torch's momentum follows the inverse
    cycle while a preset's stays fixed.

    Args:
        max_lr: the peak lr, ≥ 0.
        total_steps: N, a positive integer; or None with `epochs` and
            `steps_per_epoch`.
        epochs, steps_per_epoch: positive integers, N = their product.
        pct_start: share of the cycle spent rising, in [0, 1].
        anneal_strategy: "cos" or "linear".
        div_factor: η_0 = max_lr / div_factor, > 0.
        final_div_factor: η_min = η_0 / final_div_factor, > 0.
        three_phase: a third phase (see above), a bool.

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule, or a phase would
            have no steps (torch divides by zero there when it gets to it).
    """
    fn = PREFIX + "one_cycle_lr"
    _checks.check_non_negative(fn, "max_lr", max_lr)
    if total_steps is not None:
        total = _int(fn, "total_steps", total_steps, low=1)
    elif epochs is not None and steps_per_epoch is not None:
        total = _int(fn, "epochs", epochs, low=1) * _int(
            fn, "steps_per_epoch", steps_per_epoch, low=1
        )
    else:
        raise ValueError(
            f"{fn}: `total_steps` must be given, or both `epochs` and "
            f"`steps_per_epoch`, got total_steps={total_steps!r}, "
            f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}."
        )
    _checks.check_interval(fn, "pct_start", pct_start, 0.0, 1.0, high_closed=True)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(
            f"{fn}: `anneal_strategy` must be 'cos' or 'linear', "
            f"got {anneal_strategy!r}."
        )
    _checks.check_positive(fn, "div_factor", div_factor)
    _checks.check_positive(fn, "final_div_factor", final_div_factor)
    _checks.check_bool(fn, "three_phase", three_phase)

    max_lr = _float(max_lr)
    initial = max_lr / float(div_factor)
    lowest = initial / float(final_div_factor)
    pct = float(pct_start)
    if three_phase:
        phases = [
            (float(pct * total) - 1, initial, max_lr),
            (float(2 * pct * total) - 2, max_lr, initial),
            (total - 1, initial, lowest),
        ]
    else:
        phases = [
            (float(pct * total) - 1, initial, max_lr),
            (total - 1, max_lr, lowest),
        ]
    starts = [0.0] + [end for end, _, _ in phases[:-1]]
    for i, ((end, _, _), start) in enumerate(zip(phases, starts, strict=True)):
        if end == start:
            raise ValueError(
                f"{fn}: phase {i + 1} of the cycle must have steps, got "
                f"pct_start={pct_start!r} with total_steps={total} (it starts "
                f"and ends at step {start:g})."
            )

    def anneal(start_lr, end_lr, p):
        if anneal_strategy == "cos":
            return end_lr + (start_lr - end_lr) / 2.0 * (jnp.cos(math.pi * p) + 1)
        return (end_lr - start_lr) * p + start_lr

    def schedule(count):
        t = _time(jnp.minimum(jnp.asarray(count), total))
        values = [
            anneal(start_lr, end_lr, _div(t - start, end - start))
            for (end, start_lr, end_lr), start in zip(phases, starts, strict=True)
        ]
        # torch takes the first phase whose end is not passed, else the last.
        out = values[-1]
        for (end, _, _), value in zip(phases[-2::-1], values[-2::-1], strict=True):
            out = jnp.where(t <= end, value, out)
        return out

    return schedule
