"""Backtracking line search: shrink the step until the loss has dropped enough (Armijo)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import (
    BacktrackingLinesearchInfo,
    ScaleByBacktrackingLinesearchState,
)
from jaxopt_lessons.transforms.linesearch import _common, diagnostics

__all__ = [
    "BacktrackingLinesearchInfo",
    "ScaleByBacktrackingLinesearchState",
    "scale_by_backtracking_linesearch",
]


class _Trial(NamedTuple):
    """The carry of the search loop: the step size tried last and what it gave."""

    learning_rate: jax.Array
    new_value: jax.Array
    new_grad: Any  # the gradient at the accepted point (with store_grad)
    decrease_error: jax.Array
    iter_num: jax.Array


@not_elementwise(
    "the step size comes from the loss of the whole model along the update "
    "(one value_fn call for all parameters together) and the slope ⟨u, g⟩ "
    "sums over every coordinate"
)
@_checks.entry_point
def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    decrease_factor: jax.typing.ArrayLike = 0.8,
    increase_factor: jax.typing.ArrayLike = 1.5,
    max_learning_rate: jax.typing.ArrayLike = 1.0,
    atol: jax.typing.ArrayLike = 0.0,
    rtol: jax.typing.ArrayLike = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Scales the update u by a step size η with enough decrease of the loss.

    Lesson: a fixed learning rate is a guess; the loss itself can check the
    guess. Along the direction u, the loss starts falling at the slope
    ⟨u, ∇f(w)⟩ < 0; a good step keeps at least a fraction c of the descent
    that slope promises (Armijo's sufficient decrease). Backtracking starts
    from a hopeful η and shrinks it until that holds.

    The test, for the loss f, parameters w, direction u (the incoming update)
    and gradient g = ∇f(w)::

        f(w + η u) <= (1 + δ) f(w) + c η ⟨u, g⟩ + ε          (sufficient decrease)
        error(η)   = max(f(w + η u) − (1 + δ) f(w) − c η ⟨u, g⟩, 0)   (NaN → ∞)

    Each call::

        η ← min(increase_factor · η_previous, max_learning_rate)
        repeat (at most max_backtracking_steps + 1 evaluations):
            from the second evaluation on: η ← decrease_factor · η
            stop when error(η) <= ε
        η ← 0 if error(η) = ∞ (never step into NaN or ∞)
        u ← η u

    A failed search (error still > ε after the last shrink) still returns
    its last η; `info.decrease_error` > 0 says so.

    Args:
        max_backtracking_steps: the number of shrinks allowed (an int >= 0).
        slope_rtol: c in [0, 1), the fraction of the promised descent required.
        decrease_factor: the shrink factor, in (0, 1].
        increase_factor: each call starts from this multiple of the previous
            η (>= 0; 1 keeps it, ∞ always starts at `max_learning_rate`).
        max_learning_rate: the largest η tried (>= 0).
        atol: ε >= 0, an absolute slack in the test.
        rtol: δ >= 0, a slack relative to f(w).
        store_grad: also compute ∇f at the accepted point and keep it in the
            state, where `optax.value_and_grad_from_state` reuses it for the
            next step (deterministic losses).
        verbose: print diagnostics when the search fails.

    Returns:
        An `optax.GradientTransformationExtraArgs` with state
        `ScaleByBacktrackingLinesearchState` (learning_rate, value, grad,
        info). Its `update` takes the keyword arguments `value` (f(w)),
        `grad` (∇f(w)), `value_fn` (f, called as ``value_fn(params,
        **extra)``) and any extra keyword arguments `value_fn` takes (a batch).

    Raises:
        ValueError: a hyperparameter out of range.
        TypeError: a wrong type; at `update`, a missing `value`, `grad` or
            `value_fn`, or an extra argument that `value_fn` does not take.

    References:
        Armijo, "Minimization of functions having Lipschitz continuous first
        partial derivatives", Pacific Journal of Mathematics 16(1), 1966.
        Nocedal & Wright, "Numerical Optimization", 2nd ed., 2006, Algorithm
        3.1 and eq. 3.4.
        Vaswani et al., "Painless Stochastic Gradient: Interpolation,
        Line-Search, and Convergence Rates", NeurIPS 2019 (the step grown by
        `increase_factor` between calls).
    """
    fn = _checks.caller("scale_by_backtracking_linesearch")
    _common.check_max_steps(fn, "max_backtracking_steps", max_backtracking_steps)
    _checks.check_interval(fn, "slope_rtol", slope_rtol, 0.0, 1.0)
    _checks.check_interval(
        fn, "decrease_factor", decrease_factor, 0.0, 1.0, high_closed=True
    )
    _checks.check_positive(fn, "decrease_factor", decrease_factor)
    if not (increase_factor == float("inf")):  # ∞ is documented: start at the max
        _checks.check_non_negative(fn, "increase_factor", increase_factor)
    _checks.check_non_negative(fn, "max_learning_rate", max_learning_rate)
    _checks.check_non_negative(fn, "atol", atol)
    _checks.check_non_negative(fn, "rtol", rtol)
    _checks.check_bool(fn, "store_grad", store_grad)
    _checks.check_bool(fn, "verbose", verbose)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        dtype = _common.real_dtype_of(params)
        return ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.array(1.0, dtype=dtype),
            value=jnp.array(jnp.inf, dtype=dtype),
            grad=optax.tree.zeros_like(params) if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=jnp.asarray(0),
                decrease_error=jnp.array(jnp.inf, dtype=dtype),
            ),
        )

    def decrease_error(stepsize, slope, value, new_value):
        error = new_value - (1.0 + rtol) * value - stepsize * slope_rtol * slope
        error = jnp.where(jnp.isnan(error), jnp.inf, error)
        return jnp.maximum(error, 0.0)

    def update_fn(
        updates,
        state,
        params=None,
        *,
        value=None,
        grad=None,
        value_fn=None,
        **extra_args,
    ):
        updates, fn_kwargs = _common.start_update(
            fn,
            updates,
            state,
            ScaleByBacktrackingLinesearchState,
            params,
            (value, grad, value_fn),
            extra_args,
        )
        if store_grad:
            _checks.check_tree_matches(fn, updates, state.grad)
        _checks.check_updates_match_params(fn, updates, params)
        loss = functools.partial(value_fn, **fn_kwargs)

        # ⟨u, g⟩: the loss's slope along u at η = 0 (< 0 for a descent direction).
        slope = optax.tree.real(optax.tree.vdot(updates, optax.tree.conj(grad)))

        def searching(trial):
            return ~(trial.decrease_error <= atol) & (
                trial.iter_num <= max_backtracking_steps
            )

        def try_next(trial):
            eta = jnp.where(
                trial.iter_num > 0,
                decrease_factor * trial.learning_rate,
                trial.learning_rate,
            )
            candidate = optax.tree.add_scale(params, eta, updates)
            new_grad = trial.new_grad
            if store_grad:
                # One forward pass gives the value and a linearisation; its
                # transpose gives the gradient, computed only when the search
                # stops here.
                new_value, jvp = jax.linearize(loss, candidate)
                error = decrease_error(eta, slope, value, new_value)
                stops = (error <= atol) | (trial.iter_num == max_backtracking_steps)
                new_grad = jax.lax.cond(
                    stops,
                    # the cotangent in the loss's own dtype (Optax passes the
                    # Python float 1.0, which fails for float32 losses
                    # under jax_enable_x64)
                    lambda p: jax.linear_transpose(jvp, p)(jnp.ones_like(new_value))[0],
                    lambda *_: new_grad,
                    candidate,
                )
            else:
                new_value = loss(candidate)
                error = decrease_error(eta, slope, value, new_value)
            nxt = _Trial(eta, new_value, new_grad, error, trial.iter_num + 1)
            return optax.tree.cast_like(nxt, other_tree=trial)

        first = _Trial(
            learning_rate=jnp.minimum(
                increase_factor * state.learning_rate, max_learning_rate
            ),
            new_value=value,
            new_grad=optax.tree.zeros_like(params),
            decrease_error=jnp.array(jnp.inf),
            iter_num=0,
        )
        last = jax.lax.while_loop(searching, try_next, first)
        # No step at all rather than one into NaN or ∞.
        eta = jnp.where(jnp.isinf(last.decrease_error), 0.0, last.learning_rate)
        if verbose:
            _report_failure(last, value, slope, atol)
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=eta,
            value=last.new_value,
            grad=last.new_grad if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=last.iter_num,
                decrease_error=last.decrease_error,
            ),
        )
        return (
            optax.tree.scale(eta, updates),
            optax.tree.cast_like(new_state, other_tree=state),
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _report_failure(last: _Trial, value, slope, atol) -> None:
    diagnostics.print_if(
        last.decrease_error > atol,
        "scale_by_backtracking_linesearch: no step size with sufficient decrease "
        "was found.\nLoss at the current params: {value}\nSlope along the "
        "update: {slope}\nLast step size: {stepsize}\nDecrease error: "
        "{decrease_error}",
        value=value,
        slope=slope,
        stepsize=last.learning_rate,
        decrease_error=last.decrease_error,
    )
    diagnostics.print_if(
        jnp.isinf(last.decrease_error),
        "The loss was NaN or infinite at every step size tried: the step size "
        "is set to 0.",
    )
