"""Placing parameters and batches on the mesh, and grouped parameters whose
flat buffers split evenly over it."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxopt_lessons import grouping
from jaxopt_lessons.grouping import GroupedTree, is_grouped
from jaxopt_lessons.sharding.specs import _check_mesh_axis

__all__ = ["group_for_mesh", "replicate", "shard_batch"]


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
