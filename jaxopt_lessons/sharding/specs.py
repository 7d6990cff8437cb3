"""The layout rule: which mesh axes a leaf's dimensions are split over.

`_spec_for` adds the data-parallel axis to a leaf's starting spec (its
parameter's own, or replicated) on the first dimension it divides; the other
helpers read the specs the parameters already have and check a mesh and axis.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AbstractMesh, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P


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
