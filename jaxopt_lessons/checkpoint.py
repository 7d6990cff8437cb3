"""Save and restore optimizer state bit for bit: plain NumPy `.npz` or orbax.

Lesson: an optimizer's state is as much a part of training as the parameters.
Adam's moments and step count carry the last few thousand gradients; resuming
with fresh zeros (or with another optimizer's state) changes the trajectory,
often with a jolt: the bias correction starts over and the first steps are
as large as the learning rate allows. Saved and restored whole, the resumed
run is the uninterrupted run, to the last bit.

Both formats keep, next to the arrays, a *layout*: the path of every leaf in
the tree (``[0].mu['w']``), its shape and dtype, the tree's structure and an
optional name. Restoring needs a `like` tree (``opt.init(params)``, or the
abstract ``jax.eval_shape(opt.init, params)``), which says what the caller
expects; any difference from the saved layout is reported by path before a
single array is read::

    ckpt.save_npz("step_1000.npz", {"params": params, "opt": state}, name="adam")
    like = {"params": params, "opt": opt.init(params)}
    restored = ckpt.restore_npz("step_1000.npz", like, name="adam")

Arrays come back with the dtype they were saved with (bfloat16 and PRNG keys
included) and, when a leaf of `like` is a sharded `jax.Array` (or a
`jax.ShapeDtypeStruct` with a sharding), with that leaf's sharding.

orbax-checkpoint is imported only by `save_orbax` and `restore_orbax`.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import tempfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "CheckpointMismatchError",
    "layout",
    "restore_npz",
    "restore_orbax",
    "save_npz",
    "save_orbax",
]

FORMAT = "jaxopt_lessons.checkpoint/1"
_LAYOUT_KEY = "__layout__"


class CheckpointMismatchError(ValueError):
    """The saved tree is not the tree the caller asked to restore into."""


# ----------------------------------------------------------------------------
# Layout: what a tree looks like, leaf by leaf.


def _is_key(dtype: Any) -> bool:
    return jnp.issubdtype(dtype, jax.dtypes.prng_key)


def layout(tree: Any, name: str | None = None) -> dict:
    """Describes a tree of arrays: each leaf's path, shape and dtype, and the structure.

    Works on concrete arrays and on `jax.ShapeDtypeStruct`s alike, so
    ``layout(jax.eval_shape(opt.init, params))`` gives the layout of a state
    without allocating it.

    Args:
        tree: a pytree whose leaves have `shape` and `dtype`.
        name: an optional label (such as the optimizer's name) stored with it.

    Returns:
        A JSON-serialisable dict.

    Raises:
        TypeError: a leaf without `shape` and `dtype` (a Python object).
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    entries = []
    for path, leaf in leaves:
        where = jax.tree_util.keystr(path)
        if isinstance(leaf, (int, float, complex, bool, np.number, np.bool_)):
            leaf = np.asarray(leaf)
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            raise TypeError(
                f"checkpoint.layout: every leaf must be an array, but {where or 'the root'}"
                f" is {leaf!r} of type {type(leaf).__name__}."
            )
        entry = {"path": where, "shape": list(leaf.shape), "dtype": str(leaf.dtype)}
        if _is_key(leaf.dtype):
            entry["key_impl"] = _key_impl(leaf)
        entries.append(entry)
    return {"format": FORMAT, "name": name, "treedef": str(treedef), "leaves": entries}


def _key_impl(leaf: Any) -> str:
    """The name of a PRNG key's implementation (``threefry2x32`` for ``key<fry>``)."""
    if isinstance(leaf, jax.Array):
        return str(jax.random.key_impl(leaf))
    return leaf.dtype._impl.name  # an abstract key: only its dtype knows


def _first_difference(a: str, b: str, width: int = 60) -> str:
    """The two strings around the first character where they differ."""
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - width)
    return (
        f"    saved:  ...{a[lo : i + width]}...\n    target: ...{b[lo : i + width]}..."
    )


def check_layout(fn: str, saved: dict, wanted: dict) -> None:
    """Raises `CheckpointMismatchError` naming every way `saved` differs from `wanted`.

    Compared in order: the format, the names (when both are given), the set of
    leaf paths, the node types of the structure, then shapes and dtypes leaf
    by leaf.
    """
    if saved.get("format") != FORMAT:
        raise CheckpointMismatchError(
            f"{fn}: not a {FORMAT} checkpoint (format {saved.get('format')!r})."
        )
    if saved["name"] and wanted["name"] and saved["name"] != wanted["name"]:
        raise CheckpointMismatchError(
            f"{fn}: the checkpoint holds the state of {saved['name']!r}, "
            f"but it is being restored as {wanted['name']!r}."
        )
    got = [leaf["path"] for leaf in saved["leaves"]]
    want = [leaf["path"] for leaf in wanted["leaves"]]
    if got != want:
        only_saved = [p for p in got if p not in set(want)]
        only_target = [p for p in want if p not in set(got)]
        lines = [
            f"{fn}: the checkpoint's tree does not match the target tree "
            f"({len(got)} leaves saved, {len(want)} expected)."
        ]
        if only_saved:
            lines.append(f"  only in the checkpoint: {', '.join(only_saved[:8])}")
        if only_target:
            lines.append(f"  only in the target:     {', '.join(only_target[:8])}")
        if not only_saved and not only_target:
            lines.append("  the same leaves, in a different order.")
        lines.append(_first_difference(saved["treedef"], wanted["treedef"]))
        raise CheckpointMismatchError("\n".join(lines))
    if saved["treedef"] != wanted["treedef"]:
        raise CheckpointMismatchError(
            f"{fn}: the checkpoint has the same leaf paths as the target but "
            "different node types (another state class, or another optimizer "
            "with the same field names):\n"
            + _first_difference(saved["treedef"], wanted["treedef"])
        )
    bad = [
        f"  {s['path'] or 'the root'}: saved {tuple(s['shape'])} {s['dtype']}, "
        f"expected {tuple(w['shape'])} {w['dtype']}"
        for s, w in zip(saved["leaves"], wanted["leaves"])
        if s["shape"] != w["shape"] or s["dtype"] != w["dtype"]
    ]
    if bad:
        raise CheckpointMismatchError(
            f"{fn}: {len(bad)} leaves differ in shape or dtype:\n" + "\n".join(bad[:8])
        )


# ----------------------------------------------------------------------------
# Leaves to and from plain NumPy arrays that hold the exact bits.


def _to_numpy(leaf: Any) -> np.ndarray:
    """The leaf's bits as a NumPy array of a type every reader understands.

    PRNG keys become their key data; dtypes NumPy has no name for on disk
    (bfloat16, the float8 types) are viewed as unsigned integers of the same
    width. Nothing is converted, so nothing is rounded.
    """
    if _is_key(leaf.dtype):
        leaf = jax.random.key_data(leaf)
    array = np.asarray(leaf)
    if type(array.dtype).__module__ != "numpy.dtypes" or array.dtype.kind == "V":
        array = array.view(np.dtype(f"u{array.dtype.itemsize}"))
    return array


def _from_numpy(array: np.ndarray, entry: dict, target: Any) -> jax.Array:
    """Inverse of `_to_numpy`, placed on `target`'s sharding when it has one."""
    dtype_name = entry["dtype"]
    if "key_impl" not in entry:
        dtype = jnp.dtype(dtype_name)
        if array.dtype != dtype:
            array = array.view(dtype)
    sharding = getattr(target, "sharding", None)
    if sharding is None or not getattr(target, "committed", True):
        # An array JAX may still move (uncommitted) stays movable, so that
        # a compiled step sees the same kind of input as before the restore.
        value = jnp.asarray(array)
    else:
        value = jax.device_put(array, sharding)
    if "key_impl" in entry:
        value = jax.random.wrap_key_data(value, impl=entry["key_impl"])
    return value


def _rebuild(like: Any, values: list) -> Any:
    return jax.tree.unflatten(jax.tree.structure(like), values)


# ----------------------------------------------------------------------------
# NumPy .npz


def save_npz(
    path: str | os.PathLike, tree: Any, *, name: str | None = None
) -> pathlib.Path:
    """Writes `tree` (an optimizer state, or params and state together) to an `.npz` file.

    The file is written next to its destination and then renamed into place,
    so an interrupted save leaves any earlier file at `path` intact.

    Args:
        path: the file to write (no suffix is added).
        tree: a pytree of arrays.
        name: an optional label, checked again by `restore_npz`.

    Returns:
        The path written.

    Raises:
        TypeError: a leaf that is not an array.
    """
    path = pathlib.Path(path)
    description = layout(tree, name)
    arrays = {
        f"leaf_{i:05d}": _to_numpy(leaf) for i, leaf in enumerate(jax.tree.leaves(tree))
    }
    arrays[_LAYOUT_KEY] = np.frombuffer(json.dumps(description).encode(), np.uint8)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    return path


def restore_npz(path: str | os.PathLike, like: Any, *, name: str | None = None) -> Any:
    """Reads a tree written by `save_npz`, checked against `like`.

    Args:
        path: the file written by `save_npz`.
        like: a tree with the expected structure, shapes and dtypes: arrays or
            `jax.ShapeDtypeStruct`s (``jax.eval_shape(opt.init, params)``).
            Where a leaf has a sharding, the restored leaf gets it.
        name: when given, and the checkpoint was saved with a name, they must
            be equal.

    Returns:
        A tree like `like`, holding exactly the saved bits.

    Raises:
        CheckpointMismatchError: (a ValueError) the saved tree differs from
            `like` (the message names each leaf or node that differs), or the
            names differ.
    """
    fn = "restore_npz"
    with np.load(path, allow_pickle=False) as data:
        if _LAYOUT_KEY not in data:
            raise CheckpointMismatchError(
                f"{fn}: {os.fspath(path)!r} has no layout; it was not written by save_npz."
            )
        saved = json.loads(data[_LAYOUT_KEY].tobytes().decode())
        check_layout(fn, saved, layout(like, name))
        arrays = [data[f"leaf_{i:05d}"] for i in range(len(saved["leaves"]))]
    values = [
        _from_numpy(array, entry, target)
        for array, entry, target in zip(arrays, saved["leaves"], jax.tree.leaves(like))
    ]
    return _rebuild(like, values)


# ----------------------------------------------------------------------------
# orbax-checkpoint


def _orbax():
    try:
        import orbax.checkpoint as ocp
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "save_orbax and restore_orbax need orbax-checkpoint: "
            "pip install orbax-checkpoint"
        ) from error
    return ocp


def save_orbax(
    directory: str | os.PathLike,
    tree: Any,
    *,
    name: str | None = None,
    force: bool = False,
) -> pathlib.Path:
    """Writes `tree` as an orbax checkpoint directory, with its layout beside it.

    The arrays are saved by orbax's `StandardSave` as a flat dict (``leaf_00000``,
    ...), so any optimizer state works, whatever its node types; the layout is
    a `JsonSave` item of the same checkpoint. Sharded arrays are written by
    their shards, as orbax does.

    Args:
        directory: the checkpoint directory (must not exist unless `force`).
        tree: a pytree of arrays.
        name: an optional label, checked again by `restore_orbax`.
        force: overwrite an existing checkpoint.

    Returns:
        The directory written.
    """
    ocp = _orbax()
    directory = pathlib.Path(directory).absolute()
    description = layout(tree, name)
    items = {"layout": ocp.args.JsonSave(description)}
    leaves = [
        jax.random.key_data(leaf) if _is_key(leaf.dtype) else leaf
        for leaf in jax.tree.leaves(tree)
    ]
    # Orbax refuses arrays of size 0 (GaLore's projector of a leaf it does not
    # project is 0 × 0); they hold no data, and the layout has their shape.
    flat = {f"leaf_{i:05d}": leaf for i, leaf in enumerate(leaves) if np.size(leaf)}
    if flat:
        items["arrays"] = ocp.args.StandardSave(flat)
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        checkpointer.save(directory, ocp.args.Composite(**items), force=force)
    return directory


def restore_orbax(
    directory: str | os.PathLike, like: Any, *, name: str | None = None
) -> Any:
    """Reads a checkpoint written by `save_orbax`, checked against `like` first.

    Args, Returns and Raises as `restore_npz`; the layout is read and compared
    before orbax reads any array, so a mismatch is reported by path rather
    than as an orbax or tensorstore error.
    """
    fn = "restore_orbax"
    ocp = _orbax()
    directory = pathlib.Path(directory).absolute()
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        saved = checkpointer.restore(
            directory, ocp.args.Composite(layout=ocp.args.JsonRestore())
        )["layout"]
        check_layout(fn, saved, layout(like, name))
        targets = jax.tree.leaves(like)
        if not targets:
            return _rebuild(like, [])
        abstract = {}
        for i, (entry, target) in enumerate(zip(saved["leaves"], targets)):
            if "key_impl" in entry:
                data = jax.eval_shape(jax.random.key_data, target)
                shape, dtype = data.shape, data.dtype
            else:
                shape, dtype = tuple(entry["shape"]), jnp.dtype(entry["dtype"])
            abstract[f"leaf_{i:05d}"] = jax.ShapeDtypeStruct(
                shape, dtype, sharding=_key_data_sharding(target, entry)
            )
        stored = {k: v for k, v in abstract.items() if math.prod(v.shape)}
        arrays = {}
        if stored:
            arrays = checkpointer.restore(
                directory, ocp.args.Composite(arrays=ocp.args.StandardRestore(stored))
            )["arrays"]
    values = []
    for i, (entry, target) in enumerate(zip(saved["leaves"], targets)):
        key = f"leaf_{i:05d}"
        if key in arrays:
            value = arrays[key]
        else:  # an empty array: not stored
            value = jnp.zeros(abstract[key].shape, abstract[key].dtype)
        if not getattr(target, "committed", True):
            value = jnp.asarray(np.asarray(value))  # movable, as in `restore_npz`
        if "key_impl" in entry:
            value = jax.random.wrap_key_data(value, impl=entry["key_impl"])
        values.append(value)
    return _rebuild(like, values)


def _key_data_sharding(target: Any, entry: dict) -> Any:
    """The sharding to restore a leaf with: `target`'s, or the default device's."""
    sharding = getattr(target, "sharding", None)
    if sharding is None or "key_impl" in entry:
        # Key data has one more axis than the key; restore it on one device.
        return jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return sharding
