"""Grouped execution: many small parameter arrays updated as a few flat buffers.

Lesson: an elementwise optimizer (SGD, momentum, RMSprop, Adam, ...) does the
same arithmetic on every coordinate, whichever array the coordinate lives in.
So the thousands of small arrays of a model can be laid end to end in one flat
buffer per dtype and updated in one go. The numbers do not change; what
changes is the cost of the step. On a CPU, XLA pays about 20 µs and 10 ms of
compile time per array per step (measured on a 2-core machine, 4000 arrays of
256 floats); one flat buffer pays that once.

Two ways to use it:

1. Keep the parameters grouped for the whole run (the fast way)::

       params = jol.group(params)              # a GroupedTree: a few buffers
       opt = jol.grouped(jol.adam(1e-3))
       state = opt.init(params)
       def loss_fn(params, batch):             # the model sees the usual tree
           return model_loss(params.ungroup(), batch)
       # jax.grad(loss_fn)(params, batch) is a GroupedTree too

   (`jaxopt_lessons.training.make_train_step` does this for you.)

2. Wrap an optimizer and feed it ordinary trees: ``grouped(tx).update`` packs
   the gradients, runs `tx` on the buffers and unpacks the updates. The state
   is grouped; the parameters and gradients still cross the `jit` boundary
   one array at a time, so this saves less.

Only leaves with at most `max_leaf_size` elements are grouped: large arrays
already run at memory speed on their own, and on a CPU one big concatenated
buffer was measured *slower* than the per-array update for transformer-sized
arrays. Large leaves stay as they are, inside the same `GroupedTree`. The way
2 copies every grouped element in and out each step, so it groups only
leaves of up to 2^10 elements by default (`DEFAULT_PLAIN_MAX_LEAF_SIZE`),
where the way 1 groups up to 2^14 (`DEFAULT_MAX_LEAF_SIZE`).

Which transforms can be grouped: a transform can be grouped if its update
treats every coordinate alike and the coordinates do not interact: the
update is elementwise, and any scalars (step counts, schedules) are the same
for every leaf. `grouped` checks this before it builds the state, in three
ways:

- explicit declarations: ``@not_elementwise("why")`` on a transform factory
  refuses it with that reason; ``@partition_invariant`` on a factory accepts
  it even though it reduces over leaves, because its result does not depend
  on how the coordinates are split into arrays (a global norm);
- the traced update (its jaxpr) must use only elementwise operations on
  parameter-sized arrays (reductions, reshapes, sorting, random numbers,
  loops over data are refused and named);
- on a small probe tree with matrices, the state must be shaped like the
  parameters (factored moments such as Adafactor's are refused).

Unknown transforms go through the same checks; anything the check cannot
prove elementwise is refused, with the transform's name and the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "DEFAULT_MAX_LEAF_SIZE",
    "DEFAULT_PLAIN_MAX_LEAF_SIZE",
    "GroupedTree",
    "NotElementwiseError",
    "check_elementwise",
    "group",
    "grouped",
    "is_grouped",
    "not_elementwise",
    "partition_invariant",
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


class NotElementwiseError(ValueError):
    """Raised when an optimizer cannot be run on grouped (flat) buffers."""


# --------------------------------------------------------------------------
# The grouped representation
# --------------------------------------------------------------------------


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
            pieces[b] = list(jax.lax.split(buffers[b], sizes))[::-1]
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


def _check_max_leaf_size(fn: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{fn}: `max_leaf_size` must be an int >= 0, got {value!r}.")
    return int(value)


def layout_of(tree: Any, max_leaf_size: int = DEFAULT_MAX_LEAF_SIZE) -> Layout:
    """The layout `group` would use for `tree` (shapes and dtypes only).

    Leaves with at most `max_leaf_size` elements share one flat buffer per
    dtype, in tree order; larger leaves keep their own buffer.
    """
    fn = "group"
    max_leaf_size = _check_max_leaf_size(fn, max_leaf_size)
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
    return Layout(
        treedef=treedef,
        slots=tuple(slots),
        buffer_shapes=tuple((sizes[d],) for d in group_dtypes)
        + tuple(s for s, _ in alone),
        buffer_dtypes=tuple(group_dtypes) + tuple(d for _, d in alone),
        n_groups=n_groups,
    )


def group(tree: Any, max_leaf_size: int = DEFAULT_MAX_LEAF_SIZE) -> GroupedTree:
    """Lays a tree's small leaves end to end, one flat buffer per dtype.

    Args:
        tree: parameters (or any pytree of arrays).
        max_leaf_size: leaves with more elements than this keep their own
            buffer; 0 keeps every leaf alone, a huge value groups everything.

    Returns:
        A `GroupedTree`; ``group(tree).ungroup()`` equals `tree`.

    Raises:
        ValueError: a tree without leaves, or a negative `max_leaf_size`.
    """
    if isinstance(tree, GroupedTree):
        return tree
    return layout_of(tree, max_leaf_size).pack(tree)


# --------------------------------------------------------------------------
# Which transforms may run on grouped buffers
# --------------------------------------------------------------------------

# (source file, factory qualname) -> reason it cannot be grouped, or None when
# declared partition-invariant (accepted even though it reduces).
_DECLARED: dict[tuple[str, str], str | None] = {}


def _key(factory: Callable) -> tuple[str, str]:
    fn = inspect.unwrap(factory)
    try:
        path = inspect.getsourcefile(fn) or ""
    except TypeError:
        path = ""
    return os.path.realpath(path) if path else "", fn.__qualname__


def not_elementwise(reason: str) -> Callable[[Callable], Callable]:
    """Declares a transform factory unfit for grouping; use as a decorator.

    ``@not_elementwise("divides each leaf by its own norm")`` above
    ``def scale_by_trust_ratio(...)``: `grouped` then refuses any optimizer
    that contains it, quoting `reason`. The factory is returned unchanged.

    Raises:
        TypeError: `reason` is not a non-empty string.
    """
    if not isinstance(reason, str) or not reason:
        raise TypeError(
            f"not_elementwise: `reason` must be a non-empty str, got {reason!r}."
        )

    def declare(factory: Callable) -> Callable:
        _DECLARED[_key(factory)] = reason
        return factory

    return declare


def partition_invariant(factory: Callable) -> Callable:
    """Declares that a factory's result does not depend on how coordinates are
    split into arrays, although it reduces over them (e.g. clipping by the
    global norm of all gradients). `grouped` then accepts its reductions.

    Grouped and per-leaf results then agree up to the order of a sum. Use as
    a decorator; the factory is returned unchanged.
    """
    _DECLARED[_key(factory)] = None
    return factory


def _declare_optax() -> None:
    """Optax's own transforms whose status the jaxpr check cannot see."""
    if ("optax", "done") in _DECLARED:
        return
    _DECLARED[("optax", "done")] = None
    _DECLARED[_key(optax.masked)] = (
        "optax.masked chooses leaves by the tree's structure, which grouping "
        "replaces by flat buffers (a `mask=` argument, e.g. adamw's, does this)"
    )
    _DECLARED[_key(optax.partition)] = (
        "optax.partition labels leaves by the tree's structure, which grouping "
        "replaces by flat buffers"
    )
    partition_invariant(optax.clip_by_global_norm)


# Operations that act on each coordinate by itself.
_ELEMENTWISE_PRIMITIVES = frozenset(
    """abs acos acosh add and asin asinh atan atan2 atanh cbrt ceil clamp complex
    conj convert_element_type copy copy_p cos cosh digamma div eq erf erf_inv erfc
    exp exp2 expm1 floor ge gt igamma imag integer_pow is_finite le lgamma log
    log1p logistic lt max min mul ne neg nextafter not or pow real reduce_precision
    rem round rsqrt select_n sign sin sinh sqrt square sub tan tanh xor
    """.split()
)
# Operations that only wrap another jaxpr: their body is checked instead.
_CALLS = frozenset(
    "pjit jit closed_call core_call custom_jvp_call custom_vjp_call "
    "custom_vjp_call_jaxpr remat checkpoint cond".split()
)


def _size(var: Any) -> int:
    shape = getattr(getattr(var, "aval", None), "shape", ())
    return math.prod(shape)


def _owner(eqn: Any) -> tuple[str, str, bool | None]:
    """(factory name, file, declared status) of the transform that emitted `eqn`.

    The declared status is None when undeclared, True for partition-invariant,
    and a reason string when declared not elementwise.
    """
    frames = list(eqn.source_info.traceback.frames) if eqn.source_info.traceback else []
    name, where = "", ""
    for frame in frames:  # innermost first
        path = os.path.realpath(frame.file_name)
        qual = frame.function_name
        for (dfile, dname), reason in _DECLARED.items():
            if path == dfile and (
                qual == dname or qual.startswith(dname + ".<locals>")
            ):
                return dname, path, True if reason is None else reason
        if not name and "<locals>.update_fn" in qual:
            name, where = qual.split(".<locals>")[0], path
    return name, where, None


def _walk(jaxpr: Any, problems: list[str], outer: tuple = ("", "", None)) -> None:
    """Appends a line to `problems` for each operation that is not elementwise.

    `outer` is the owner of the call that holds this jaxpr: operations inside
    a nested `jit` carry only the inner function's frames.
    """
    from jax.extend.core import jaxprs_in_params

    for eqn in jaxpr.eqns:
        prim = eqn.primitive.name
        all_vars = list(eqn.invars) + list(eqn.outvars)
        name, where, declared = _owner(eqn)
        if declared is None and outer[2] is not None:
            name, where, declared = outer
        elif not name:
            name, where = outer[0], outer[1]
        if isinstance(declared, str):
            problems.append(f"`{name}` is declared not elementwise: {declared}")
            continue
        if declared is True:
            continue
        if all(_size(v) <= 1 for v in all_vars):
            continue  # step counts, schedules, hyperparameters
        if prim in _ELEMENTWISE_PRIMITIVES:
            continue
        if prim == "broadcast_in_dim" and all(_size(v) <= 1 for v in eqn.invars):
            continue  # a scalar spread over a leaf
        if prim in _CALLS:
            if prim == "cond" and _size(eqn.invars[0]) > 1:
                problems.append(
                    _describe(prim, eqn, name, where, "branches per coordinate")
                )
                continue
            for sub in jaxprs_in_params(eqn.params):
                _walk(sub, problems, (name, where, declared))
            continue
        problems.append(_describe(prim, eqn, name, where, None))


def _describe(prim: str, eqn: Any, name: str, where: str, why: str | None) -> str:
    shapes = [tuple(v.aval.shape) for v in eqn.invars if hasattr(v, "aval")]
    owner = f"`{name}` ({os.path.basename(where)})" if name else "the update"
    if why is None:
        if prim.startswith("reduce") or prim in ("argmax", "argmin", "dot_general"):
            why = "it reduces over a whole array (a per-leaf norm or statistic)"
        elif prim in (
            "random_bits",
            "random_wrap",
            "random_seed",
            "threefry2x32",
            "iota",
        ):
            why = "its values depend on each coordinate's position (random numbers)"
        else:
            why = "it is not an elementwise operation"
    return f"{owner} uses `{prim}` on arrays of shapes {shapes}: {why}"


def _probe_tree(dtypes: tuple[str, ...]) -> dict[str, Any]:
    """Small abstract leaves of several ranks, with dims big enough to factor."""
    shapes = [(), (7,), (128, 129), (2, 128, 129)]
    return {d: [jax.ShapeDtypeStruct(s, jnp.dtype(d)) for s in shapes] for d in dtypes}


def _trace_update(tx, params: Any, extra_args: dict) -> tuple[Any, Any]:
    state = jax.eval_shape(tx.init, params)
    jaxpr = jax.make_jaxpr(lambda g, s, p: tx.update(g, s, p, **extra_args))(
        params, state, params
    )
    return jaxpr, state


@functools.lru_cache(maxsize=256)
def _verdict(
    tx, layout: Layout, avals: tuple, dtypes: tuple[str, ...], extra: tuple
) -> tuple[str, ...]:
    _declare_optax()
    abstract_packed = GroupedTree(
        tuple(jax.ShapeDtypeStruct(s, jnp.dtype(d)) for s, d in avals), layout
    )
    extra_args = dict(extra)
    problems: list[str] = []
    for what, params in (
        ("grouped buffers", abstract_packed),
        ("probe", _probe_tree(dtypes)),
    ):
        try:
            jaxpr, state = _trace_update(tx, params, extra_args)
        except NotElementwiseError:
            raise
        except Exception as error:  # structure mismatches, masks, ...
            problems.append(
                f"its update fails on {what}: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}"
            )
            continue
        _walk(jaxpr.jaxpr, problems)
        if what == "probe":
            shapes = {tuple(x.shape) for x in jax.tree.leaves(params)}
            for leaf in jax.tree.leaves(state):
                if tuple(leaf.shape) not in shapes | {()}:
                    problems.append(
                        f"its state has a leaf of shape {tuple(leaf.shape)} that is not "
                        "shaped like any parameter (factored or per-leaf statistics)"
                    )
                    break
    return tuple(dict.fromkeys(problems))


def check_elementwise(
    tx: optax.GradientTransformation,
    params: Any,
    *,
    name: str | None = None,
    extra_args: dict | None = None,
) -> None:
    """Raises `NotElementwiseError` unless `tx` can run on grouped buffers.

    Args:
        tx: the transform (an optimizer, a chain, a wrapper).
        params: the parameters, a tree or a `GroupedTree` (only shapes and
            dtypes are used; nothing is computed).
        name: how to call `tx` in the message (default: what the trace shows).
        extra_args: keyword arguments `tx.update` needs (e.g. `value`).

    Raises:
        NotElementwiseError: naming the transform and the operation at fault.
    """
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), params
    )
    if not isinstance(abstract, GroupedTree):
        abstract = jax.eval_shape(group, abstract)
    avals = tuple((tuple(b.shape), jnp.dtype(b.dtype).name) for b in abstract.buffers)
    dtypes = tuple(sorted({d for _, d in avals}))
    extra = tuple(sorted((extra_args or {}).items()))
    try:
        problems = _verdict(tx, abstract.layout, avals, dtypes, extra)
    except TypeError:  # unhashable extra arguments: no cache
        problems = _verdict.__wrapped__(tx, abstract.layout, avals, dtypes, extra)
    if problems:
        who = f"`{name}`" if name else "this optimizer"
        lines = "\n  - ".join(problems[:4])
        if len(problems) > 4:
            lines += f"\n  - ... and {len(problems) - 4} more"
        raise NotElementwiseError(
            f"grouped: cannot run {who} on grouped buffers, because its update is not "
            f"elementwise:\n  - {lines}\nGrouping would mix the coordinates of different "
            "arrays and change the numbers. Use it per leaf (without `grouped`); if its "
            "result truly does not depend on how coordinates are split into arrays, "
            "declare its factory with `jaxopt_lessons.grouping.partition_invariant`."
        )


# --------------------------------------------------------------------------
# The wrapper
# --------------------------------------------------------------------------


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
    max_leaf_size = _check_max_leaf_size(fn, max_leaf_size)
    if not (hasattr(tx, "init") and hasattr(tx, "update")):
        raise TypeError(
            f"{fn}: `tx` must be an optax.GradientTransformation, got {tx!r}."
        )
    update_with_extra = optax.with_extra_args_support(tx).update

    def init_fn(params):
        packed = group(params, max_leaf_size)
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
            packed = group(updates, max_leaf_size)
        if params is not None:
            params = packed.regroup(params)
        new, state = update_with_extra(packed, state, params, **extra_args)
        # In the structure of the gradients given (which may differ from the
        # init tree's by wrappers around leaves, see `Layout.leaves_of`).
        return new.layout.unpack(new.buffers, jax.tree.structure(updates)), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
