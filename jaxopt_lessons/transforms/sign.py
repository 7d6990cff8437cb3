"""Sign: keep only the direction of each coordinate's gradient."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.declarations import elementwise

__all__ = ["scale_by_sign"]


@elementwise
@_checks.entry_point
def scale_by_sign() -> optax.GradientTransformation:
    """Replaces each coordinate of the update by its sign: −1, 0 or +1.

    Lesson: the most extreme answer to uneven gradient scales: every
    coordinate moves by exactly the learning rate, whatever its gradient's
    size, and a few huge gradients cannot throw the parameters far. The price
    is noise: a minibatch gradient near zero still gives a full step in a
    random direction, which is why Signum takes the sign of a momentum.

    Update rule::

        u_t = sign(g_t)          (for complex g: g / |g|, and 0 at 0)

    Returns:
        A stateless `optax.GradientTransformation`.

    References:
        Bernstein, Wang, Azizzadenesheli, Anandkumar, "signSGD: Compressed
        Optimisation for Non-Convex Problems", ICML 2018, Algorithm 1.
    """

    fn = _checks.caller("scale_by_sign")

    def update_fn(updates, state, params=None):
        updates, _ = _checks.checked_stateless(fn, updates, state, params)
        return jax.tree.map(jnp.sign, updates), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
