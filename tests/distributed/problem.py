"""The small data-parallel problem of the distributed tests, and its optimizers.

Imported both by the test processes (one CPU device) and by the processes
they start (8 simulated devices, or several processes): everything here is
deterministic and built from NumPy, so each process makes the same values.
"""

from __future__ import annotations

import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons import grouping, sharding

LEARNING_RATE = 0.01
#: The global batch: divisible by 8 devices and by 2 processes of 2 devices.
BATCH = 32

#: Elementwise optimizers that also run grouped (on `sharding.group_for_mesh`
#: params, whose one flat buffer of 1854 floats is padded to split evenly).
GROUPED = ("adam", "adamw", "lion", "adagrad")


def initial_params() -> dict:
    """A two-layer perceptron, plus a leaf no axis size divides and a scalar."""
    rng = np.random.default_rng(0)

    def normal(*shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "w1": normal(16, 32, scale=0.3),
        "b1": np.zeros(32, np.float32),
        "wm": normal(32, 32, scale=0.2),
        "w2": normal(32, 8, scale=0.2),
        "b2": np.zeros(8, np.float32),
        "odd": normal(3, 7, scale=0.5),  # 21 entries: replicated over 8 devices
        "scale": np.float32(1.0),
    }


def batch(size: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((size, 16)).astype(np.float32)
    y = rng.standard_normal((size, 8)).astype(np.float32)
    return x, y


def loss_fn(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    h = jnp.tanh(h @ params["wm"])
    out = params["scale"] * (h @ params["w2"] + params["b2"])
    return jnp.mean((out - y) ** 2) + 1e-3 * jnp.sum(params["odd"] ** 2)


def gradients(params: dict, steps: int) -> list[dict]:
    """`steps` fixed gradients: normal entries, scales over two decades."""
    rng = np.random.default_rng(2)
    out = []
    for _ in range(steps):
        scale = 10.0 ** rng.uniform(-1, 1)
        leaves, treedef = jax.tree.flatten(params)
        drawn = [rng.standard_normal(np.shape(p)) * scale for p in leaves]
        out.append(jax.tree.unflatten(treedef, [d.astype(np.float32) for d in drawn]))
    return out


def make(name: str) -> optax.GradientTransformation:
    """Optimizer `name` of `jol.OPTIMIZERS` with a small learning rate.

    Adafactor factors matrices from 16 rows and columns, so that this small
    model's matrices get factored moments; noisy_sgd gets a fixed key.
    """
    factory = getattr(jol, name)
    names = inspect.signature(factory).parameters
    kwargs: dict[str, Any] = {}
    for lr in ("learning_rate", "max_learning_rate"):
        if lr in names:
            kwargs[lr] = LEARNING_RATE
    if "key" in names:
        kwargs["key"] = jax.random.key(0)
    if name == "adafactor":
        kwargs["min_dim_size_to_factor"] = 16
    if name == "lbfgs":
        # The line search evaluates the loss function, which these checks on
        # fixed gradients do not pass; the L-BFGS direction and its memory
        # (each leaf stacked memory_size times) are what sharding concerns.
        kwargs["linesearch"] = None
    return factory(**kwargs)


def by_name(txs: dict[str, optax.GradientTransformation]):
    """One transformation running ``txs[name]`` on ``params[name]``: every
    optimizer in one compiled program (much less compile time than one each)."""
    txs = {name: optax.with_extra_args_support(tx) for name, tx in txs.items()}

    def init(params):
        return {name: tx.init(params[name]) for name, tx in txs.items()}

    def update(updates, state, params=None, **extra_args):
        new_updates, new_state = {}, {}
        for name, tx in txs.items():
            mine = None if params is None else params[name]
            new_updates[name], new_state[name] = tx.update(
                updates[name], state[name], mine, **extra_args
            )
        return new_updates, new_state

    return optax.GradientTransformationExtraArgs(init, update)


def every_optimizer(mesh: Any) -> tuple[dict, dict]:
    """(optimizers, params) keyed alike: every optimizer of `jol.OPTIMIZERS`
    on the plain tree, and ``grouped_<name>`` for those of `GROUPED` on
    grouped params padded for `mesh`'s ``data`` axis."""
    txs = {name: make(name) for name in jol.OPTIMIZERS}
    params = {name: initial_params() for name in txs}
    grouped_params = sharding.group_for_mesh(initial_params(), mesh, "data")
    for name in GROUPED:
        grouping.check_elementwise(make(name), grouped_params, name=name)
        txs[f"grouped_{name}"] = jol.grouped(make(name))
        params[f"grouped_{name}"] = grouped_params
    return txs, params


def total_loss(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    """The sum of every optimizer's loss: each one's gradient is its own."""
    terms = []
    for tree in params.values():
        tree = tree.ungroup() if grouping.is_grouped(tree) else tree
        terms.append(loss_fn(tree, x, y))
    return sum(terms)


def numeric(tree: Any) -> list[np.ndarray]:
    """Every leaf as a float64 array (PRNG keys as their key data)."""
    out = []
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append(np.asarray(leaf, np.float64))
    return out
