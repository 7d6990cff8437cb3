"""A small training problem run by every optimizer, for the reliability tests."""

from __future__ import annotations

import functools
import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tests.reliability import rules

LEARNING_RATE = 0.05


def _contrib_optimizers() -> tuple[str, ...]:
    from jaxopt_lessons import contrib

    return contrib.OPTIMIZERS


#: Every optimizer: the optimizers' list, the torch presets and contrib's
#: optimizers (its blocks are not whole optimizers).
OPTIMIZERS = [
    f
    for f in rules.factories("optimizers", "torch", "contrib")
    if f.family != "contrib" or f.id.removeprefix("contrib.") in _contrib_optimizers()
]


def make(factory: rules.Factory, **kwargs: Any) -> optax.GradientTransformation:
    """The optimizer with a small learning rate, a fixed key and its defaults."""
    names = inspect.signature(factory.fn).parameters
    settings = rules.base_kwargs(factory)
    for lr_name in ("learning_rate", "lr"):
        if lr_name in names:
            settings[lr_name] = LEARNING_RATE
    if "key" in names:
        settings["key"] = jax.random.key(0)
    settings.update(CONTRIB_SETTINGS.get(factory.id, {}))
    settings.update(kwargs)
    tx = factory.fn(**settings)
    if factory.id in PER_EXAMPLE:
        tx = one_example_batch(tx)
    if factory.id in rules.MATRICES_ONLY:
        tx = matrices_only(tx)
    return tx


# ----------------------------------------------------------------------------
# contrib: optimizers whose `update` is not a plain (grads, state, params).
# sophia needs `obj_fn=` and sam in opaque mode `grad_fn=` (see `extra_args`).

#: These take per-example gradients: here, a batch of one example.
PER_EXAMPLE = {"contrib.dpsgd", "contrib.differentially_private_aggregate"}
#: Settings other than the defaults. galore at rank 2: at its default rank 128
#: every projector here is full rank and shaped like a parameter (8 × 4, as
#: `w`), which the sharding check would pair with that parameter.
CONTRIB_SETTINGS = {"contrib.galore": {"rank": 2, "update_proj_gap": 2}}


def one_example_batch(tx: optax.GradientTransformation) -> optax.GradientTransformation:
    """`tx`, fed the gradient as the per-example gradients of one example."""

    def update_fn(updates, state, params=None, **extra_args):
        batched = jax.tree.map(lambda g: g[None], updates)
        return optax.with_extra_args_support(tx).update(
            batched, state, params, **extra_args
        )

    return optax.GradientTransformationExtraArgs(tx.init, update_fn)


# Muon: torch.optim.Muon refuses vectors, so the vector `b` of the training
# problem is given Adam (as torch's documentation pairs Muon with AdamW).
def matrices_only(tx: optax.GradientTransformation) -> optax.GradientTransformation:
    import jaxopt_lessons as jol

    return optax.partition(
        {"matrix": tx, "other": jol.adam(LEARNING_RATE)},
        lambda params: jax.tree.map(
            lambda p: "matrix" if p.ndim == 2 else "other", params
        ),
    )


# End of Muon.


def initial_params(dtype: Any = jnp.float32) -> dict:
    """Three parameters with shapes that split over 8 devices, each shape its own:
    `w` is sharded by rows, `v` by columns and `b` is replicated in the
    sharding check, which tells a state leaf's parameter by its shape."""
    return {
        "w": jnp.asarray(np.linspace(-2.0, 2.0, 32).reshape(8, 4), dtype),
        "v": jnp.asarray(np.linspace(1.5, -1.0, 32).reshape(4, 8), dtype),
        "b": jnp.asarray([1.0, -2.0, 0.5], dtype),
    }


# An ill-conditioned bowl: curvatures from 0.1 to 10 over the entries.
_CURVATURE = {
    "w": np.geomspace(0.1, 10.0, 32).reshape(8, 4),
    "v": np.geomspace(10.0, 0.1, 32).reshape(4, 8),
    "b": np.asarray([2.0, 0.5, 5.0]),
}


def loss(params: dict) -> jax.Array:
    terms = jax.tree.map(
        lambda p, a: 0.5 * jnp.sum(a * (p.astype(jnp.float32) - 0.25) ** 2),
        params,
        _CURVATURE,
    )
    return sum(jax.tree.leaves(terms))


def grads_of(params: dict) -> dict:
    return jax.tree.map(
        lambda p, a: (a * (p.astype(jnp.float32) - 0.25)).astype(p.dtype),
        params,
        _CURVATURE,
    )


def sum_of_squares(params: Any) -> jax.Array:
    """A loss for any tree, for calls that only need some loss value."""
    return sum(
        jnp.sum(jnp.square(p.astype(jnp.float32))) for p in jax.tree.leaves(params)
    )


# ----------------------------------------------------------------------------
# Extra arguments of `update` (value=, grad=, value_fn=): Polyak's step size
# reads the loss, L-BFGS's line searches the loss, its gradient and the loss
# function.


def extra_args(tx, params, grads, loss_fn=None) -> dict:
    """What optimizers that need more than the gradient get, for transforms
    whose `update` accepts extra arguments. The others ignore them.

    `grad=` is the gradient with its NaN entries replaced by 0: Optax's
    guards (`zero_nans`, `apply_if_finite`) clean the updates a chain passes
    on, not the extra arguments, and a line search reads `grad=` itself (its
    slope ⟨u, g⟩). A user protecting L-BFGS against NaN gradients cleans the
    gradient passed as `grad=` the same way; with finite gradients this
    changes nothing.
    """
    update = inspect.signature(tx.update).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in update):
        return {}
    loss_fn = loss_fn or loss
    # The NaN guards clean the updates, not the extra arguments: a line search
    # reads `grad=` itself.
    cleaned = jax.tree.map(
        lambda g: jnp.where(jnp.isnan(g), jnp.zeros_like(g), g), grads
    )

    def value_fn(p, obj_fn=None, grad_fn=None):
        # A line search passes every extra argument on to `value_fn`; the
        # two meant for sophia and sam are not the loss's.
        del obj_fn, grad_fn
        return loss_fn(p)

    return {
        "value": loss_fn(params),
        "grad": cleaned,
        "value_fn": value_fn,
        # contrib: Hutchinson's estimate (sophia) differentiates the loss;
        # sam in opaque mode takes the gradient at its adversarial points.
        "obj_fn": loss_fn,
        "grad_fn": lambda p, _: jax.tree.map(
            lambda g, x: g.astype(x.dtype), jax.grad(loss_fn)(p), p
        ),
    }


def step(tx, params, state, grads):
    updates, state = tx.update(grads, state, params, **extra_args(tx, params, grads))
    return optax.apply_updates(params, updates), state


def bits(tree: Any) -> list[bytes]:
    """Every leaf's raw bytes (NaN payloads and -0.0 included), for bitwise checks."""
    out = []
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        array = np.asarray(leaf)
        out.append((array.dtype.str, array.shape, array.tobytes()))
    return out


def assert_bitwise_equal(a: Any, b: Any, what: str) -> None:
    assert jax.tree.structure(a) == jax.tree.structure(b), f"{what}: structures differ"
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(a)]
    for path, x, y in zip(paths, bits(a), bits(b)):
        assert x == y, f"{what}{path}: the bits differ"


#: Less LLVM optimisation: a third less compile time for the big test programs,
#: whose speed does not matter (every comparison is within one executable, or
#: with a tolerance).
FAST_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


def protected(tx: optax.GradientTransformation) -> optax.GradientTransformation:
    """`tx` behind both of Optax's guards: NaN entries become zeros, then a
    step with an inf left in it is skipped (at most 3 in a row)."""
    return optax.chain(
        optax.zero_nans(), optax.apply_if_finite(tx, max_consecutive_errors=3)
    )


def poison(grads: Any, value: Any, poisoned: Any) -> Any:
    """The gradient with the first entry of each leaf set to `value` when `poisoned`."""

    def one(g):
        first = jnp.arange(g.size).reshape(g.shape) == 0
        return jnp.where(poisoned & first, jnp.asarray(value, g.dtype), g)

    return jax.tree.map(one, grads)


@functools.cache
def every_optimizer():
    """Every optimizer, protected, and one compiled step of all of them.

    `step_all(params, states, value, poisoned)` takes and returns dicts keyed
    by optimizer id; the gradient of `loss` has its first entries set to
    `value` when `poisoned`. One program for all optimizers costs about a
    third of the compile time of one program each, and the non-finite,
    checkpoint and sharding tests all run it.
    """
    txs = {f.id: protected(make(f)) for f in OPTIMIZERS}

    @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
    def step_all(params, states, value, poisoned):
        new_params, new_states, finite = {}, {}, {}
        for name, tx in txs.items():
            grads = poison(grads_of(params[name]), value, poisoned)
            new_params[name], new_states[name] = step(
                tx, params[name], states[name], grads
            )
            finite[name] = jnp.all(
                jnp.stack(
                    [
                        jnp.all(jnp.isfinite(p))
                        for p in jax.tree.leaves(new_params[name])
                    ]
                )
            )
        return new_params, new_states, finite

    return txs, step_all


def start(txs: dict) -> tuple[dict, dict]:
    """Initial params and states of every optimizer, committed to one device
    (as the compiled step returns them, so that it never compiles twice)."""
    params = {name: initial_params() for name in txs}
    states = {name: tx.init(params[name]) for name, tx in txs.items()}
    return jax.device_put((params, states), jax.devices()[0])


def run(step_all, params, states, schedule) -> tuple[dict, dict, dict]:
    """Steps every optimizer through `schedule`, a list of (value, poisoned);
    returns params, states and whether the params stayed finite throughout."""
    always = dict.fromkeys(params, True)
    for value, poisoned in schedule:
        params, states, finite = step_all(
            params, states, np.float32(value), np.bool_(poisoned)
        )
        for name in always:
            always[name] &= bool(finite[name])
    return params, states, always


def numeric_leaves(tree: Any) -> list[np.ndarray]:
    """Every leaf as a float64 NumPy array (PRNG keys as their key data)."""
    out = []
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append(np.asarray(leaf, np.float64))
    return out
