"""Muon's dimension numbers (which axes of a parameter form its matrices) and
the scaling of each matrix's update by its shape."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MuonDimensionNumbers
from optax.transforms import MaskedNode

from jaxopt_lessons import _checks
from jaxopt_lessons.contrib import newton_schulz as ns
from jaxopt_lessons.grouping.declarations import not_elementwise

__all__ = ["check_dims", "dims_per_leaf", "is_dims_leaf", "scale_by_shape"]


def is_dims_leaf(x: Any) -> bool:
    return x is None or isinstance(x, (MuonDimensionNumbers, MaskedNode))


class _Box:
    """Holds one leaf's dimension numbers, so that a tree map keeps None."""

    def __init__(self, value: Any):
        self.value = value


def dims_per_leaf(fn: str, updates: Any, dims: Any) -> list[Any]:
    """The dimension numbers of each leaf of `updates` (None: a plain matrix).

    `dims` is None or one `MuonDimensionNumbers` for every leaf, or a tree
    that is a prefix of `updates` (None and `MuonDimensionNumbers` at its
    leaves), or a function of `updates` returning one.
    """
    if callable(dims) and not isinstance(dims, MuonDimensionNumbers):
        dims = dims(updates)
    n = len(jax.tree.leaves(updates))
    if is_dims_leaf(dims):
        return [dims] * n
    try:
        boxed = jax.tree.map(
            lambda d, sub: jax.tree.map(lambda _: _Box(d), sub),
            dims,
            updates,
            is_leaf=is_dims_leaf,
        )
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{fn}: `weight_dimension_numbers` must be None, a "
            "MuonDimensionNumbers, or a tree shaped like (a prefix of) the "
            f"updates; it does not fit them: {error}"
        ) from None
    return [b.value for b in jax.tree.leaves(boxed)]


def check_dims(fn: str, name: str, dims: Any) -> None:
    if dims is None or callable(dims):
        return
    for leaf in jax.tree.leaves(dims, is_leaf=is_dims_leaf):
        if not is_dims_leaf(leaf):
            raise TypeError(
                f"{fn}: `{name}` must hold MuonDimensionNumbers (or None) at its "
                f"leaves, got {leaf!r}."
            )


@not_elementwise("it scales each matrix by a factor of its own shape")
@_checks.entry_point
def scale_by_shape(
    weight_dimension_numbers: Any = None,
    consistent_rms: jax.typing.ArrayLike | None = None,
) -> optax.GradientTransformation:
    """Scales each matrix's update by a factor of its shape (fan_in × fan_out).

    NS gives every singular value about 1, so the entries' root mean square
    is about 1/√max(fan_in, fan_out): the factor restores a size that does
    not depend on the width::

        u ← √max(1, fan_out / fan_in) · u              (consistent_rms=None)
        u ← √max(fan_in, fan_out) · consistent_rms · u (entry RMS ≈ consistent_rms)

    The first is Jordan's (2024); the second Liu et al.'s (2025), where 0.2
    matches AdamW's typical update RMS. `weight_dimension_numbers` as in
    `scale_by_muon`. The block of `optax.contrib.muon`'s chain, which Optax
    keeps private.
    """
    fn = _checks.caller("scale_by_shape")
    check_dims(fn, "weight_dimension_numbers", weight_dimension_numbers)
    if consistent_rms is not None:
        _checks.check_non_negative(fn, "consistent_rms", consistent_rms)

    def factor(shape, dims):
        _, fan_in, fan_out = ns.matrix_shape(shape, dims)
        if consistent_rms is None:
            return jnp.sqrt(jnp.maximum(1, fan_out / fan_in))
        return jnp.sqrt(jnp.maximum(fan_in, fan_out)) * consistent_rms

    def update_fn(updates, state, params=None):
        del params
        dims = dims_per_leaf(fn, updates, weight_dimension_numbers)
        leaves, treedef = jax.tree.flatten(updates)
        scaled = [factor(u.shape, d) * u for u, d in zip(leaves, dims)]
        return jax.tree.unflatten(treedef, scaled), state

    return optax.GradientTransformation(_checks.empty_init(fn), update_fn)
