"""Adadelta: a step size in the units of the parameters, from two running averages."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByAdaDeltaState

__all__ = ["ScaleByAdaDeltaState", "scale_by_adadelta"]


@elementwise
@_checks.entry_point
def scale_by_adadelta(
    rho: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-6,
) -> optax.GradientTransformation:
    """Adadelta's step: g scaled by RMS(past steps) / RMS(gradients).

    Lesson: RMSprop's g/√v is dimensionless, so η must carry the units of the
    parameters and be tuned. Adadelta multiplies by the RMS of its own recent
    steps instead, so the step has the parameters' units and needs no
    learning rate; ε sets the size of the very first steps.

    Update rule (ρ = `rho`, E[g²]_0 = E[Δ²]_0 = 0)::

        E[g²]_t = ρ · E[g²]_{t-1} + (1 − ρ) · g_t²
        Δ_t = √(E[Δ²]_{t-1} + ε) / √(E[g²]_t + ε) · g_t
        E[Δ²]_t = ρ · E[Δ²]_{t-1} + (1 − ρ) · Δ_t²
        u_t = Δ_t

    The result points uphill, like a gradient: `adadelta` chains it with a
    negative learning rate.

    Args:
        rho: ρ, in [0, 1).
        eps: ε > 0 (with ε = 0 the first step is 0 and so is every later one).

    Returns:
        An `optax.GradientTransformation` whose state is a
        `ScaleByAdaDeltaState`.

    Raises:
        ValueError: `rho` outside [0, 1); `eps` not positive and finite.

    References:
        Zeiler, "ADADELTA: An Adaptive Learning Rate Method",
        arXiv:1212.5701, 2012, Algorithm 1.
    """
    fn = _checks.caller("scale_by_adadelta")
    _checks.check_interval(fn, "rho", rho, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByAdaDeltaState(
            e_g=tm.zeros_like(params), e_x=tm.zeros_like(params)
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByAdaDeltaState, "e_g"
        )
        steps, e_g, e_x = adadelta_step(updates, state.e_g, state.e_x, rho, eps)
        state = ScaleByAdaDeltaState(
            e_g=tm.cast_like(e_g, state.e_g), e_x=tm.cast_like(e_x, state.e_x)
        )
        return steps, state

    return optax.GradientTransformation(init_fn, update_fn)


def adadelta_step(
    grads: Any, e_g: Any, e_x: Any, rho: Any, eps: Any, *, torch_rounding: bool = False
) -> tuple[Any, Any, Any]:
    """One step of Adadelta's rule (see `scale_by_adadelta`), leaf by leaf.

    Returns (Δ_t, E[g²]_t, E[Δ²]_t) from g_t, E[g²]_{t-1} and E[Δ²]_{t-1}.
    Shared with `jaxopt_lessons.torch.adadelta`, which passes
    `torch_rounding=True` (torch's rounding; see `jaxopt_lessons.tree`).
    """
    e_g = tm.ema_update_sq(grads, e_g, rho, torch_rounding=torch_rounding)

    def delta(g, eg, ex):
        e = tm.coefficient(eps, eg, torch_rounding)
        return (jnp.sqrt(ex + e) / jnp.sqrt(eg + e)) * g

    steps = jax.tree.map(delta, grads, e_g, e_x)
    e_x = tm.ema_update_sq(steps, e_x, rho, torch_rounding=torch_rounding)
    return steps, e_g, e_x
