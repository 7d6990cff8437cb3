"""Sweeps: many settings of one optimizer, trained by one compiled program.

A learning-rate sweep is the same training loop run at many hyperparameter
values. Written as a function of the setting, it can be compiled once and
run for every setting in one of three ways:

- ``"vmap"``: ``jit(vmap(train_fn))``, all settings side by side in one batched
  program. Best where batching pays: GPUs and TPUs.
- ``"map"``: ``jit`` of ``lax.map`` over the settings, one program that runs the
  settings one after another (``batch_size`` settings at a time if given).
- ``"loop"``: ``jit(train_fn)`` compiled once for one setting, then called from
  Python for each setting. On a small CPU this is the fastest (the batched
  program is about 2x slower there: batching buys nothing on two cores, and
  the batched ops fuse less well).
- ``"auto"``: ``"loop"`` on the CPU, ``"vmap"`` on any other backend.

Usage::

    def train(setting, x0, hessian):           # one setting; data as arguments
        opt = jol.sgd(setting["lr"], momentum=setting["beta"])
        ...                                     # lax.scan over the steps
        return {"loss": losses, "final": x}    # any pytree of arrays

    settings = grid(lr=[1e-3, 1e-2, 1e-1], beta=[0.0, 0.9])   # 6 settings
    result = sweep(train, settings, x0, hessian)
    result.method                 # "loop" on a CPU
    result.outputs["loss"]        # shape (6, steps): one row per setting
    result.setting(4)             # {"lr": 0.1, "beta": 0.0}

Rules that keep it to one compilation: build the optimizer *inside*
``train_fn`` from the (traced) setting, and pass the problem's arrays as
extra arguments instead of closing over them. ``train_fn`` should be defined
once (at module level): the compiled program is cached per function object,
so a fresh lambda per call compiles again.

Several optimizers in one program: `select(transforms, index)` runs all of
them on the same gradients and returns the update of the one picked by a
(traced) index, so a sweep can cover SGD, RMSprop and Adam at every learning
rate with a single compilation (each step costs the sum of the three, which
on small problems is far cheaper than compiling three programs).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = [
    "METHODS",
    "SweepResult",
    "grid",
    "resolve_method",
    "select",
    "sweep",
    "switch",
]

#: The ways a sweep can run; "auto" resolves to one of the other three.
METHODS: tuple[str, ...] = ("vmap", "map", "loop", "auto")


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """What a sweep measured: one row per setting in every output leaf.

    Attributes:
        settings: the settings, a pytree of NumPy arrays with a leading axis
            of length `size` (as passed, converted to arrays).
        outputs: what `train_fn` returned, with the same leading axis, as
            NumPy arrays.
        method: the method that ran: "vmap", "map" or "loop" (never "auto").
        seconds: wall-clock time of the sweep, compilation included.
    """

    settings: Any
    outputs: Any
    method: str
    seconds: float

    @property
    def size(self) -> int:
        """Number of settings."""
        return int(jax.tree.leaves(self.settings)[0].shape[0])

    def setting(self, i: int) -> Any:
        """The i-th setting, its leaves as Python scalars where they are scalars."""
        return jax.tree.map(lambda a: _scalar(a[i]), self.settings)

    def output(self, i: int) -> Any:
        """The outputs of the i-th setting."""
        return jax.tree.map(lambda a: a[i], self.outputs)


def select(transforms: list, index: jax.typing.ArrayLike):
    """A transform that runs every one of `transforms` and returns `index`'s update.

    `index` may be traced (a sweep setting), so one compiled program serves
    all the transforms. Each keeps its own state; all of them advance.

    Raises:
        ValueError: `transforms` is empty.
    """
    if not transforms:
        raise ValueError(
            "select: `transforms` must hold at least one transform, got none."
        )

    def init_fn(params):
        return tuple(t.init(params) for t in transforms)

    def update_fn(updates, state, params=None):
        results = [
            t.update(updates, s, params) for t, s in zip(transforms, state, strict=True)
        ]
        chosen = jax.tree.map(
            lambda *us: jnp.stack(us)[index], *[u for u, _ in results]
        )
        return chosen, tuple(s for _, s in results)

    return optax.GradientTransformation(init_fn, update_fn)


def switch(transforms: list, index: jax.typing.ArrayLike):
    """A transform that runs only `index`'s one of `transforms`.

    Like `select`, `index` may be traced and the state holds every
    transform's state, but only the chosen transform runs and advances
    (``lax.switch``), so a sweep over expensive transforms pays for one at a
    time. Under ``vmap`` the switch becomes a select and all of them run.

    Raises:
        ValueError: `transforms` is empty.
    """
    if not transforms:
        raise ValueError(
            "switch: `transforms` must hold at least one transform, got none."
        )

    def init_fn(params):
        return tuple(t.init(params) for t in transforms)

    def branch(i):
        def update(updates, state, params):
            new, own = transforms[i].update(updates, state[i], params)
            return new, (*state[:i], own, *state[i + 1 :])

        return update

    def update_fn(updates, state, params=None):
        branches = [branch(i) for i in range(len(transforms))]
        return jax.lax.switch(index, branches, updates, state, params)

    return optax.GradientTransformation(init_fn, update_fn)


def _scalar(a: np.ndarray) -> Any:
    return a.item() if np.ndim(a) == 0 else a


def grid(**axes: Any) -> dict[str, np.ndarray]:
    """Every combination of the given values, as a dict of equal-length arrays.

    The last axis varies fastest: ``grid(a=[1, 2], b=[10, 20, 30])`` gives
    ``a = [1, 1, 1, 2, 2, 2]`` and ``b = [10, 20, 30, 10, 20, 30]``.

    Raises:
        ValueError: no axes, or an axis with no values.
    """
    if not axes:
        raise ValueError("grid: `axes` must name at least one axis, got none.")
    values = {name: np.asarray(v) for name, v in axes.items()}
    for name, v in values.items():
        if v.ndim != 1 or v.size == 0:
            raise ValueError(
                f"grid: `{name}` must be a non-empty 1-D sequence, got shape {v.shape}."
            )
    combos = list(itertools.product(*(range(v.size) for v in values.values())))
    index = np.asarray(combos).T
    return {name: v[idx] for (name, v), idx in zip(values.items(), index, strict=True)}


def resolve_method(method: str) -> str:
    """Turns "auto" into "loop" on the CPU and "vmap" elsewhere; checks the name.

    Raises:
        ValueError: `method` is not one of `METHODS`.
    """
    if method not in METHODS:
        raise ValueError(f"sweep: `method` must be one of {METHODS}, got {method!r}.")
    if method == "auto":
        return "loop" if jax.default_backend() == "cpu" else "vmap"
    return method


def _as_settings(settings: Any) -> tuple[Any, int]:
    """Converts settings to a pytree of arrays sharing one leading axis."""
    if isinstance(settings, Mapping):
        settings = dict(settings)
    elif (
        isinstance(settings, list | tuple)
        and settings
        and isinstance(settings[0], Mapping)
    ):
        keys = list(settings[0])
        for i, s in enumerate(settings):
            if list(s) != keys:
                raise ValueError(
                    f"sweep: `settings` must all have the keys {keys}, got {list(s)} "
                    f"at position {i}."
                )
        settings = {k: np.asarray([s[k] for s in settings]) for k in keys}
    settings = jax.tree.map(np.asarray, settings)
    leaves = jax.tree.leaves(settings)
    if not leaves:
        raise ValueError("sweep: `settings` must hold at least one array, got none.")
    sizes = {leaf.shape[0] if leaf.ndim else None for leaf in leaves}
    if None in sizes or len(sizes) != 1 or 0 in sizes:
        shapes = [leaf.shape for leaf in leaves]
        raise ValueError(
            "sweep: `settings` must share one non-empty leading axis, got shapes "
            f"{shapes}."
        )
    return settings, sizes.pop()


@functools.lru_cache(maxsize=128)
def _compiled(train_fn: Callable, method: str, batch_size: int | None) -> Callable:
    """The jitted program for one (function, method); cached so it compiles once."""
    if method == "vmap":

        def batched(settings, *shared):
            return jax.vmap(train_fn, in_axes=(0,) + (None,) * len(shared))(
                settings, *shared
            )

        return jax.jit(batched)
    if method == "map":

        def mapped(settings, *shared):
            return jax.lax.map(
                lambda s: train_fn(s, *shared), settings, batch_size=batch_size
            )

        return jax.jit(mapped)
    return jax.jit(train_fn)


def sweep(
    train_fn: Callable[..., Any],
    settings: Any,
    *shared: Any,
    method: str = "auto",
    batch_size: int | None = None,
) -> SweepResult:
    """Runs `train_fn(setting, *shared)` for every setting as one compiled program.

    Args:
        train_fn: trains at one setting and returns a pytree of arrays (metrics,
            trajectories). It must be traceable by `jax.jit`.
        settings: a pytree whose leaves share a leading axis, one entry per
            setting (e.g. ``{"lr": array(n), "beta": array(n)}``, see `grid`),
            or a list of dicts with the same keys.
        *shared: arguments passed unchanged to every call (problem data, keys).
        method: "vmap", "map", "loop" or "auto" (see the module docstring).
        batch_size: with "map", how many settings run side by side.

    Returns:
        A `SweepResult`; its `method` says which method ran.

    Raises:
        ValueError: unknown `method`, settings without a common leading axis,
            or `batch_size` < 1.
    """
    method = resolve_method(method)
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(
            f"sweep: `batch_size` must be an int >= 1, got {batch_size!r}."
        )
    settings, size = _as_settings(settings)
    program = _compiled(train_fn, method, batch_size if method == "map" else None)
    start = time.perf_counter()
    device_settings = jax.tree.map(jnp.asarray, settings)
    if method == "loop":
        rows = [
            program(jax.tree.map(lambda a, i=i: a[i], device_settings), *shared)
            for i in range(size)
        ]
        rows = jax.device_get(rows)
        outputs = jax.tree.map(lambda *xs: np.stack(xs), *rows)
    else:
        outputs = jax.device_get(program(device_settings, *shared))
        outputs = jax.tree.map(np.asarray, outputs)
    seconds = time.perf_counter() - start
    return SweepResult(
        settings=settings, outputs=outputs, method=method, seconds=seconds
    )
