"""Gradient centralization: remove each output unit's mean gradient."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise

__all__ = ["centralize"]


def _centred(g: jax.Array) -> jax.Array:
    if g.ndim <= 1:
        return g
    return g - g.mean(axis=tuple(range(1, g.ndim)), keepdims=True)


@not_elementwise(
    "it subtracts each parameter array's mean over its non-leading axes: the "
    "result depends on the array's shape, which grouping flattens away"
)
@_checks.entry_point
def centralize() -> optax.GradientTransformation:
    """Subtracts, from every slice g[i] of a matrix or tensor, its own mean.

    Lesson: a constraint as a projection. For a weight matrix whose rows are
    indexed first, removing each row's mean gradient keeps the row sums of
    the weights fixed: the step stays on a hyperplane, which the authors
    find regularises the weights and smooths the loss seen by SGD or Adam.

    Update rule, for each leaf with two or more axes (vectors and scalars
    are left as they are)::

        u[i, ...] = g[i, ...] − mean(g[i, ...])

    Returns:
        A stateless `optax.GradientTransformation`.

    References:
        Yong, Huang, Hua, Zhang, "Gradient Centralization: A New Optimization
        Technique for Deep Neural Networks", ECCV 2020, eq. 4.
    """
    fn = _checks.caller("centralize")

    def update_fn(updates, state, params=None):
        _checks.check_stateless(fn, state)
        updates = tm.as_arrays(updates)
        _checks.check_updates_match_params(fn, updates, params)
        return jax.tree.map(_centred, updates), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
