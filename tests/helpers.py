"""Shared test machinery: mixed pytrees, tolerances and the parity harness."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax


@dataclasses.dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str


# float32, same algebra on both sides: the two implementations may order a
# few operations differently and XLA may fuse them differently (jit vs eager
# alone differs by ~1e-7); over 100 steps that stays within a few ulps of 1e-7.
F32 = Tolerance(1e-5, 1e-6, "float32, same algebra, rounding order may differ")
# float64: the same comparison with ~9 more digits.
F64 = Tolerance(1e-12, 1e-14, "float64, same algebra, rounding order may differ")
# bfloat16 has 8 bits of mantissa: one rounding is ~4e-3 relative.
BF16 = Tolerance(2e-2, 1e-2, "bfloat16 keeps 8 significant bits")
# A value checked against a formula written out in the test, in float32.
BY_HAND = Tolerance(1e-6, 1e-7, "one or two float32 roundings of a short formula")


def tolerance_for(dtype) -> Tolerance:
    dtype = jnp.dtype(dtype)
    if dtype == jnp.float64:
        return F64
    if dtype == jnp.bfloat16:
        return BF16
    return F32


def mixed_tree(dtype=jnp.float32, seed: int = 0) -> Any:
    """Nested dicts, lists and tuples of scalars, vectors and matrices."""
    rng = np.random.default_rng(seed)

    def normal(shape):
        return jnp.asarray(rng.standard_normal(shape), dtype)

    return {
        "dense": {"kernel": normal((3, 4)), "bias": normal((4,))},
        "layers": [normal((2, 2)), {"scale": normal(())}],
        "pair": (normal((5,)), normal((1, 3, 2))),
        "scalar": normal(()),
    }


def random_grads(params: Any, steps: int, seed: int = 1) -> Any:
    """A tree like `params` whose leaves gain a leading axis of `steps` gradients.

    Magnitudes vary over two decades between steps, so that adaptive methods
    see changing scales, and about 5 % of the entries are exactly zero. Drawn
    with NumPy from a fixed seed: deterministic and cheap.
    """
    rng = np.random.default_rng(seed)

    def one(leaf):
        shape = (steps, *jnp.shape(leaf))
        scale = 10.0 ** rng.uniform(-1, 1, (steps,) + (1,) * jnp.ndim(leaf))
        grad = rng.standard_normal(shape) * scale
        if jnp.iscomplexobj(leaf):
            grad = grad + 1j * rng.standard_normal(shape) * scale
        grad[rng.uniform(size=shape) < 0.05] = 0.0
        return jnp.asarray(grad, leaf.dtype)

    return jax.tree.map(one, params)


def run_updates(tx: optax.GradientTransformation, grads: Sequence[Any]) -> tuple:
    """Feeds `grads` to `tx` one at a time, eagerly, without params.

    The state starts at ``tx.init(grads[0])``. Returns the list of updates and
    the final state, for tests that check a few steps by hand.
    """
    state = tx.init(grads[0])
    outputs = []
    for g in grads:
        u, state = tx.update(g, state)
        outputs.append(u)
    return outputs, state


def run_trajectories(
    txs: Sequence[optax.GradientTransformation],
    params: Any,
    grads: Any,
    *,
    jit: bool,
    extra_args: dict | None = None,
) -> list:
    """Runs each of `txs` over the stacked `grads`, applying its updates to `params`.

    Returns, for each transform, (updates, state_leaves, params), each with a
    leading step axis: every step's output is kept so that the comparison
    covers every step. Jitted, all runs are one `lax.scan` each inside a single
    compiled program (one compilation instead of one per transform).
    """
    extra_args = extra_args or {}

    def stepper(tx):
        def step(carry, grad):
            params, state = carry
            updates, state = tx.update(grad, state, params, **extra_args)
            params = optax.apply_updates(params, updates)
            return (params, state), (updates, jax.tree.leaves(state), params)

        return step

    if jit:

        def scan_all(params, grads):
            return [
                jax.lax.scan(stepper(tx), (params, tx.init(params)), grads)[1]
                for tx in txs
            ]

        return jax.jit(scan_all)(params, grads)
    steps = jax.tree.leaves(grads)[0].shape[0]
    results = []
    for tx in txs:
        step, carry, history = stepper(tx), (params, tx.init(params)), []
        for t in range(steps):
            carry, out = step(carry, jax.tree.map(lambda g, t=t: g[t], grads))
            history.append(out)
        results.append(jax.tree.map(lambda *xs: jnp.stack(xs), *history))
    return results


def run_trajectory(
    tx: optax.GradientTransformation,
    params: Any,
    grads: Any,
    *,
    jit: bool,
    extra_args: dict | None = None,
) -> tuple[Any, list]:
    """`run_trajectories` for one transform."""
    return run_trajectories([tx], params, grads, jit=jit, extra_args=extra_args)[0]


def assert_close_every_step(
    ours: Any, ref: Any, tol: Tolerance, what: str, extra_atol: Any = None
) -> None:
    """Compares two stacked trees leaf by leaf and names the first bad step.

    `extra_atol`, a tree like `ref`, widens the absolute tolerance elementwise
    (used for parameters, which accumulate every step's rounding).
    """
    ours_leaves, ours_def = jax.tree_util.tree_flatten_with_path(ours)
    ref_leaves = jax.tree.leaves(ref)
    extra = (
        jax.tree.leaves(extra_atol)
        if extra_atol is not None
        else [0.0] * len(ref_leaves)
    )
    assert len(ours_leaves) == len(ref_leaves), (
        f"{what}: {len(ours_leaves)} leaves, reference has {len(ref_leaves)}"
    )
    for (path, a), b, widen in zip(ours_leaves, ref_leaves, extra):
        where = f"{what}{jax.tree_util.keystr(path)}"
        assert jnp.shape(a) == jnp.shape(b), (
            f"{where}: shape {jnp.shape(a)} vs {jnp.shape(b)}"
        )
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} vs {b.dtype}"
        a64 = np.asarray(a, np.float64) if not jnp.iscomplexobj(a) else np.asarray(a)
        b64 = np.asarray(b, np.float64) if not jnp.iscomplexobj(b) else np.asarray(b)
        atol = tol.atol + np.asarray(widen)
        with np.errstate(invalid="ignore"):  # inf − inf
            close = np.abs(a64 - b64) <= atol + tol.rtol * np.abs(b64)
        close |= np.isnan(a64) & np.isnan(b64)
        close |= a64 == b64  # equal infinities
        if not close.all():
            bad = np.argwhere(~close)[0]
            raise AssertionError(
                f"{where}: first mismatch at step {bad[0]} index {tuple(bad[1:])}: "
                f"{a64[tuple(bad)]!r} vs reference {b64[tuple(bad)]!r} "
                f"(rtol={tol.rtol}, atol={tol.atol}: {tol.reason})"
            )


def assert_same_trajectory(
    ours: optax.GradientTransformation,
    ref: optax.GradientTransformation,
    params: Any,
    *,
    steps: int = 100,
    jit: bool = True,
    tol: Tolerance | None = None,
    seed: int = 1,
    extra_args: dict | None = None,
) -> None:
    """Feeds both transforms the same gradients; compares updates, every state
    leaf and the parameters at every step (state classes differ, so leaves are
    compared in order, not tree definitions)."""
    tol = tol or tolerance_for(jax.tree.leaves(params)[0].dtype)
    grads = random_grads(params, steps, seed)
    got, want = run_trajectories(
        [ours, ref], params, grads, jit=jit, extra_args=extra_args
    )
    assert_close_every_step(got[0], want[0], tol, "updates")
    assert_close_every_step(got[1], want[1], tol, "state")
    # Parameters sum every step's update, and with it every step's rounding:
    # step t may be off by up to rtol times the sum of |u| so far.
    drift = jax.tree.map(
        lambda u: (
            tol.rtol * np.cumsum(np.abs(np.asarray(u)).astype(np.float64), axis=0)
        ),
        want[0],
    )
    assert_close_every_step(got[2], want[2], tol, "params", extra_atol=drift)
