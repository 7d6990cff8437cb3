"""The two phases of the zoom line search (strong Wolfe conditions), one iteration each.

Notation: φ(η) = f(w + η u) is the loss along the direction u from the
parameters w, φ'(η) = ⟨∇f(w + η u), u⟩ its slope. A step size η satisfies
the *strong Wolfe conditions* (Nocedal & Wright, eq. 3.7) when

    φ(η) <= φ(0) + c₁ η φ'(0)          sufficient decrease (Armijo)
    |φ'(η)| <= c₂ |φ'(0)|              small curvature

with 0 < c₁ < c₂ < 1 (`slope_rtol`, `curv_rtol`). The search has two phases
(Nocedal & Wright, Algorithms 3.5 and 3.6):

1. `bracket`: try η₁ (the initial guess), then grow it by `increase_factor`
   until an interval [low, high] is known to contain an acceptable η: the
   decrease fails or the loss rises (the minimum was stepped over), or the
   slope turns non-negative.
2. `zoom`: shrink the interval: try a point inside it (the minimiser of a
   cubic or quadratic interpolation, else the midpoint) and keep the half
   that still contains an acceptable η.

One call of `bracket` or `zoom` is one evaluation of f and ∇f. The whole
search runs as a `lax.while_loop` over `step` (see `zoom.py`). Near a
minimum the Armijo test can fail through rounding; Hager and Zhang's
approximate decrease condition takes over there (`decrease_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from optax._src.linesearch import (  # the messages tools and tests match on
    FLAG_CURVATURE_COND_NOT_SATISFIED,
    FLAG_INTERVAL_NOT_FOUND,
)

from jaxopt_lessons import tree as tm
from jaxopt_lessons.transforms.linesearch import diagnostics
from jaxopt_lessons.transforms.linesearch.interpolation import (
    cubic_minimizer,
    quadratic_minimizer,
)
from jaxopt_lessons.transforms.linesearch.wolfe import (
    Criteria,
    curvature_error,
    decrease_error,
)

__all__ = [
    "Search",
    "bracket",
    "fall_back",
    "searching",
    "start",
    "step",
    "zoom",
]


class Search(NamedTuple):
    """Everything one iteration of the search reads and writes (the loop's carry).

    The fields `low` and `high` are step sizes bounding an interval that
    contains an acceptable η, with φ(low) <= φ(high); "low" and "high" refer
    to the loss, not to which of the two is smaller.
    """

    count: jax.Array  # evaluations so far
    # Fixed during the search.
    params: Any  # w
    updates: Any  # u
    stepsize_guess: jax.Array  # η₁, the first step size tried
    # The point tried last.
    stepsize: jax.Array
    value: jax.Array
    grad: Any
    slope: jax.Array
    # φ(0), φ'(0).
    value_init: jax.Array
    slope_init: jax.Array
    # How far the last point is from meeting each condition (0: met).
    decrease_error: jax.Array
    curvature_error: jax.Array
    error: jax.Array
    # Phase and exit flags.
    interval_found: jax.Array
    done: jax.Array
    failed: jax.Array
    # The interval, and a third point for the cubic interpolation (the
    # endpoint the last zoom step discarded).
    low: jax.Array
    value_low: jax.Array
    slope_low: jax.Array
    high: jax.Array
    value_high: jax.Array
    slope_high: jax.Array
    cubic_ref: jax.Array
    value_cubic_ref: jax.Array
    # The best point with sufficient decrease seen so far, returned if the
    # curvature condition cannot be met (η = 0 while there is none).
    safe_stepsize: jax.Array
    safe_value: jax.Array
    safe_grad: Any


def _on_line(value_and_grad: Callable, params, stepsize, updates):
    """φ(η), ∇f(w + η u) and φ'(η) = Re⟨∇f, u⟩ (the gradient conjugated first)."""
    value, grad = value_and_grad(optax.tree.add_scale(params, stepsize, updates))
    slope = optax.tree.real(optax.tree.vdot(optax.tree.conj(grad), updates))
    return value, grad, slope


class _Trial(NamedTuple):
    """One evaluation at a step size η, as both phases record it."""

    stepsize: jax.Array
    value: jax.Array
    grad: Any
    slope: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array
    error: jax.Array


def _evaluate(c: Criteria, s: Search, value_and_grad: Callable, stepsize) -> _Trial:
    """φ, ∇f and φ' at η, and how far η is from each Wolfe condition."""
    value, grad, slope = _on_line(value_and_grad, s.params, stepsize, s.updates)
    dec = decrease_error(c, stepsize, value, slope, s.value_init, s.slope_init)
    curv = curvature_error(c, slope, s.slope_init)
    return _Trial(stepsize, value, grad, slope, dec, curv, jnp.maximum(dec, curv))


def _after(s: Search, trial: _Trial, **fields: Any) -> Search:
    """The search after one iteration: one more evaluation, `trial` as the
    last point tried, and the phase's own `fields`; dtypes as in `s`."""
    new_search = s._replace(count=tm.increment(s.count), **trial._asdict(), **fields)
    return optax.tree.cast_like(new_search, other_tree=s)


# ----------------------------------------------------------------------------
# Start, the two phases, and the fallback.


def start(updates, params, *, value, grad, stepsize_guess) -> Search:
    """The search before any evaluation: η = 0, where φ and ∇f are known."""
    dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
    slope = optax.tree.real(optax.tree.vdot(updates, grad))
    zero, inf, false = jnp.asarray(0.0), jnp.asarray(jnp.inf), jnp.asarray(False)
    return Search(
        count=jnp.asarray(0),
        params=params,
        updates=updates,
        stepsize_guess=stepsize_guess,
        stepsize=jnp.asarray(0.0, dtype=dtype),
        value=jnp.array(value, dtype=dtype),
        grad=grad,
        slope=slope,
        value_init=value,
        slope_init=slope,
        decrease_error=inf,
        curvature_error=inf,
        error=inf,
        interval_found=false,
        done=false,
        failed=false,
        low=zero,
        value_low=value,
        slope_low=slope,
        high=zero,
        value_high=value,
        slope_high=slope,
        cubic_ref=zero,
        value_cubic_ref=value,
        safe_stepsize=zero,
        safe_value=value,
        safe_grad=grad,
    )


def bracket(c: Criteria, s: Search, value_and_grad: Callable) -> Search:
    """One iteration of phase 1 (Nocedal & Wright, Algorithm 3.5).

    Try η_i = η₁ at the first iteration, else `increase_factor`·η_{i−1}
    (capped at `max_stepsize`). Then, with η_{i−1} the previous trial::

        both conditions hold                          → done, η = η_i
        decrease fails, or φ(η_i) >= φ(η_{i−1}), i>1  → interval (low, high) = (η_{i−1}, η_i)
        φ'(η_i) >= 0                                  → interval (low, high) = (η_i, η_{i−1})
        otherwise                                     → grow η and try again

    At the cap with no interval found, larger steps are not allowed, so the
    search stops there (decrease met, curvature not).
    """
    first = s.count == 0
    stepsize = jnp.where(first, s.stepsize_guess, c.increase_factor * s.stepsize)
    if c.max_stepsize is not None:
        at_cap = stepsize >= c.max_stepsize
        stepsize = jnp.minimum(stepsize, c.max_stepsize)
    else:
        at_cap = jnp.asarray(False)
    trial = _evaluate(c, s, value_and_grad, stepsize)
    _, value, grad, slope, dec, curv, error = trial

    safe_stepsize, safe_value, safe_grad = optax.tree.where(
        dec <= c.tol,
        [stepsize, value, grad],
        [s.safe_stepsize, s.safe_value, s.safe_grad],
    )

    overshot = (dec > 0.0) | ((value >= s.value) & (s.count > 0))
    turned_up = (slope >= 0.0) & ~overshot
    previous = [s.stepsize, s.value, s.slope]
    new = [stepsize, value, slope]
    low, value_low, slope_low, high, value_high, slope_high = optax.tree.where(
        turned_up, new + previous, previous + new
    )
    interval_found = overshot | turned_up | (error <= c.tol)
    done = (error <= c.tol) | (at_cap & ~interval_found)
    if c.verbose:
        diagnostics.print_if(
            at_cap & ~interval_found,
            "scale_by_zoom_linesearch: loss at the current params {value_init}, "
            "slope along the update {slope_init}; stopped at the largest step "
            "size {stepsize} (decrease error {decrease_error}, curvature error "
            "{curvature_error}). "
            + FLAG_INTERVAL_NOT_FOUND
            + "\n"
            + FLAG_CURVATURE_COND_NOT_SATISFIED,
            value_init=s.value_init,
            slope_init=s.slope_init,
            stepsize=stepsize,
            decrease_error=dec,
            curvature_error=curv,
        )
    failed = (s.count + 1 >= c.max_steps) & ~done

    return _after(
        s,
        trial,
        interval_found=jnp.asarray(interval_found),
        done=jnp.asarray(done),
        failed=jnp.asarray(failed),
        low=low,
        value_low=value_low,
        slope_low=slope_low,
        high=high,
        value_high=value_high,
        slope_high=slope_high,
        cubic_ref=low,
        value_cubic_ref=value_low,
        safe_stepsize=safe_stepsize,
        safe_value=safe_value,
        safe_grad=safe_grad,
    )


def zoom(c: Criteria, s: Search, value_and_grad: Callable) -> Search:
    """One iteration of phase 2 (Nocedal & Wright, Algorithm 3.6).

    Try a point η inside the interval (`_trial`), then::

        both conditions hold                         → done, η
        decrease fails, or φ(η) >= φ(low)            → high = η
        otherwise, if φ'(η)·(high − low) >= 0        → high = low, low = η
        otherwise                                    → low = η

    The endpoint dropped becomes the third point of the next cubic. The
    search gives up when out of iterations, or when the interval is shorter
    than `interval_threshold` and some point with sufficient decrease is
    known (`fall_back` then returns it).
    """
    length = jnp.abs(s.high - s.low)
    too_short = length <= c.interval_threshold
    stepsize = _trial(s, length)
    trial = _evaluate(c, s, value_and_grad, stepsize)
    _, value, grad, slope, dec, curv, error = trial

    better_safe = (dec <= c.tol) & (value < s.safe_value)
    safe_stepsize, safe_value, safe_grad = optax.tree.where(
        better_safe,
        [stepsize, value, grad],
        [s.safe_stepsize, s.safe_value, s.safe_grad],
    )
    done = error <= c.tol

    high_to_new = (dec > 0.0) | (value >= s.value_low)
    high_to_low = (slope * (s.high - s.low) >= 0.0) & ~high_to_new
    low_to_new = ~high_to_new
    new = [stepsize, value, slope]
    low = [s.low, s.value_low, s.slope_low]
    high = [s.high, s.value_high, s.slope_high]
    high_after = optax.tree.where(high_to_new, new, high)
    high_after = optax.tree.where(high_to_low, low, high_after)
    low_after = optax.tree.where(low_to_new, new, low)
    cubic_ref, value_cubic_ref = optax.tree.where(
        high_to_new | high_to_low, high[:2], low[:2]
    )

    out_of_steps = (s.count + 1) >= c.max_steps
    failed = (jnp.asarray(out_of_steps) | (too_short & (safe_stepsize > 0.0))) & ~done
    return _after(
        s,
        trial,
        done=done,
        failed=failed,
        low=low_after[0],
        value_low=low_after[1],
        slope_low=low_after[2],
        high=high_after[0],
        value_high=high_after[1],
        slope_high=high_after[2],
        cubic_ref=cubic_ref,
        value_cubic_ref=value_cubic_ref,
        safe_stepsize=safe_stepsize,
        safe_value=safe_value,
        safe_grad=safe_grad,
    )


def _trial(s: Search, length):
    """The next point inside [low, high].

    The minimiser of the cubic through (low, high, cubic_ref) with φ'(low),
    if it lies in the middle 60 % of the interval; else that of the
    quadratic through (low, high) with φ'(low), if in the middle 80 %; else
    the midpoint. The margins keep the interval shrinking by a constant
    factor (Nocedal & Wright, section 3.5, safeguards of the interpolation).
    """
    left, right = jnp.minimum(s.high, s.low), jnp.maximum(s.high, s.low)
    cubic_margin, quad_margin = 0.2 * length, 0.1 * length
    cubic = cubic_minimizer(
        s.low,
        s.value_low,
        s.slope_low,
        s.high,
        s.value_high,
        s.cubic_ref,
        s.value_cubic_ref,
    )
    use_cubic = (cubic > left + cubic_margin) & (cubic < right - cubic_margin)
    quad = quadratic_minimizer(s.low, s.value_low, s.slope_low, s.high, s.value_high)
    use_quad = ~use_cubic & (quad > left + quad_margin) & (quad < right - quad_margin)
    use_midpoint = ~use_cubic & ~use_quad
    point = jnp.where(use_cubic, cubic, s.cubic_ref)
    point = jnp.where(use_quad, quad, point)
    return jnp.where(use_midpoint, (s.low + s.high) / 2.0, point)


def fall_back(c: Criteria, s: Search) -> Search:
    """The search failed: return the best point with sufficient decrease, if any.

    If none was found (safe step size 0) the last point tried is returned,
    unless the loss was NaN or ∞ there: then η = 0 with the starting loss.
    """
    outside_domain = jnp.isinf(s.decrease_error)
    stepsize, value, grad = optax.tree.where(
        (s.safe_stepsize > 0.0) | outside_domain,
        [s.safe_stepsize, s.safe_value, s.safe_grad],
        [s.stepsize, s.value, s.grad],
    )
    if c.verbose:
        diagnostics.report_zoom_failure(c, s)
    new_search = s._replace(stepsize=stepsize, grad=grad, value=value)
    return optax.tree.cast_like(new_search, other_tree=s)


def step(c: Criteria, s: Search, value_and_grad: Callable) -> Search:
    """One evaluation: `zoom` once an interval is known, else `bracket`;
    then `fall_back` if this iteration gave up."""
    new = jax.lax.cond(
        s.interval_found,
        lambda s: zoom(c, s, value_and_grad),
        lambda s: bracket(c, s, value_and_grad),
        s,
    )
    new = jax.lax.cond(new.failed, lambda s: fall_back(c, s), lambda s: s, new)
    return optax.tree.cast_like(new, other_tree=s)


def searching(s: Search) -> jax.Array:
    """The loop's condition: neither done nor given up."""
    return ~(s.done | s.failed)
