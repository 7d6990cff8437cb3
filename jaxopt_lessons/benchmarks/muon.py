"""Muon's training step: `jaxopt_lessons.contrib.muon` against `optax.contrib.muon`.

    python -m jaxopt_lessons.benchmarks.muon [--quick] [--layers 8] [--width 256]

An MLP whose hidden layers are matrices of one shape: Optax orthogonalises
them one by one, `contrib.muon` in one batched Newton–Schulz program. The
benchmark times, in one process and in interleaved rounds (ours, Optax, ours,
...), the whole jitted training step (forward, backward, update, apply) and
the jitted update alone, and the first call of each (compilation included).
It reports medians, the ratio ours/Optax with the range of the per-round
ratios, and the largest difference of the parameters after the timed steps
(both sides run the same steps on the same data).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import contrib


def mlp_params(layers: int, width: int, inputs: int, outputs: int, seed: int = 0):
    """An input matrix, `layers` hidden (width, width) matrices, an output
    matrix, and a bias vector per layer (the biases go to Adam)."""
    rng = np.random.default_rng(seed)

    def dense(n_in, n_out):
        w = rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)
        return {"w": jnp.asarray(w, jnp.float32), "b": jnp.zeros(n_out, jnp.float32)}

    return {
        "input": dense(inputs, width),
        "hidden": [dense(width, width) for _ in range(layers)],
        "output": dense(width, outputs),
    }


def loss_fn(params, x, y):
    h = jnp.tanh(x @ params["input"]["w"] + params["input"]["b"])
    for layer in params["hidden"]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
    logits = h @ params["output"]["w"] + params["output"]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


#: --quick: less LLVM optimisation, a third less compile time (a smoke run's
#: timings mean nothing anyway).
FAST_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


#: The settings of --quick: a tiny model, 2 rounds of 2 steps.
QUICK = dict(
    layers=3, width=16, batch=8, rounds=2, steps=2, compiler_options=FAST_COMPILE
)


def make_steps(
    tx: optax.GradientTransformation, compiler_options: dict | None = None
) -> tuple[Callable, Callable]:
    """(jitted training step, jitted update alone)."""
    jit = functools.partial(jax.jit, compiler_options=compiler_options)

    @jit
    def train_step(params, state, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    @jit
    def update(grads, state, params):
        return tx.update(grads, state, params)

    return train_step, update


def _block(tree: Any) -> None:
    jax.block_until_ready(jax.tree.leaves(tree)[0])


def _timed(fn: Callable, *args) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn(*args)
    jax.block_until_ready(out)
    return time.perf_counter() - start, out


def run(
    layers: int = 8,
    width: int = 256,
    batch: int = 128,
    rounds: int = 7,
    steps: int = 10,
    learning_rate: float = 0.02,
    compiler_options: dict | None = None,
) -> dict:
    """Measures both implementations; returns the numbers (times in seconds)."""
    params = mlp_params(layers, width, 64, 10)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.standard_normal((batch, 64)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 10, batch))
    sides = {
        "ours": contrib.muon(learning_rate),
        "optax": optax.contrib.muon(learning_rate),
    }
    compiled, first, carry = {}, {}, {}
    for name, tx in sides.items():
        train_step, update = make_steps(tx, compiler_options)
        state = tx.init(params)
        grads = jax.grad(loss_fn)(params, x, y)
        t_step, carry[name] = _timed(train_step, params, state, x, y)
        t_update, _ = _timed(update, grads, state, params)
        compiled[name] = (train_step, update, grads, state)
        first[name] = {"step": t_step, "update": t_update}
    times = {name: {"step": [], "update": []} for name in sides}
    for _ in range(rounds):
        for name in sides:  # interleaved: load affects both alike
            train_step, update, grads, state = compiled[name]
            p, s = carry[name]
            start = time.perf_counter()
            for _ in range(steps):
                p, s = train_step(p, s, x, y)
            _block(p)
            times[name]["step"].append((time.perf_counter() - start) / steps)
            carry[name] = (p, s)
            start = time.perf_counter()
            for _ in range(steps):
                out = update(grads, state, params)
            _block(out[0])
            times[name]["update"].append((time.perf_counter() - start) / steps)
    result = {"config": dict(layers=layers, width=width, batch=batch, rounds=rounds,
                             steps=steps)}  # fmt: skip
    for what in ("step", "update"):
        ratios = [a / b for a, b in zip(times["ours"][what], times["optax"][what])]
        result[what] = {
            "ours": statistics.median(times["ours"][what]),
            "optax": statistics.median(times["optax"][what]),
            "ratio": statistics.median(ratios),
            "ratio_range": (min(ratios), max(ratios)),
            "first_ours": first["ours"][what],
            "first_optax": first["optax"][what],
        }
    result["max_abs_param_diff"] = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(
            jax.tree.leaves(carry["ours"][0]), jax.tree.leaves(carry["optax"][0])
        )
    )
    return result


def report(result: dict) -> str:
    c = result["config"]
    lines = [
        f"Muon, MLP with {c['layers']} hidden ({c['width']}, {c['width']}) matrices, "
        f"batch {c['batch']}; {c['rounds']} interleaved rounds of {c['steps']} steps",
        "| what | ours | optax.contrib.muon | ours/optax (range) | first call ours | "
        "first call optax |",
        "|---|---|---|---|---|---|",
    ]
    for what, label in (("step", "training step"), ("update", "update alone")):
        r = result[what]
        lo, hi = r["ratio_range"]
        lines.append(
            f"| {label} | {r['ours'] * 1e3:.2f} ms | {r['optax'] * 1e3:.2f} ms | "
            f"{r['ratio']:.2f} ({lo:.2f}-{hi:.2f}) | {r['first_ours']:.2f} s | "
            f"{r['first_optax']:.2f} s |"
        )
    lines.append(
        f"largest parameter difference after the timed steps: "
        f"{result['max_abs_param_diff']:.2g}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jaxopt_lessons.benchmarks.muon",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny model, 2 rounds of 2 steps: a smoke run of seconds",
    )
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)  # fmt: skip
    if args.quick:
        result = run(**QUICK)
    else:
        result = run(args.layers, args.width, args.batch, args.rounds, args.steps)
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
