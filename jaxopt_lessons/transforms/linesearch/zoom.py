"""Zoom line search: a step size meeting the strong Wolfe conditions."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import (
    ScaleByZoomLinesearchState,
    ZoomLinesearchInfo,
)
from jaxopt_lessons.transforms.linesearch import _common, wolfe, zoom_phases

__all__ = [
    "ScaleByZoomLinesearchState",
    "ZoomLinesearchInfo",
    "scale_by_zoom_linesearch",
]

_GUESSES = ("one", "keep")


@not_elementwise(
    "the step size comes from the loss and its slope along the update for the "
    "whole model (value_fn and ⟨∇f, u⟩ over every coordinate together)"
)
@_checks.entry_point
def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: jax.typing.ArrayLike | None = None,
    tol: jax.typing.ArrayLike = 0.0,
    increase_factor: jax.typing.ArrayLike = 2.0,
    slope_rtol: jax.typing.ArrayLike = 1e-4,
    curv_rtol: jax.typing.ArrayLike = 0.9,
    approx_dec_rtol: jax.typing.ArrayLike | None = 1e-6,
    stepsize_precision: jax.typing.ArrayLike = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """Scales the update u by a step size η meeting the strong Wolfe conditions.

    Lesson: sufficient decrease alone (backtracking) accepts steps that are
    far too short. The curvature condition also asks the slope to have
    flattened: |φ'(η)| <= c₂ |φ'(0)|, so η is near a minimum of the loss
    along u. Quasi-Newton methods need it: it guarantees ⟨y, s⟩ > 0, which
    keeps L-BFGS's inverse-Hessian estimate positive definite.

    With φ(η) = f(w + η u) and φ'(η) = ⟨∇f(w + η u), u⟩, η must satisfy::

        φ(η) <= φ(0) + c₁ η φ'(0) + tol           (sufficient decrease)
        |φ'(η)| <= c₂ |φ'(0)| + tol                (small curvature)

    or, in place of the first near a minimum (the values then differ by
    less than their rounding), Hager and Zhang's approximate condition
    φ'(η) <= (2c₁ − 1) φ'(0) while φ(η) <= φ(0) + c₃ |φ(0)|.

    The search brackets an interval that contains such an η, then zooms in
    by cubic or quadratic interpolation (`zoom_phases`: Nocedal & Wright,
    Algorithms 3.5 and 3.6). It starts at η₁ = 1 (``"one"``, for Newton-like
    directions such as L-BFGS's) or at the last accepted η (``"keep"``, for
    gradient directions). Every trial computes f and ∇f; the value and
    gradient at the accepted point are stored, and
    `optax.value_and_grad_from_state` reuses them as the next step's.

    If no η meets both conditions within `max_linesearch_steps` trials (or
    the interval gets shorter than `stepsize_precision`), the best η with
    sufficient decrease is used; without one, the last η tried, or η = 0 if
    the loss was NaN or ∞ there. `info` holds both errors (0: met).

    Args:
        max_linesearch_steps: the number of trials (an int >= 0).
        max_learning_rate: the largest η tried (> 0), or None for no bound.
        tol: >= 0, slack in both conditions.
        increase_factor: > 1, the growth of η while bracketing.
        slope_rtol: c₁ in [0, 1).
        curv_rtol: c₂ > 0 (∞ switches the curvature condition off).
        approx_dec_rtol: c₃ >= 0, or None to use Armijo's condition alone.
        stepsize_precision: > 0; an interval shorter than this ends the
            search at the best point with sufficient decrease.
        initial_guess_strategy: ``"one"`` or ``"keep"`` (see above).
        verbose: print why a search failed.

    Returns:
        An `optax.GradientTransformationExtraArgs` with state
        `ScaleByZoomLinesearchState` (learning_rate, value, grad, info). Its
        `update` takes the keyword arguments `value`, `grad`, `value_fn`
        (called as ``value_fn(params, **extra)``) and the extra keyword
        arguments `value_fn` takes.

    Raises:
        ValueError: a hyperparameter out of range, an unknown
            `initial_guess_strategy` (Optax raises only at `update`).
        TypeError: a wrong type; at `update`, a missing `value`, `grad` or
            `value_fn`, or an extra argument `value_fn` does not take.

    References:
        Nocedal & Wright, "Numerical Optimization", 2nd ed., Springer 2006,
        section 3.5, Algorithms 3.5 and 3.6, eq. 3.7 (strong Wolfe).
        Hager & Zhang, "Algorithm 851: CG_DESCENT, a conjugate gradient
        method with guaranteed descent", ACM TOMS 32(1), 2006, eq. 23
        (approximate Wolfe conditions) and 26-27.
    """
    fn = _checks.caller("scale_by_zoom_linesearch")
    _common.check_max_steps(fn, "max_linesearch_steps", max_linesearch_steps)
    if max_learning_rate is not None:
        _checks.check_positive(fn, "max_learning_rate", max_learning_rate)
    _checks.check_non_negative(fn, "tol", tol)
    _check_above_one(fn, "increase_factor", increase_factor)
    _checks.check_interval(fn, "slope_rtol", slope_rtol, 0.0, 1.0)
    if not _is_inf(curv_rtol):  # ∞ is documented: no curvature condition
        _checks.check_positive(fn, "curv_rtol", curv_rtol)
    if approx_dec_rtol is not None:
        _checks.check_non_negative(fn, "approx_dec_rtol", approx_dec_rtol)
    _checks.check_positive(fn, "stepsize_precision", stepsize_precision)
    if initial_guess_strategy not in _GUESSES:
        raise ValueError(
            f"{fn}: `initial_guess_strategy` must be one of {_GUESSES}, got "
            f"{initial_guess_strategy!r}."
        )
    _checks.check_bool(fn, "verbose", verbose)
    criteria = wolfe.Criteria(
        max_steps=max_linesearch_steps,
        max_stepsize=max_learning_rate,
        tol=tol,
        increase_factor=increase_factor,
        slope_rtol=slope_rtol,
        curv_rtol=curv_rtol,
        approx_dec_rtol=approx_dec_rtol,
        interval_threshold=stepsize_precision,
        verbose=verbose,
    )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        dtype = _common.real_dtype_of(params)
        return ScaleByZoomLinesearchState(
            learning_rate=jnp.asarray(1.0, dtype=dtype),
            value=jnp.asarray(jnp.inf, dtype=dtype),
            grad=optax.tree.zeros_like(params),
            info=ZoomLinesearchInfo(
                num_linesearch_steps=jnp.asarray(0),
                decrease_error=jnp.asarray(jnp.inf),
                curvature_error=jnp.asarray(jnp.inf),
            ),
        )

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
            ScaleByZoomLinesearchState,
            params,
            (value, grad, value_fn),
            extra_args,
        )
        _checks.check_tree_matches(fn, updates, state.grad)
        _checks.check_updates_match_params(fn, updates, params)
        value_and_grad = functools.partial(jax.value_and_grad(value_fn), **fn_kwargs)

        guess = (
            jnp.asarray(1.0) if initial_guess_strategy == "one" else state.learning_rate
        )
        first = zoom_phases.start(
            updates, params, value=value, grad=grad, stepsize_guess=guess
        )
        last = jax.lax.while_loop(
            zoom_phases.searching,
            lambda s: zoom_phases.step(criteria, s, value_and_grad),
            first,
        )
        new_state = ScaleByZoomLinesearchState(
            learning_rate=last.stepsize,
            value=last.value,
            grad=last.grad,
            info=ZoomLinesearchInfo(
                num_linesearch_steps=last.count,
                decrease_error=last.decrease_error,
                curvature_error=last.curvature_error,
            ),
        )
        return (
            optax.tree.scale(last.stepsize, updates),
            optax.tree.cast_like(new_state, other_tree=state),
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _is_inf(value) -> bool:
    """True for a concrete +∞ (NumPy, not jnp: this runs inside traces too)."""
    if isinstance(value, jax.core.Tracer):
        return False
    try:
        return bool(np.all(np.isposinf(np.asarray(value, dtype=float))))
    except (TypeError, ValueError):
        return False


def _check_above_one(fn: str, name: str, value) -> None:
    """A growth factor: finite and > 1 (at <= 1 the bracketing never grows η)."""
    _checks.check_positive(fn, name, value)
    if isinstance(value, jax.core.Tracer):
        return
    if not np.all(np.asarray(value, dtype=float) > 1):
        raise ValueError(
            f"{_checks.caller(fn)}: `{name}` must be > 1 (the bracketing phase "
            f"multiplies the step size by it), got {value!r}."
        )
