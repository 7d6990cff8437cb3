"""Parity of contrib's methods with `optax.contrib`, step by step.

`assert_parity` runs each named pair (ours, Optax's) side by side
(`_family.side_by_side`), feeds both the same gradients and compares the
updates, every state leaf and the parameters at every step. Jitted, all
pairs are one compiled program, built with less LLVM optimisation (compile
time dominates; every comparison is within one executable or has a
tolerance). Gradients may carry a leading batch axis (per-example gradients
for DP-SGD): `batch` adds an axis of that size to every drawn gradient.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tests import helpers
from tests.optimizers import _family

STEPS = 60
FAST_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


def tree(dtype: Any = jnp.float32, seed: int = 0) -> dict:
    """Three leaves: a 3×4 matrix, a 1×3×2 array and a vector."""
    full = helpers.mixed_tree(dtype, seed)
    return {
        "kernel": full["dense"]["kernel"],
        "cube": full["pair"][1],
        "bias": full["dense"]["bias"],
    }


def small(dtype: Any = jnp.float32, seed: int = 0) -> dict:
    """Two leaves, a 2×3 matrix and a vector: for eager runs, whose first step
    compiles every operation for every new shape."""
    full = tree(dtype, seed)
    return {"kernel": full["kernel"][:2, :3], "bias": full["bias"][:3]}


def _run(txs, params, grads, jit, extra_args):
    extra_args = extra_args or {}

    def step(tx, carry, grad):
        p, state = carry
        updates, state = tx.update(grad, state, p, **extra_args)
        p = optax.apply_updates(p, updates)
        return (p, state), (updates, jax.tree.leaves(state), p)

    if jit:

        @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
        def scan_all(params, grads):
            return [
                jax.lax.scan(
                    functools.partial(step, tx), (params, tx.init(params)), grads
                )[1]
                for tx in txs
            ]

        return scan_all(params, grads)
    return helpers.run_trajectories(
        txs, params, grads, jit=False, extra_args=extra_args
    )


def assert_parity(
    pairs: dict[str, tuple[Any, Any]],
    params_fn: Any = tree,
    *,
    dtype: Any,
    jit: bool,
    steps: int = STEPS,
    extra_args: dict | None = None,
    batch: int | None = None,
    tol: helpers.Tolerance | None = None,
    reference_jitted: bool = False,
) -> dict[str, float]:
    """Every pair (ours, reference) on its own copy of `params_fn(dtype)`.

    `reference_jitted` runs the reference under `jax.jit` even when ours runs
    eagerly: Optax's `lax.cond` on closures made anew each step compiles at
    every eager call (seconds a step), which would make 50 eager steps cost
    minutes.

    Returns the largest relative difference of updates, state and params
    (|a − b| / max(|b|, 1e-30) over entries above the tolerance's atol).
    """
    ours = _family.side_by_side({k: a for k, (a, _) in pairs.items()})
    ref = _family.side_by_side({k: b for k, (_, b) in pairs.items()})
    params = {k: params_fn(dtype) for k in pairs}
    like = params
    if batch is not None:
        like = jax.tree.map(lambda p: jnp.broadcast_to(p, (batch, *p.shape)), params)
    grads = helpers.random_grads(like, steps)
    real = jnp.finfo(jax.tree.leaves(params)[0].dtype).dtype
    tol = tol or helpers.tolerance_for(real)
    if reference_jitted and not jit:
        (got,) = _run([ours], params, grads, False, extra_args)
        (want,) = _run([ref], params, grads, True, extra_args)
    else:
        got, want = _run([ours, ref], params, grads, jit, extra_args)
    helpers.assert_close_every_step(got[0], want[0], tol, "updates")
    helpers.assert_close_every_step(got[1], want[1], tol, "state")
    drift = jax.tree.map(
        lambda u: tol.rtol * np.cumsum(np.abs(np.asarray(u)).astype(np.float64), 0),
        want[0],
    )
    helpers.assert_close_every_step(got[2], want[2], tol, "params", extra_atol=drift)
    return {
        what: worst_relative(got[i], want[i], tol.atol)
        for i, what in enumerate(("updates", "state", "params"))
    }


def worst_relative(a: Any, b: Any, atol: float) -> float:
    worst = 0.0
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        x, y = np.asarray(x), np.asarray(y)
        if not np.issubdtype(y.dtype, np.inexact):
            continue
        big = np.abs(y) > atol
        if big.any():
            worst = max(worst, float(np.max(np.abs(x - y)[big] / np.abs(y)[big])))
    return worst
