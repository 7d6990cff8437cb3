"""Normalize: divide the whole gradient by its global norm (SAM's ascent direction)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import NormalizeState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import partition_invariant

__all__ = ["NormalizeState", "normalize"]


@partition_invariant
@_checks.entry_point
def normalize() -> optax.GradientTransformation:
    """Scales the updates to unit global Euclidean norm.

    Lesson: only the direction of the gradient is kept. Sharpness-aware
    minimization climbs a fixed distance ρ from the current point along
    g / ‖g‖ before it measures the gradient it descends with; chained before
    `sgd(ρ)`, this block gives that climb.

    Update rule (the norm runs over every entry of every leaf together)::

        u_t = g_t / ‖g_t‖₂          (u_t = 0 where ‖g_t‖₂ = 0)

    Returns:
        An `optax.GradientTransformation`; its state is `NormalizeState`
        (Optax's, which is `optax.EmptyState`).

    Differences from Optax: a zero gradient gives a zero update; Optax's
    `optax.contrib.normalize` divides 0 by 0 and returns NaN, which SAM then
    adds to the parameters. Each leaf's result keeps the leaf's dtype.

    References:
        Foret, Kleiner, Mobahi, Neyshabur, "Sharpness-Aware Minimization for
        Efficiently Improving Generalization", ICLR 2021, eq. 2 (the
        first-order solution ε̂ = ρ · g / ‖g‖₂).
    """
    fn = _checks.caller("normalize")

    def update_fn(updates, state, params=None):
        updates, _ = _checks.checked_stateless(fn, updates, state, params)
        norm = tm.global_norm(updates)
        norm = jnp.where(norm == 0, jnp.ones_like(norm), norm)
        return jax.tree.map(lambda g: (g / norm).astype(g.dtype), updates), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
