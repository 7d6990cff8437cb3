"""Sharded optimizer state for data-parallel training (ZeRO stage 1).

Lesson: in data-parallel training every device holds the whole model, and
with a plain `jit` it also holds the whole optimizer state. For Adam that is
two more arrays the size of the model, often the first thing that stops
fitting. But each device needs the state of only the coordinates it updates:
split the state over the data-parallel axis, let every device update its
slice of the parameters, and gather the new parameters afterwards. That is
ZeRO stage 1 (Rajbhandari et al., 2020). Under `jit` it takes no new
arithmetic: the shardings of the state, the gradients and the parameters are
annotated, and XLA inserts the collectives (a slice of the all-reduced
gradient before the update, an all-gather of the new parameters after it).

    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    params = sharding.replicate(params, mesh)
    opt_state = sharding.init_state(tx, params, mesh)       # 1/8 per device on 8
    step = sharding.make_sharded_train_step(loss_fn, tx, mesh)
    for x, y in batches:
        batch = sharding.shard_batch((x, y), mesh)
        params, opt_state, loss = step(params, opt_state, *batch)

Which dimension a state leaf is split along (`plan_state` says it leaf by
leaf):

- a leaf shaped like a parameter starts from that parameter's own sharding
  (params replicated, or sharded over other mesh axes as the user chose);
- the first dimension that is not sharded yet and whose size the axis size
  divides gets the axis; failing that, a dimension already sharded over
  other axes whose size the product of the sizes divides gets it as well;
- otherwise the leaf stays as it was (replicated): scalars (step counts,
  schedule states, PRNG keys) and leaves no dimension of which divides.
  Nothing is padded, because the optimizer's state must stay shaped like the
  parameters; `group_for_mesh` pads the flat buffers of grouped parameters
  instead, which are 1-D and whose length is free.

Which optimizers: all of them; none is refused. Each device's slice of an
elementwise update (Adam, SGD, Lion, ... 22 of the 29) is computed from the
same values as on one device (noisy_sgd's noise too: JAX's partitionable
threefry draws the same bits whichever device computes a slice), and XLA's collectives bring whatever a rule
needs from other slices: SM3's maxima over its covers (exact, a maximum does
not depend on order), and the sums behind per-leaf norms (lamb, lars,
fromage, novograd), Adafactor's factored means and block RMS, and
polyak_sgd's gradient norm. Those sums are added per device and then across
devices, another order than one device's, so these 6 agree with the
unsharded run to float32 rounding rather than bit for bit (measured on 8
devices in `tests/distributed`: every other optimizer, grouped ones
included, gives the same bits when both programs are compiled with the same
options; XLA may still fuse a partitioned program differently and move a
last bit). In a train step the gradient itself is such
a sum over the batch's shards, for every optimizer.

What does not shrink is a leaf no dimension of which the axis size divides;
it stays whole on every device (`plan_state` names it). Adafactor's factored
row and column statistics split like any other leaf.

Meshes with Explicit axes (`jax.make_mesh`'s default) and Auto axes both
work. On Explicit axes the update runs inside `jax.sharding.auto_axes`,
because sharding-in-types refuses to combine arrays split along different
dimensions (Adafactor's row and column factors, SM3's covers), which XLA's
partitioner handles.

Communication: per step, the gradient's all-reduce (as in plain data
parallelism), each device's slice of it taken locally, and an all-gather of
the new parameters. On the CPU, XLA keeps the all-reduce followed by a
slice; a reduce-scatter in its place would halve the gradient's traffic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import AbstractMesh, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxopt_lessons import grouping
from jaxopt_lessons.grouping import GroupedTree, is_grouped
from jaxopt_lessons.training import DonatingStep

__all__ = [
    "LeafPlan",
    "group_for_mesh",
    "init_state",
    "make_sharded_apply_step",
    "make_sharded_train_step",
    "plan_state",
    "replicate",
    "shard_batch",
    "state_bytes",
    "state_shardings",
]


# ----------------------------------------------------------------------------
# Which dimension each leaf is split along


@dataclasses.dataclass(frozen=True)
class LeafPlan:
    """How one state leaf is laid out over the mesh.

    Attributes:
        path: the leaf's path in the state (``[0].mu['w']``).
        shape: its global shape.
        dtype: its dtype's name.
        spec: its `PartitionSpec`.
        nbytes: bytes of the whole leaf.
        nbytes_per_device: bytes each device holds.
        note: why it is laid out this way, in words.
    """

    path: str
    shape: tuple[int, ...]
    dtype: str
    spec: P
    nbytes: int
    nbytes_per_device: int
    note: str


def _check_mesh_axis(fn: str, mesh: Any, axis: Any, *, abstract: bool = False) -> int:
    kinds = (Mesh, AbstractMesh) if abstract else (Mesh,)
    if not isinstance(mesh, kinds):
        what = "a jax.sharding.Mesh" + (" or AbstractMesh" if abstract else "")
        raise TypeError(f"{fn}: `mesh` must be {what}, got {mesh!r}.")
    if not isinstance(axis, str) or axis not in mesh.axis_names:
        raise ValueError(
            f"{fn}: `axis` must name an axis of the mesh {tuple(mesh.axis_names)}, "
            f"got {axis!r}."
        )
    return int(mesh.shape[axis])


def _same_mesh(a: Any, b: Any) -> bool:
    """Whether two meshes have the same axes (and devices, when both have some)."""
    if tuple(a.axis_names) != tuple(b.axis_names):
        return False
    if tuple(a.axis_sizes) != tuple(b.axis_sizes):
        return False
    if isinstance(a, Mesh) and isinstance(b, Mesh):
        return np.array_equal(a.device_ids, b.device_ids)
    return True


def _entries(entry: Any) -> tuple[str, ...]:
    """The mesh axes one entry of a PartitionSpec names."""
    if entry is None or entry is P.UNCONSTRAINED:
        return ()
    return tuple(entry) if isinstance(entry, tuple) else (entry,)


def _spec_for(shape: tuple[int, ...], base: P, mesh: Mesh, axis: str) -> tuple[P, str]:
    """`base` with `axis` added on the first dimension it divides, and why."""
    n = int(mesh.shape[axis])
    entries = list(base) + [None] * (len(shape) - len(base))
    used = [a for e in entries for a in _entries(e)]
    if axis in used:
        return P(*entries), f"already sharded over {axis!r}, as its parameter"
    if not shape or math.prod(shape) == 0:
        return P(*entries), "replicated: a scalar"
    if n == 1:
        return P(*entries), f"replicated: the axis {axis!r} has size 1"
    for d, size in enumerate(shape):
        if entries[d] is None and size % n == 0:
            entries[d] = axis
            return P(*entries), f"split over {axis!r} along dimension {d}"
    for d, size in enumerate(shape):
        names = _entries(entries[d])
        if names and size % (n * math.prod(mesh.shape[a] for a in names)) == 0:
            entries[d] = (*names, axis)
            return P(*entries), f"split over {axis!r} along dimension {d}, with {names}"
    return P(*entries), f"replicated: no dimension of {tuple(shape)} divides by {n}"


def _mesh_spec(leaf: Any, mesh: Any) -> P:
    """The leaf's PartitionSpec when it lives on `mesh`, else replicated."""
    sharding = getattr(leaf, "sharding", None)
    if isinstance(sharding, NamedSharding) and _same_mesh(sharding.mesh, mesh):
        return sharding.spec
    return P()


def _paths(tree: Any) -> list[tuple[tuple, Any]]:
    return jax.tree_util.tree_flatten_with_path(tree)[0]


def _param_specs(params: Any, mesh: Any) -> list[tuple[tuple, tuple, P]]:
    """(path, shape, spec) of every parameter leaf."""
    return [(p, tuple(jnp.shape(x)), _mesh_spec(x, mesh)) for p, x in _paths(params)]


def _within(ppath: tuple, path: tuple) -> bool:
    """Whether a parameter's path runs through a state leaf's path: its keys
    appear there in order, the last one last (``['enc']['w']`` runs through
    ``['enc'][0].mu['w']``, as the state of ``partition`` or of a dict of
    optimizers nests it)."""
    if not ppath:
        return True
    if not path or path[-1] != ppath[-1]:
        return False
    keys = iter(path[:-1])
    return all(any(k == key for k in keys) for key in ppath[:-1])


@dataclasses.dataclass
class _Params:
    """The parameters' paths, shapes and specs, indexed for `_base_spec`."""

    by_path: dict  # (path, shape) -> spec
    by_last: dict  # (last key, shape) -> [(path, spec)]
    shapes: set
    sharded: bool  # any parameter not replicated


def _index(params: list) -> _Params:
    by_path, by_last, shapes, sharded = {}, {}, set(), False
    for ppath, pshape, spec in params:
        by_path[(ppath, pshape)] = spec
        by_last.setdefault((ppath[-1] if ppath else None, pshape), []).append(
            (ppath, spec)
        )
        shapes.add(pshape)
        sharded |= any(_entries(e) for e in spec)
    return _Params(by_path, by_last, shapes, sharded)


def _base_spec(path: tuple, shape: tuple, index: _Params) -> P | None:
    """The spec of the parameter a state leaf belongs to: the parameter of the
    same shape with the longest path running through the leaf's path
    (``mu['w']`` belongs to ``['w']``); None when there is none (factored
    statistics, step counts)."""
    if not index.sharded:  # every parameter replicated: nothing to look up
        return P() if shape in index.shapes else None
    for k in range(len(path) + 1):  # the longest path that ends the leaf's
        spec = index.by_path.get((tuple(path[k:]), shape))
        if spec is not None:
            return spec
    # Nested deeper (``optax.partition``, a dict of optimizers): the keys of
    # the parameter's path appear in the leaf's path in order.
    best, best_len = None, -1
    for ppath, spec in index.by_last.get((path[-1] if path else None, shape), []):
        if len(ppath) > best_len and _within(ppath, path):
            best, best_len = spec, len(ppath)
    return best


def _itemsize(dtype: Any) -> int:
    if jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return int(dtype.itemsize)
    return int(np.dtype(dtype).itemsize)


def _plan_tree(
    tree: Any, params: Any, mesh: Mesh, axis: str, shard: bool
) -> list[LeafPlan]:
    index = _index(_param_specs(params, mesh))
    plans = []
    for path, leaf in _paths(tree):
        shape = tuple(jnp.shape(leaf))
        base = _base_spec(path, shape, index)
        if not shard:
            spec = base if base is not None else P()
            note = "follows its parameter" if base is not None else "replicated"
        else:
            spec, note = _spec_for(shape, base if base is not None else P(), mesh, axis)
        dtype = jnp.result_type(leaf) if not hasattr(leaf, "dtype") else leaf.dtype
        nbytes = math.prod(shape) * _itemsize(dtype)
        parts = math.prod(mesh.shape[a] for e in spec for a in _entries(e))
        plans.append(
            LeafPlan(
                path=jax.tree_util.keystr(path),
                shape=shape,
                dtype=str(dtype),
                spec=spec,
                nbytes=nbytes,
                nbytes_per_device=nbytes // parts,
                note=note,
            )
        )
    return plans


def plan_state(
    tx: optax.GradientTransformation, params: Any, mesh: Mesh, axis: str = "data"
) -> list[LeafPlan]:
    """How `state_shardings` lays out each leaf of ``tx.init(params)``, and why.

    Nothing is computed: the state's shapes come from `jax.eval_shape`.

    Args:
        tx: the optimizer.
        params: the parameters (arrays, or `jax.ShapeDtypeStruct`s with a
            sharding); a parameter on `mesh` keeps its sharding in its state.
        mesh: the device mesh (an `AbstractMesh` is enough: nothing is placed).
        axis: the data-parallel axis of `mesh` to split the state over.

    Returns:
        One `LeafPlan` per state leaf, in the state's leaf order.

    Raises:
        TypeError, ValueError: `mesh` is not a Mesh, `axis` not one of its axes.
    """
    _check_mesh_axis("plan_state", mesh, axis, abstract=True)
    abstract = jax.eval_shape(tx.init, params)
    return _plan_tree(abstract, params, mesh, axis, shard=True)


def state_shardings(
    tx: optax.GradientTransformation, params: Any, mesh: Mesh, axis: str = "data"
) -> Any:
    """The sharding of every leaf of ``tx.init(params)``, split over `axis`.

    Pass it as `out_shardings` of a jitted `tx.init` (as `init_state` does),
    as a `jax.device_put` target, or to a checkpoint restore. Each leaf is
    split along its first dimension that the size of `axis` divides, on top
    of its parameter's own sharding; scalars and leaves no dimension of which
    divides stay replicated (see the module docstring and `plan_state`).

    Args:
        tx: the optimizer.
        params: the parameters (arrays or `jax.ShapeDtypeStruct`s).
        mesh: the device mesh (an `AbstractMesh` is enough).
        axis: the data-parallel axis of `mesh`.

    Returns:
        A tree of `NamedSharding`s shaped like the state.
    """
    _check_mesh_axis("state_shardings", mesh, axis, abstract=True)
    abstract = jax.eval_shape(tx.init, params)
    plans = _plan_tree(abstract, params, mesh, axis, shard=True)
    return jax.tree.unflatten(
        jax.tree.structure(abstract), [NamedSharding(mesh, p.spec) for p in plans]
    )


def init_state(
    tx: optax.GradientTransformation,
    params: Any,
    mesh: Mesh,
    axis: str = "data",
    *,
    shard: bool = True,
) -> Any:
    """``tx.init(params)`` created directly in its shards (never whole on one device).

    Args:
        tx: the optimizer.
        params: the parameters, on `mesh` (see `replicate`).
        mesh: the device mesh.
        axis: the data-parallel axis.
        shard: False lays the state out like its parameters instead (the
            replicated baseline of a data-parallel run).

    Returns:
        The optimizer state, each leaf with its sharding from `state_shardings`.
    """
    _check_mesh_axis("init_state", mesh, axis)
    abstract = jax.eval_shape(tx.init, params)
    plans = _plan_tree(abstract, params, mesh, axis, shard=shard)
    shardings = jax.tree.unflatten(
        jax.tree.structure(abstract), [NamedSharding(mesh, p.spec) for p in plans]
    )
    return jax.jit(tx.init, out_shardings=shardings)(params)


def state_bytes(state: Any) -> tuple[int, int]:
    """(bytes of the whole state, bytes the most loaded device holds of it)."""
    total, per_device = 0, {}
    for leaf in jax.tree.leaves(state):
        total += math.prod(leaf.shape) * _itemsize(leaf.dtype)
        for shard in leaf.addressable_shards:
            n = math.prod(shard.data.shape) * _itemsize(leaf.dtype)
            per_device[shard.device] = per_device.get(shard.device, 0) + n
    return total, max(per_device.values(), default=0)


# ----------------------------------------------------------------------------
# Placing parameters and batches


def _global_array(value: Any, sharding: NamedSharding) -> jax.Array:
    """A global array of `value` (the same on every process) with `sharding`."""
    if isinstance(value, jax.Array) and value.is_fully_addressable:
        if value.sharding == sharding:
            return value
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Every leaf of `tree` replicated on all devices of `mesh`.

    Works with several processes too, when every process passes the same
    values (as after initialising from the same seed or restoring the same
    checkpoint). A `GroupedTree` stays grouped.
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(f"replicate: `mesh` must be a jax.sharding.Mesh, got {mesh!r}.")
    sharding = NamedSharding(mesh, P())
    return jax.tree.map(lambda x: _global_array(x, sharding), tree)


def shard_batch(batch: Any, mesh: Mesh, axis: str = "data") -> Any:
    """This process's share of a batch, as global arrays split over `axis`.

    Each process passes its own examples (the same number on every process);
    the result is one global batch, split along its leading dimension over
    `axis`, with the processes' shares in process order. With one process
    this is ``jax.device_put(batch, NamedSharding(mesh, P(axis)))``.
    """
    fn = "shard_batch"
    n = _check_mesh_axis(fn, mesh, axis)
    sharding = NamedSharding(mesh, P(axis))
    local_devices = sum(
        d.process_index == jax.process_index() for d in mesh.devices.flat
    )
    share = local_devices * n // mesh.devices.size

    def one(x):
        x = np.asarray(x)
        if x.ndim == 0 or share == 0 or x.shape[0] % share:
            raise ValueError(
                f"{fn}: each process's batch must have a leading dimension divisible "
                f"by its {share} shares of the axis {axis!r}, got shape {x.shape}."
            )
        return jax.make_array_from_process_local_data(sharding, x)

    return jax.tree.map(one, batch)


# ----------------------------------------------------------------------------
# Grouped parameters whose flat buffers split evenly


def group_for_mesh(
    params: Any,
    mesh: Mesh,
    axis: str = "data",
    *,
    max_leaf_size: int = grouping.DEFAULT_MAX_LEAF_SIZE,
) -> GroupedTree:
    """`jaxopt_lessons.group(params)` with each flat buffer padded to split evenly.

    A flat buffer's length is the sum of its leaves' sizes, which the size of
    `axis` rarely divides; a state buffer that does not split stays whole on
    every device. This pads each flat buffer with at most ``size - 1`` zeros
    so that it does (``ungroup()`` drops them). Large leaves kept alone are
    not padded (they follow `state_shardings`' rule). Only the size of `axis`
    is used (an `AbstractMesh` is enough); the result is not placed on the
    mesh: pass it to `replicate`.

    Raises:
        ValueError: as `jaxopt_lessons.group`; `axis` not an axis of `mesh`.
    """
    n = _check_mesh_axis("group_for_mesh", mesh, axis, abstract=True)
    if is_grouped(params):
        params = params.ungroup()
    return grouping.group(params, max_leaf_size, multiple_of=n)


# ----------------------------------------------------------------------------
# The steps


def _constrainer(mesh: Mesh) -> Callable[[Any, Any], Any]:
    """How to lay out a traced value: `reshard` on a mesh with Explicit axes
    (the default of `jax.make_mesh`), `with_sharding_constraint` on Auto ones."""
    explicit = jax.sharding.AxisType.Explicit
    if any(t == explicit for t in getattr(mesh, "axis_types", ())):
        return jax.sharding.reshard
    return jax.lax.with_sharding_constraint


def _check_flags(fn: str, **flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise TypeError(f"{fn}: `{name}` must be True or False, got {value!r}.")


def _layout_key(leaf: Any) -> tuple:
    """A leaf's shape and sharding, with equivalent shardings alike (a step
    returns ``P(None, None)`` for the ``P()`` it was given)."""
    shape = tuple(jnp.shape(leaf))
    sharding = getattr(leaf, "sharding", None)
    if isinstance(sharding, NamedSharding):
        spec = tuple(sharding.spec) + (None,) * (len(shape) - len(sharding.spec))
        return shape, sharding.mesh, spec, sharding.memory_kind
    return shape, sharding


class _ShardedStep:
    """A data-parallel step, traced once per layout of its arguments.

    `loss_fn` None makes it an apply step: ``step(params, opt_state, grads)``.
    The layouts are read from the arguments before tracing (a traced value
    has no sharding to read), and the shardings are fixed inside the step
    with `_constrainer`, so the jitted function needs no `in_shardings`.
    """

    def __init__(self, fn, loss_fn, tx, mesh, axis, has_aux, donate, shard_state):
        self._fn = fn
        self._loss_fn = loss_fn
        self._tx = tx
        self._mesh = mesh
        self._axis = axis
        self._has_aux = has_aux
        self._donate = donate
        self._shard_state = shard_state
        self._cache: dict = {}

    def _batch_specs(self, batch) -> tuple[P, ...]:
        if self._loss_fn is None:  # the gradients: laid out as the params' slices
            return ()
        n = int(self._mesh.shape[self._axis])
        specs = []
        for path, x in _paths(batch):
            shape = tuple(jnp.shape(x))
            if not shape:
                specs.append(P())
            elif shape[0] % n == 0:
                specs.append(P(self._axis))
            else:
                raise ValueError(
                    f"{self._fn}: the batch leaf {jax.tree_util.keystr(path) or '(root)'}"
                    f" has shape {shape}; its leading dimension must divide by the "
                    f"size of the axis {self._axis!r} ({n})."
                )
        return tuple(specs)

    def _entry(self, params, opt_state, batch) -> dict:
        """The jitted step (and the compiled one, once `compile` made it) for
        arguments of this structure, these shapes and these shardings. The
        layouts are planned on the first call only: later calls pay for
        reading each leaf's shape and sharding, as `jit` itself does."""
        leaves, treedef = jax.tree.flatten((params, opt_state, batch))
        key = (treedef, tuple(_layout_key(x) for x in leaves))
        if key not in self._cache:
            self._cache[key] = {"jitted": self._plan(params, opt_state, batch)}
        return self._cache[key]

    def _plan(self, params, opt_state, batch):
        mesh, axis = self._mesh, self._axis
        specs = _param_specs(params, mesh)
        pspecs = tuple(s for _, _, s in specs)
        if self._shard_state:
            lspecs = tuple(_spec_for(shape, s, mesh, axis)[0] for _, shape, s in specs)
        else:
            lspecs = pspecs
        plans = _plan_tree(opt_state, params, mesh, axis, self._shard_state)
        sspecs = tuple(p.spec for p in plans)
        bspecs = self._batch_specs(batch)
        ptree, stree = jax.tree.structure(params), jax.tree.structure(opt_state)
        btree = jax.tree.structure(batch)
        return self._build(ptree, pspecs, lspecs, stree, sspecs, btree, bspecs)

    def _build(self, ptree, pspecs, lspecs, stree, sspecs, btree, bspecs):
        mesh = self._mesh

        def named(tree, specs):
            return jax.tree.unflatten(tree, [NamedSharding(mesh, s) for s in specs])

        param_sh, local_sh, state_sh = (
            named(ptree, pspecs),
            named(ptree, lspecs),
            named(stree, sspecs),
        )
        batch_sh = named(btree, bspecs) if self._loss_fn is not None else None
        tx, has_aux, loss_fn = self._tx, self._has_aux, self._loss_fn
        extra = isinstance(tx, optax.GradientTransformationExtraArgs)
        constrain = _constrainer(mesh)
        wsc = jax.lax.with_sharding_constraint
        explicit = constrain is not wsc
        if explicit:  # the same layouts on the mesh with every axis Auto
            auto = Mesh(
                mesh.devices,
                mesh.axis_names,
                axis_types=(jax.sharding.AxisType.Auto,) * len(mesh.axis_names),
            )
            auto_param_sh, auto_local_sh, auto_state_sh = (
                jax.tree.map(lambda s: NamedSharding(auto, s.spec), t)
                for t in (param_sh, local_sh, state_sh)
            )
        else:
            auto_param_sh, auto_local_sh, auto_state_sh = param_sh, local_sh, state_sh

        def auto_update(params, opt_state, grads, kwargs):
            # Each device keeps its slice of the (all-reduced) gradient and of
            # the params and updates it with its slice of the state ...
            opt_state = wsc(opt_state, auto_state_sh)
            grads, mine = wsc(grads, auto_local_sh), wsc(params, auto_local_sh)
            updates, opt_state = tx.update(grads, opt_state, mine, **kwargs)
            opt_state = wsc(opt_state, auto_state_sh)
            new = optax.apply_updates(mine, wsc(updates, auto_local_sh))
            # ... and the new params are gathered back to their own layout.
            return wsc(new, auto_param_sh), opt_state

        def update(params, opt_state, grads, kwargs):
            if not explicit:
                return auto_update(params, opt_state, grads, kwargs)
            # On Explicit axes the update runs with them made Auto: XLA then
            # places the collectives of updates that combine differently
            # split arrays (Adafactor's row and column factors, SM3's covers),
            # which explicit sharding types refuse.
            return jax.sharding.auto_axes(
                auto_update, out_sharding=(param_sh, state_sh)
            )(params, opt_state, grads, kwargs)

        if loss_fn is None:

            def step(params, opt_state, grads, extra_args):
                return update(params, opt_state, grads, extra_args)

        else:

            def on_tree(params, *batch):
                tree = params.ungroup() if is_grouped(params) else params
                return loss_fn(tree, *batch)

            grad_fn = jax.value_and_grad(on_tree, has_aux=has_aux)

            def step(params, opt_state, *batch):
                batch = constrain(batch, batch_sh)
                value, grads = grad_fn(params, *batch)
                loss = value[0] if has_aux else value
                kwargs = {"value": loss} if extra else {}
                params, opt_state = update(params, opt_state, grads, kwargs)
                if has_aux:
                    return params, opt_state, loss, value[1]
                return params, opt_state, loss

        if not self._donate:
            return jax.jit(step)
        return DonatingStep(jax.jit(step, donate_argnums=(0, 1)), self._fn)

    def _args(self, batch, extra_args):
        if self._loss_fn is None:  # an apply step: (grads, extra_args)
            return (*batch, extra_args)
        if extra_args:
            raise TypeError(f"{self._fn}: the step takes no keyword arguments.")
        return batch

    def __call__(self, params, opt_state, *batch, **extra_args):
        entry = self._entry(params, opt_state, batch)
        run = entry.get("compiled") or entry["jitted"]
        return run(params, opt_state, *self._args(batch, extra_args))

    def lower(self, params, opt_state, *batch, **extra_args):
        """The step lowered for these arguments."""
        jitted = self._entry(params, opt_state, batch)["jitted"]
        return jitted.lower(params, opt_state, *self._args(batch, extra_args))

    def compile(self, params, opt_state, *batch, **extra_args):
        """The step compiled for these arguments, ahead of the first call.

        Later calls with arguments laid out alike run this executable (no
        second compilation); read ``.memory_analysis()`` or
        ``.cost_analysis()`` from it.
        """
        entry = self._entry(params, opt_state, batch)
        jitted = entry["jitted"]
        compiled = jitted.lower(params, opt_state, *self._args(batch, extra_args))
        compiled = compiled.compile()
        entry["compiled"] = (
            DonatingStep(compiled, self._fn) if self._donate else compiled
        )
        return compiled


def make_sharded_train_step(
    loss_fn: Callable[..., Any],
    tx: optax.GradientTransformation,
    mesh: Mesh,
    axis: str = "data",
    *,
    has_aux: bool = False,
    donate: bool = True,
    shard_state: bool = True,
) -> Callable[..., tuple[Any, ...]]:
    """A data-parallel train step with the optimizer state split over `axis`.

    The batch is split over `axis` along its leading dimension, the gradient
    of the mean loss is summed over the devices by XLA, and the state stays
    split as `state_shardings` lays it out: each device updates its slice of
    the parameters with its slice of the state, and the new parameters are
    gathered back to the sharding they came with.

    Args:
        loss_fn: ``loss_fn(params, *batch) -> loss`` (or ``(loss, aux)`` with
            `has_aux`), the mean over the batch; it receives the ordinary
            tree also when the params are a `GroupedTree`.
        tx: the optimizer. When it accepts extra arguments (every optimizer
            here does), the loss is passed as `value` (polyak_sgd needs it).
        mesh: the device mesh; with several processes, the global mesh. Its
            axes may be Explicit (`jax.make_mesh`'s default) or Auto.
        axis: its data-parallel axis.
        has_aux: `loss_fn` returns ``(loss, aux)``.
        donate: donate `params` and `opt_state` (continue with the returned ones).
        shard_state: False keeps the state laid out like the params: the
            replicated baseline, for comparisons.

    Returns:
        ``step(params, opt_state, *batch) -> (params, opt_state, loss)``
        (``+ (aux,)`` with `has_aux`). `params` should live on `mesh` (see
        `replicate`), `opt_state` as `init_state` made it, the batch as
        `shard_batch` made it. ``step.compile(params, opt_state, *batch)``
        compiles it ahead of the first call and returns the executable
        (for ``memory_analysis()``); ``step.lower(...)`` lowers it.

    Raises:
        TypeError, ValueError: a bad argument; at the first call, a batch
            whose leading dimension the axis size does not divide.
    """
    fn = "make_sharded_train_step"
    if not callable(loss_fn):
        raise TypeError(f"{fn}: `loss_fn` must be callable, got {loss_fn!r}.")
    _check_tx(fn, tx)
    _check_mesh_axis(fn, mesh, axis)
    _check_flags(fn, has_aux=has_aux, donate=donate, shard_state=shard_state)
    return _ShardedStep(fn, loss_fn, tx, mesh, axis, has_aux, donate, shard_state)


def make_sharded_apply_step(
    tx: optax.GradientTransformation,
    mesh: Mesh,
    axis: str = "data",
    *,
    donate: bool = True,
    shard_state: bool = True,
) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """One optimizer step on given gradients, with the state split over `axis`.

    For training loops that compute the gradients themselves (the whole
    gradient, on the mesh). As `make_sharded_train_step` otherwise.

    Returns:
        ``step(params, opt_state, grads, **extra_args) -> (params, opt_state)``;
        `extra_args` go to ``tx.update`` (``value=loss`` for polyak_sgd).
    """
    fn = "make_sharded_apply_step"
    _check_tx(fn, tx)
    _check_mesh_axis(fn, mesh, axis)
    _check_flags(fn, donate=donate, shard_state=shard_state)
    return _ShardedStep(fn, None, tx, mesh, axis, False, donate, shard_state)


def _check_tx(fn: str, tx: Any) -> None:
    if not (hasattr(tx, "init") and hasattr(tx, "update")):
        raise TypeError(
            f"{fn}: `tx` must be an optax.GradientTransformation, got {tx!r}."
        )
