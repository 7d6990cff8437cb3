"""What the line searches print with `verbose=True`, inside jitted code.

The messages start with Optax's own `FLAG_*` strings, which tools and tests
look for; the rest says what was measured and what may help.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from optax._src.linesearch import (  # the messages tools and tests match on
    FLAG_CURVATURE_COND_NOT_SATISFIED,
    FLAG_INTERVAL_TOO_SMALL,
    FLAG_NO_STEPSIZE_FOUND,
    FLAG_NOT_A_DESCENT_DIRECTION,
)


def print_if(condition, message: str, **values) -> None:
    """Print `message` (formatted with `values`) when the traced `condition` holds."""
    jax.lax.cond(
        condition,
        lambda _: jax.debug.print(message, **values, ordered=True),
        lambda _: None,
        None,
    )


def report_zoom_failure(c: Any, s: Any) -> None:
    """Why the zoom search (criteria `c`, search state `s`) gave up."""
    jax.debug.print(
        "scale_by_zoom_linesearch: loss at the current params {value_init}, slope "
        "along the update {slope_init}; last step size {stepsize} (decrease "
        "error {decrease_error}, curvature error {curvature_error}).",
        value_init=s.value_init,
        slope_init=s.slope_init,
        stepsize=s.stepsize,
        decrease_error=s.decrease_error,
        curvature_error=s.curvature_error,
        ordered=True,
    )
    length = jnp.abs(s.low - s.high)
    print_if(
        length <= c.interval_threshold,
        FLAG_INTERVAL_TOO_SMALL + " Interval length: {length}.",
        length=length,
    )
    jax.lax.cond(
        s.safe_stepsize > 0.0,
        lambda s: jax.debug.print(
            FLAG_CURVATURE_COND_NOT_SATISFIED
            + " Step size with sufficient decrease: {safe}.",
            safe=s.safe_stepsize,
        ),
        _explain_no_step,
        s,
    )


def _explain_no_step(s: Any) -> None:
    """Why no step size with sufficient decrease was found: the likely causes."""
    jax.debug.print(FLAG_NO_STEPSIZE_FOUND)
    descent = s.slope_init < 0.0
    print_if(
        ~descent,
        FLAG_NOT_A_DESCENT_DIRECTION + "The slope (={slope}) at step size 0 must "
        "be negative.",
        slope=s.slope_init,
    )
    print_if(descent, "More line-search iterations (max_linesearch_steps) may help.")
    eps = jnp.finfo(jnp.float32).eps
    print_if(
        descent & (s.stepsize < eps),
        "The step size (={stepsize}) fell below float32's machine epsilon "
        "(={eps}); float64 (jax.config.update('jax_enable_x64', True)) may help.",
        stepsize=s.stepsize,
        eps=eps,
    )
    print_if(
        descent & (jnp.abs(s.slope_init) > 1e16),
        "The slope at step size 0 is huge (|slope|={slope}): the loss is badly "
        "scaled; rescale the parameters or start closer to a minimum.",
        slope=jnp.abs(s.slope_init),
    )
    outside = jnp.isinf(s.decrease_error)
    print_if(
        outside,
        "The loss is NaN or infinite at every step size tried: no step is made.",
    )
    print_if(
        ~outside,
        "Taking a step without sufficient decrease: the loss may not go down.",
    )
