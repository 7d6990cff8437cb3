"""The grouped representation: a tree's small leaves laid end to end.

`group(tree)` lays every leaf of at most `max_leaf_size` elements end to end,
one flat buffer per dtype, and keeps larger leaves as they are. The result, a
`GroupedTree`, is a pytree whose leaves are those few buffers, so `jax.grad`,
`optax.apply_updates` and any elementwise optimizer work on it unchanged;
`ungroup()` gives the original tree back. A `Layout` says where each leaf
lives; it is static (part of the pytree structure), and the params, the
gradients and every state tree of an optimizer share it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "DEFAULT_MAX_LEAF_SIZE",
    "DEFAULT_PLAIN_MAX_LEAF_SIZE",
    "GroupedTree",
    "Layout",
    "check_max_leaf_size",
    "check_multiple_of",
    "group",
    "is_grouped",
    "layout_of",
]

#: Leaves up to this many elements go into the flat buffers by default. Above
#: it an array already runs at memory speed alone (measured on a 2-core CPU:
#: 256x256 weight matrices updated per array beat one concatenated buffer).
DEFAULT_MAX_LEAF_SIZE: int = 2**14

#: The same threshold when `grouped(tx)` gets ordinary trees. Then the
#: gradients are copied into the buffers and the updates out of them every
#: step, about 8 extra bytes per element, which outweighs the saved per-array
#: overhead above about 2^11 elements (measured on a 2-core CPU, Adam update
#: on 2^20 floats: grouped / per leaf 0.70 for leaves of 2^10, 0.82 for 2^11,
#: 1.1 for 2^12 to 2^14).
DEFAULT_PLAIN_MAX_LEAF_SIZE: int = 2**10


@dataclasses.dataclass(frozen=True)
class _Slot:
    """Where one leaf lives: in flat buffer `buffer` at `offset`, or alone."""

    shape: tuple[int, ...]
    dtype: str
    buffer: int  # index into GroupedTree.buffers
    offset: int  # start in the flat buffer; -1 for a leaf stored alone


@dataclasses.dataclass(frozen=True)
class Layout:
    """How a tree maps onto buffers: static, hashable, shared by params and state."""

    treedef: Any
    slots: tuple[_Slot, ...]
    buffer_shapes: tuple[tuple[int, ...], ...]
    buffer_dtypes: tuple[str, ...]
    n_groups: int  # the first n_groups buffers are flat groups, the rest alone
    # Elements of each flat group in use; the rest of the buffer, up to its
    # padded length, holds zeros (see `layout_of`'s `multiple_of`).
    used: tuple[int, ...] = ()

    def padding(self, b: int) -> int:
        """Zeros at the end of flat buffer `b`."""
        return self.buffer_shapes[b][0] - self.used[b] if self.used else 0

    def pack(self, tree: Any, *, fn: str = "group") -> GroupedTree:
        """Lays the leaves of `tree` (shaped like the layout's tree) into buffers."""
        leaves = self.leaves_of(tree, fn=fn)
        parts: list[list[jax.Array]] = [[] for _ in self.buffer_shapes]
        for slot, leaf in zip(self.slots, leaves, strict=True):
            if tuple(jnp.shape(leaf)) != slot.shape:
                raise ValueError(
                    f"{fn}: a leaf has shape {jnp.shape(leaf)}, the buffers were built "
                    f"for shape {slot.shape}."
                )
            if not isinstance(leaf, jax.core.Tracer) and slot.offset >= 0:
                leaf = np.asarray(leaf, slot.dtype)  # host side, see below
            else:
                leaf = jnp.asarray(leaf, slot.dtype)
            parts[slot.buffer].append(leaf.reshape(-1) if slot.offset >= 0 else leaf)
        # Concrete arrays are laid out on the host: an eager `jnp.concatenate`
        # of thousands of arrays would first compile a program of that size.
        concrete = not any(isinstance(x, jax.core.Tracer) for x in leaves)
        for i in range(self.n_groups):
            if self.padding(i):
                zeros = np.zeros if concrete else jnp.zeros
                parts[i].append(
                    zeros((self.padding(i),), jnp.dtype(self.buffer_dtypes[i]))
                )
        buffers = []
        for i, chunk in enumerate(parts):
            if i >= self.n_groups or len(chunk) == 1:
                # A copy, so that donating the grouped buffers to a train step
                # never deletes the arrays of the tree they were made from.
                buffers.append(jnp.array(chunk[0]) if concrete else chunk[0])
            elif concrete:
                buffers.append(
                    jnp.asarray(np.concatenate([np.asarray(c) for c in chunk]))
                )
            else:
                buffers.append(jnp.concatenate(chunk))
        return GroupedTree(tuple(buffers), self)

    def leaves_of(self, tree: Any, *, fn: str) -> list[Any]:
        """The leaves of `tree`, checked to sit where the layout's leaves sit.

        The structure must be the layout's, up to wrappers around single
        leaves: Flax NNX, for one, builds the state from parameters wrapped in
        `nnx.Param` and then passes plain arrays to `update`. So two trees
        match when their leaves are as many and each leaf's path in one is a
        prefix of its path in the other.
        """
        leaves, treedef = jax.tree.flatten(tree)
        if treedef == self.treedef:
            return leaves
        paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
        mine = self._paths()
        if len(paths) == len(mine) and all(
            a[: len(b)] == b or b[: len(a)] == a for a, b in zip(paths, mine)
        ):
            return leaves
        raise ValueError(
            f"{fn}: the tree does not have the structure the buffers were built "
            f"for.\n  got:      {treedef}\n  expected: {self.treedef}"
        )

    def _paths(self) -> list[tuple]:
        if "_paths_cache" not in self.__dict__:
            template = jax.tree.unflatten(self.treedef, [0] * len(self.slots))
            paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(template)[0]]
            object.__setattr__(self, "_paths_cache", paths)
        return self.__dict__["_paths_cache"]

    def unpack(self, buffers: tuple[Any, ...], treedef: Any = None) -> Any:
        """The tree back from its buffers (static slices, cheap under `jit`).

        Concrete buffers are sliced on the host: outside `jit` every distinct
        slice would otherwise be compiled on its own.
        """
        treedef = self.treedef if treedef is None else treedef
        if not any(isinstance(b, jax.core.Tracer) for b in buffers):
            return self._unpack_concrete(buffers, treedef)
        # One `split` per flat buffer, not a slice per leaf: the transpose of
        # `split` is one `concatenate`, so the gradient with respect to the
        # buffer is packed in one pass. (A slice transposes to a `pad` of the
        # whole buffer, and the per-leaf pads then have to be added up: a
        # cost of leaves x buffer size.)
        pieces: dict[int, list[jax.Array]] = {}
        for b in range(self.n_groups):
            sizes = [math.prod(s.shape) for s in self.slots if s.buffer == b]
            pad = [self.padding(b)] if self.padding(b) else []
            pieces[b] = list(jax.lax.split(buffers[b], sizes + pad))[: len(sizes)][::-1]
        leaves = []
        for slot in self.slots:
            if slot.offset < 0:
                leaves.append(buffers[slot.buffer])
            else:
                leaves.append(pieces[slot.buffer].pop().reshape(slot.shape))
        return jax.tree.unflatten(treedef, leaves)

    def _unpack_concrete(self, buffers: tuple[Any, ...], treedef: Any) -> Any:
        host = [np.asarray(b) for b in buffers]
        leaves = []
        for slot in self.slots:
            if slot.offset < 0:
                leaves.append(jnp.array(buffers[slot.buffer]))
            else:
                size = math.prod(slot.shape)
                piece = host[slot.buffer][slot.offset : slot.offset + size]
                leaves.append(piece.reshape(slot.shape))
        devices = [getattr(b, "devices", lambda: set())() for b in buffers]
        device = next(iter(devices[0])) if devices and len(devices[0]) == 1 else None
        leaves = jax.device_put(leaves, device)
        return jax.tree.unflatten(treedef, leaves)


@jax.tree_util.register_pytree_node_class
class GroupedTree:
    """A pytree stored as a few buffers: one flat buffer per dtype, plus large leaves.

    Its pytree leaves are the buffers, so every elementwise optimizer, `jax.grad`
    and `optax.apply_updates` work on it directly. `ungroup()` gives back the
    original tree (for the model).

    Attributes:
        buffers: the flat group buffers (1-D, one per dtype), then the leaves
            too large to group, in their own shapes.
        layout: where each original leaf lives (static).
    """

    def __init__(self, buffers: tuple[Any, ...], layout: Layout):
        self.buffers = tuple(buffers)
        self.layout = layout

    def tree_flatten(self):
        return self.buffers, self.layout

    @classmethod
    def tree_unflatten(cls, layout, buffers):
        return cls(tuple(buffers), layout)

    def ungroup(self) -> Any:
        """The original tree: each leaf a slice of its buffer, in its own shape."""
        return self.layout.unpack(self.buffers)

    def regroup(self, tree: Any) -> GroupedTree:
        """Packs another tree of the same structure (e.g. gradients) the same way."""
        return self.layout.pack(tree, fn="GroupedTree.regroup")

    @property
    def num_leaves(self) -> int:
        """How many leaves the original tree has."""
        return len(self.layout.slots)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{b.dtype}{list(b.shape)}" for b in self.buffers)
        return f"GroupedTree({self.num_leaves} leaves in {len(self.buffers)} buffers: {shapes})"


def is_grouped(tree: Any) -> bool:
    """True for a `GroupedTree`."""
    return isinstance(tree, GroupedTree)


def check_max_leaf_size(fn: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{fn}: `max_leaf_size` must be an int >= 0, got {value!r}.")
    return int(value)


def check_multiple_of(fn: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{fn}: `multiple_of` must be an int >= 1, got {value!r}.")
    return int(value)


def layout_of(
    tree: Any, max_leaf_size: int = DEFAULT_MAX_LEAF_SIZE, *, multiple_of: int = 1
) -> Layout:
    """The layout `group` would use for `tree` (shapes and dtypes only).

    Leaves with at most `max_leaf_size` elements share one flat buffer per
    dtype, in tree order; larger leaves keep their own buffer. Each flat
    buffer is padded with zeros to a multiple of `multiple_of` elements.
    """
    fn = "group"
    max_leaf_size = check_max_leaf_size(fn, max_leaf_size)
    multiple_of = check_multiple_of(fn, multiple_of)
    leaves, treedef = jax.tree.flatten(tree)
    if not leaves:
        raise ValueError(f"{fn}: the tree has no leaves to group.")
    info = []
    for leaf in leaves:
        dtype = jnp.dtype(getattr(leaf, "dtype", None) or np.asarray(leaf).dtype)
        info.append((tuple(jnp.shape(leaf)), dtype.name))
    group_dtypes: list[str] = []
    for shape, dtype in info:
        if math.prod(shape) <= max_leaf_size and dtype not in group_dtypes:
            group_dtypes.append(dtype)
    sizes = dict.fromkeys(group_dtypes, 0)
    n_groups = len(group_dtypes)
    alone: list[tuple[tuple[int, ...], str]] = []
    slots = []
    for shape, dtype in info:
        size = math.prod(shape)
        if size <= max_leaf_size:
            slots.append(_Slot(shape, dtype, group_dtypes.index(dtype), sizes[dtype]))
            sizes[dtype] += size
        else:
            slots.append(_Slot(shape, dtype, n_groups + len(alone), -1))
            alone.append((shape, dtype))
    used = tuple(sizes[d] for d in group_dtypes)
    padded = tuple(-(-n // multiple_of) * multiple_of for n in used)
    return Layout(
        treedef=treedef,
        slots=tuple(slots),
        buffer_shapes=tuple((n,) for n in padded) + tuple(s for s, _ in alone),
        buffer_dtypes=tuple(group_dtypes) + tuple(d for _, d in alone),
        n_groups=n_groups,
        used=used if padded != used else (),
    )


def group(
    tree: Any, max_leaf_size: int = DEFAULT_MAX_LEAF_SIZE, *, multiple_of: int = 1
) -> GroupedTree:
    """Lays a tree's small leaves end to end, one flat buffer per dtype.

    Args:
        tree: parameters (or any pytree of arrays).
        max_leaf_size: leaves with more elements than this keep their own
            buffer; 0 keeps every leaf alone, a huge value groups everything.
        multiple_of: pad each flat buffer with zeros to a multiple of this
            many elements (e.g. the number of devices it is split over). The
            padding has zero parameters and zero gradients, so an elementwise
            optimizer keeps it at zero; `ungroup()` drops it.

    Returns:
        A `GroupedTree`; ``group(tree).ungroup()`` equals `tree`.

    Raises:
        ValueError: a tree without leaves, a negative `max_leaf_size`, a
            `multiple_of` below 1.
    """
    if isinstance(tree, GroupedTree):
        return tree
    return layout_of(tree, max_leaf_size, multiple_of=multiple_of).pack(tree)
