"""Where each leaf of an optimizer state lives: `plan_state`, `state_shardings`,
`init_state` and `state_bytes`.

A state leaf starts from the sharding of the parameter it belongs to (found
by shape and path), and `specs._spec_for` adds the data-parallel axis.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxopt_lessons.sharding.specs import (
    _check_mesh_axis,
    _entries,
    _param_specs,
    _paths,
    _spec_for,
)

__all__ = ["LeafPlan", "init_state", "plan_state", "state_bytes", "state_shardings"]


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
    divides stay replicated (see the package docstring and `plan_state`).

    Args:
        tx: the optimizer.
        params: the parameters (arrays or `jax.ShapeDtypeStruct`s).
        mesh: the device mesh (an `AbstractMesh` is enough).
        axis: the data-parallel axis of `mesh`.

    Returns:
        A tree of `NamedSharding`s shaped like the state.
    """
    _check_mesh_axis("state_shardings", mesh, axis, abstract=True)
    return _shardings(tx, params, mesh, axis, shard=True)


def _shardings(tx: Any, params: Any, mesh: Any, axis: str, shard: bool) -> Any:
    """The `NamedSharding` of every leaf of ``tx.init(params)``, as planned."""
    abstract = jax.eval_shape(tx.init, params)
    plans = _plan_tree(abstract, params, mesh, axis, shard=shard)
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
    shardings = _shardings(tx, params, mesh, axis, shard=shard)
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
