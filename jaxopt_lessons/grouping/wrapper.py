"""`grouped(tx)`: an elementwise optimizer run on a few flat buffers."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.check import check_elementwise
from jaxopt_lessons.grouping.layout import (
    DEFAULT_PLAIN_MAX_LEAF_SIZE,
    GroupedTree,
    Layout,
    check_max_leaf_size,
    check_multiple_of,
    group,
    is_grouped,
)

__all__ = ["grouped"]


def _layout_in(state: Any) -> Layout | None:
    """The layout of the first grouped tree inside an optimizer state, if any."""
    for node in jax.tree.leaves(state, is_leaf=is_grouped):
        if isinstance(node, GroupedTree):
            return node.layout
    return None


def grouped(
    tx: optax.GradientTransformation,
    max_leaf_size: int | None = None,
    *,
    name: str | None = None,
    multiple_of: int = 1,
) -> optax.GradientTransformationExtraArgs:
    """Runs an elementwise optimizer on a few flat buffers instead of every leaf.

    Lesson: see the module docstring. The numbers are those of `tx` run leaf
    by leaf (same operations on the same values; XLA may round a fused
    expression differently, within float32 rounding).

    Args:
        tx: an elementwise `optax.GradientTransformation` (every optimizer in
            this package except those declared otherwise; Optax's too).
        max_leaf_size: leaves with more elements keep their own buffer (used
            when `init` gets an ordinary tree; a `GroupedTree` keeps its own).
            Default: `DEFAULT_PLAIN_MAX_LEAF_SIZE` (2^10), lower than
            `group`'s, because on ordinary trees every grouped element is
            copied in and out of the buffers each step.
        name: how to name `tx` in error messages.
        multiple_of: pad each flat buffer to a multiple of this many elements
            (used when `init` gets an ordinary tree), e.g. so that its state
            splits evenly over devices.

    Returns:
        An `optax.GradientTransformationExtraArgs`. `init` accepts a tree or a
        `GroupedTree` and returns `tx`'s state built on grouped buffers.
        `update(grads, state, params)` accepts grouped gradients (returns
        grouped updates, the fast path) or ordinary trees (returns ordinary
        updates).

    Raises:
        NotElementwiseError: from `init`, when `tx` is not elementwise (the
            message names the transform and the operation).
        ValueError: a negative `max_leaf_size`; gradients not shaped like the
            parameters given to `init`.
    """
    fn = "grouped"
    if max_leaf_size is None:
        max_leaf_size = DEFAULT_PLAIN_MAX_LEAF_SIZE
    max_leaf_size = check_max_leaf_size(fn, max_leaf_size)
    multiple_of = check_multiple_of(fn, multiple_of)
    _checks.check_transformation(fn, "tx", tx)
    update_with_extra = optax.with_extra_args_support(tx).update

    def init_fn(params):
        packed = group(params, max_leaf_size, multiple_of=multiple_of)
        check_elementwise(tx, packed, name=name)
        return tx.init(packed)

    def update_fn(updates, state, params=None, **extra_args):
        if isinstance(updates, GroupedTree):
            if params is not None and not isinstance(params, GroupedTree):
                params = updates.regroup(params)
            return update_with_extra(updates, state, params, **extra_args)
        layout = _layout_in(state)
        if layout is not None:  # pack exactly as the state was built
            packed = layout.pack(updates, fn=fn)
        else:  # a stateless transform
            packed = group(updates, max_leaf_size, multiple_of=multiple_of)
        if params is not None:
            params = packed.regroup(params)
        new, state = update_with_extra(packed, state, params, **extra_args)
        # In the structure of the gradients given (which may differ from the
        # init tree's by wrappers around leaves, see `Layout.leaves_of`).
        return new.layout.unpack(new.buffers, jax.tree.structure(updates)), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
