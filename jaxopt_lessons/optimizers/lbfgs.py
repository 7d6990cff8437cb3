"""L-BFGS: a quasi-Newton direction, a step size from a line search."""

from __future__ import annotations

import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.lbfgs import scale_by_lbfgs
from jaxopt_lessons.transforms.linesearch.zoom import scale_by_zoom_linesearch
from jaxopt_lessons.transforms.scaling import scale, scale_by_learning_rate

#: The default line search, built once (as Optax's default argument is).
_DEFAULT_LINESEARCH = scale_by_zoom_linesearch(
    max_linesearch_steps=20, initial_guess_strategy="one"
)


@_checks.entry_point
def lbfgs(
    learning_rate: optax.ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: optax.GradientTransformation | None = _DEFAULT_LINESEARCH,
) -> optax.GradientTransformationExtraArgs:
    """L-BFGS: θ ← θ − η_k H_k g_k, with η_k from a line search.

    H_k is the limited-memory BFGS estimate of the inverse Hessian from the
    last `memory_size` steps (`scale_by_lbfgs` has the maths). By default
    the step size η_k comes from a zoom line search meeting the strong Wolfe
    conditions, starting from η = 1 (`scale_by_zoom_linesearch`), which keeps
    the estimate positive definite. Each step then evaluates the loss and
    its gradient a few times::

        value_and_grad = optax.value_and_grad_from_state(loss)
        value, grad = value_and_grad(params, state=state)   # reused from the search
        updates, state = opt.update(grad, state, params,
                                    value=value, grad=grad, value_fn=loss)

    Same signature, defaults and state layout as `optax.lbfgs`.

    Chain: `scale_by_lbfgs(memory_size, scale_init_precond)` →
    `scale(-1)` (or `scale_by_learning_rate(learning_rate)`) → `linesearch`
    (or nothing, when None).

    Args:
        learning_rate: None (the line search alone sets the step) or a
            fixed step size or schedule, applied before the line search.
        memory_size: the number of stored pairs, an int >= 1.
        scale_init_precond: scale the initial inverse-Hessian estimate by
            ⟨y, s⟩/⟨y, y⟩ (Nocedal & Wright, eq. 7.20).
        linesearch: a transform taking `value`, `grad` and `value_fn`, or
            None for no line search.

    Raises:
        ValueError, TypeError: an invalid hyperparameter.

    References:
        Nocedal & Wright, "Numerical Optimization", 2nd ed., Springer 2006,
        Algorithms 7.4 and 7.5.
        Liu & Nocedal, "On the limited memory BFGS method for large scale
        optimization", Mathematical Programming 45, 1989.
    """
    fn = _checks.caller("lbfgs")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate, allow_none=True)
    if linesearch is not None and not (
        hasattr(linesearch, "init") and hasattr(linesearch, "update")
    ):
        raise TypeError(
            f"{fn}: `linesearch` must be an optax.GradientTransformation or None, "
            f"got {linesearch!r}."
        )
    step = (
        scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    )
    links = [
        scale_by_lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond),
        step,
    ]
    links.append(optax.identity() if linesearch is None else linesearch)
    return _chain.chain(*links)
