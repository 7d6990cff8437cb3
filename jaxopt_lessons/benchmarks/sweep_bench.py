"""Sweep benchmark: many learning rates of Adam on a small MLP, compile included.

Each repetition builds a *fresh* training function, so every method pays
its compilation, as a user's first sweep does. Methods: `jaxopt_lessons.sweeps`
with "vmap", "map", "loop" and "auto", and a reference written here: one
`jax.jit` of the training function called in a Python loop.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol


def _problem(batch: int = 256, width: int = 64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 16)).astype(np.float32)
    y = np.sin(x.sum(axis=1, keepdims=True)).astype(np.float32)
    params = {
        "w1": (rng.standard_normal((16, width)) / 4).astype(np.float32),
        "b1": np.zeros(width, np.float32),
        "w2": (rng.standard_normal((width, 1)) / 8).astype(np.float32),
        "b2": np.zeros(1, np.float32),
    }
    return jax.tree.map(jnp.asarray, (params, x, y))


def _make_train(steps: int) -> Callable:
    """A new function object each call, so that nothing is cached between repetitions."""

    def loss(params, x, y):
        hidden = jnp.tanh(x @ params["w1"] + params["b1"])
        return jnp.mean((hidden @ params["w2"] + params["b2"] - y) ** 2)

    def train(setting, params, x, y):
        opt = jol.adam(setting["lr"])
        state = opt.init(params)

        def step(carry, _):
            params, state = carry
            value, grads = jax.value_and_grad(loss)(params, x, y)
            updates, state = opt.update(grads, state, params)
            return (jax.tree.map(jnp.add, params, updates), state), value

        _, losses = jax.lax.scan(step, (params, state), None, length=steps)
        return losses[-1]

    return train


def run_sweep_bench(
    n_settings: int, steps: int, reps: int, log: Callable[[str], None]
) -> dict:
    """Times each method `reps` times, interleaved; returns medians and ratios."""
    from jaxopt_lessons import sweeps

    shared = _problem()
    settings = {"lr": np.geomspace(1e-4, 1e-1, n_settings).astype(np.float32)}

    def reference_loop():
        program = jax.jit(_make_train(steps))
        rows = [program({"lr": jnp.asarray(lr)}, *shared) for lr in settings["lr"]]
        return np.asarray(jax.device_get(rows))

    methods: dict[str, Callable[[], tuple[np.ndarray, str]]] = {
        "jit loop (reference)": lambda: (reference_loop(), "loop"),
    }
    for method in ("vmap", "map", "loop", "auto"):

        def run(method=method):
            result = sweeps.sweep(_make_train(steps), settings, *shared, method=method)
            return np.asarray(result.outputs), result.method

        methods[f"sweeps {method}"] = run
    times: dict[str, list[float]] = {name: [] for name in methods}
    finals: dict[str, np.ndarray] = {}
    chosen = ""
    for r in range(reps):
        for name, run in methods.items():
            start = time.perf_counter()
            out, used = run()
            times[name].append(time.perf_counter() - start)
            finals[name] = out
            if name == "sweeps auto":
                chosen = used
        log(f"  sweep round {r + 1}/{reps} done")
    ref = "jit loop (reference)"
    rows = []
    for name in methods:
        per_round = [a / b for a, b in zip(times[name], times[ref], strict=True)]
        rows.append(
            {
                "method": name,
                "seconds": statistics.median(times[name]),
                "seconds_min": min(times[name]),
                "seconds_max": max(times[name]),
                "ratio_to_loop": statistics.median(per_round),
                "ratio_min": min(per_round),
                "ratio_max": max(per_round),
                "max_abs_diff_final_loss": float(
                    np.max(np.abs(finals[name] - finals[ref]))
                ),
            }
        )
    fastest = min(
        ("vmap", "map", "loop"), key=lambda m: statistics.median(times[f"sweeps {m}"])
    )
    return {
        "settings": n_settings,
        "steps": steps,
        "reps": reps,
        "backend": jax.default_backend(),
        "auto_picked": chosen,
        "fastest_measured": fastest,
        "rows": rows,
    }
