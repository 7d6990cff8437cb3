"""Apply every k steps: sum k gradients, then release them as one update."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ApplyEvery

__all__ = ["ApplyEvery", "apply_every"]


def _check_k(fn: str, k: Any) -> None:
    fn = _checks.caller(fn)
    if not _checks.check_int(fn, "k", k, " (a number of steps)"):
        return
    if np.any(np.asarray(k) < 1):
        raise ValueError(f"{fn}: `k` must be >= 1, got {k!r}.")


@elementwise
@_checks.entry_point
def apply_every(k: int = 1) -> optax.GradientTransformation:
    """Accumulates the updates of k steps and emits their sum every k-th step.

    Lesson: the cheapest way to a larger batch: k small batches add up to
    the gradient of their union (times k). In between, the update is zero.
    Only this block waits: blocks before it in a chain still update their
    state every step, so chained after Adam this is not Adam on k-fold
    batches; `optax.MultiSteps` wraps a whole optimizer instead.

    Update rule, with c = t mod k (t counting calls from 0)::

        a_t = g_t                  if c = 0   (a new cycle starts)
        a_t = a_{t−1} + g_t        otherwise
        u_t = a_t                  if c = k − 1
        u_t = 0                    otherwise

    Args:
        k: the number of steps per emitted update, an int >= 1.

    Returns:
        An `optax.GradientTransformation` with state `ApplyEvery` (count,
        stored modulo k, and grad_acc, the running sum a).

    Raises:
        ValueError: `k` < 1.
        TypeError: `k` not an int; integer params.

    Note:
        Optax multiplies by 0/1 masks (0 · a + g) where this block selects
        with `where`: the same numbers for finite values, but a NaN or ∞ in
        a finished cycle's sum does not leak into the next cycle here.
    """
    fn = _checks.caller("apply_every")
    _check_k(fn, k)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ApplyEvery(
            count=jnp.zeros([], jnp.int32), grad_acc=tm.zeros_like(params)
        )

    def update_fn(updates, state, params=None):
        updates = _checks.checked_updates(fn, updates, state, ApplyEvery, "grad_acc")
        _checks.check_updates_match_params(fn, updates, params)
        phase = state.count % k
        new_cycle, emit = phase == 0, phase == k - 1
        total = jax.tree.map(
            lambda g, a: jnp.where(new_cycle, g, a + g).astype(a.dtype),
            updates,
            state.grad_acc,
        )
        out = jax.tree.map(lambda a: jnp.where(emit, a, jnp.zeros_like(a)), total)
        return out, ApplyEvery(count=tm.increment(state.count) % k, grad_acc=total)

    return optax.GradientTransformation(init_fn, update_fn)
