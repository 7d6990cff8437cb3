"""Complex parameters as pairs of real ones: wrap any real-valued optimizer."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import SplitRealAndImaginaryState
from optax.contrib._complex_valued import SplitRealAndImaginaryArrays

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.declarations import elementwise

__all__ = [
    "SplitRealAndImaginaryArrays",
    "SplitRealAndImaginaryState",
    "split_real_and_imaginary",
]


def _split(x: Any) -> Any:
    """A complex leaf as its (real, imaginary) pair; a real leaf as it is."""
    if jnp.iscomplexobj(x):
        return SplitRealAndImaginaryArrays(jnp.real(x), jnp.imag(x))
    return x


def _is_pair(x: Any) -> bool:
    return isinstance(x, SplitRealAndImaginaryArrays)


def _merge(x: Any) -> Any:
    """A (real, imaginary) pair as one complex leaf; anything else as it is."""
    if _is_pair(x):
        return jax.lax.complex(x.real, x.imaginary)
    return x


@elementwise
@_checks.entry_point
def split_real_and_imaginary(
    inner: optax.GradientTransformation,
) -> optax.GradientTransformation:
    """Runs `inner` on the real and imaginary parts of complex leaves as two reals.

    Lesson: a complex parameter z = x + iy is two real parameters. Adam's
    second moment of a complex gradient is |g|² = gₓ² + g_y², one scale shared
    by both parts; split, each part gets its own scale, exactly as if the
    model had been written with real parameters x and y.

    Each complex leaf of the updates and params becomes a
    `SplitRealAndImaginaryArrays(real, imaginary)` pair (Optax's node type, so
    the inner state has Optax's layout); `inner` sees only real leaves; its
    output pairs are merged back into complex leaves::

        (uₓ, u_y) = inner((Re g, Im g));   u = uₓ + i · u_y

    Real leaves pass through unchanged. JAX's gradient of a real loss with
    respect to z is the conjugate of the steepest-ascent direction: pass
    ``conj(grad)`` (see Optax issue #196).

    Args:
        inner: the transformation to run on the real pairs.

    Returns:
        An `optax.GradientTransformation` whose state is Optax's
        `SplitRealAndImaginaryState(inner_state)`.

    Raises:
        TypeError: `inner` is not a gradient transformation.

    Differences from Optax: the pair is merged with `jax.lax.complex`
    instead of ``real + imaginary * 1j``; for finite parts they are equal,
    and an infinite part no longer turns the other part into NaN
    (inf · 1j = nan + inf·i).

    References:
        Optax issue #196, "Complex-valued optimization" (the convention), and
        `optax.contrib.split_real_and_imaginary`.
    """
    fn = _checks.caller("split_real_and_imaginary")
    _checks.check_transformation(fn, "inner", inner)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return SplitRealAndImaginaryState(inner.init(jax.tree.map(_split, params)))

    def update_fn(updates, state, params=None):
        _checks.check_state(fn, state, SplitRealAndImaginaryState)
        updates = jax.tree.map(_split, updates)
        params = jax.tree.map(_split, params)
        updates, inner_state = inner.update(updates, state.inner_state, params)
        updates = jax.tree.map(_merge, updates, is_leaf=_is_pair)
        return updates, SplitRealAndImaginaryState(inner_state)

    return optax.GradientTransformation(init_fn, update_fn)
