"""The strong Wolfe conditions as errors: 0 when a step size meets them.

φ(η) = f(w + η u) is the loss along the update u, φ'(η) its slope. The zoom
search (`zoom_phases.py`) accepts η when both errors are 0 (Nocedal & Wright,
eq. 3.7): sufficient decrease, with Hager and Zhang's approximate version near
a minimum, and small curvature.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Criteria:
    """The search's constants (the arguments of `scale_by_zoom_linesearch`)."""

    max_steps: Any
    max_stepsize: Any  # None: no bound
    tol: Any
    increase_factor: Any
    slope_rtol: Any  # c₁
    curv_rtol: Any  # c₂
    approx_dec_rtol: Any  # c₃, or None for the Armijo test alone
    interval_threshold: Any
    verbose: bool


def decrease_error(
    c: Criteria, stepsize, value_step, slope_step, value_init, slope_init
):
    """How much φ(η) misses sufficient decrease by (0 when met, ∞ for NaN).

    Armijo (Nocedal & Wright, eq. 3.7a)::

        e_A = φ(η) − φ(0) − c₁ η φ'(0)

    With `approx_dec_rtol` c₃, also Hager and Zhang's approximate Wolfe
    condition (2006, eq. 23), which compares slopes instead of values and so
    stays meaningful when φ(η) − φ(0) is below rounding::

        e_H = max(φ'(η) − (2c₁ − 1) φ'(0),  φ(η) − φ(0) − c₃ |φ(0)|)

    where the second term admits it only while the loss has not risen by more
    than c₃ |φ(0)| (their eq. 26-27, with one iterate). The error is
    max(min(e_A, e_H), 0).
    """
    error = value_step - value_init - c.slope_rtol * stepsize * slope_init
    if c.approx_dec_rtol is not None:
        approx = slope_step - (2 * c.slope_rtol - 1.0) * slope_init
        risen = value_step - value_init - c.approx_dec_rtol * jnp.abs(value_init)
        error = jnp.minimum(jnp.maximum(approx, risen), error)
    error = jnp.maximum(error, 0.0)
    return jnp.where(jnp.isnan(error), jnp.inf, error)


def curvature_error(c: Criteria, slope_step, slope_init):
    """How much |φ'(η)| exceeds c₂ |φ'(0)| (Nocedal & Wright, eq. 3.7b); ∞ for NaN."""
    error = jnp.abs(slope_step) - c.curv_rtol * jnp.abs(slope_init)
    error = jnp.maximum(error, 0.0)
    return jnp.where(jnp.isnan(error), jnp.inf, error)
