"""`python -m jaxopt_lessons`: SGD, momentum, RMSprop and Adam on a ravine."""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons.problems import make_ravine

TOLERANCE = 1e-3  # stop when ‖x‖/‖x0‖ stays below this
LEARNING_RATES = np.logspace(-3, 0.5, 15)


def _run(make_opt, ravine, learning_rates, steps):
    """Trains one optimizer at many learning rates in one compiled program."""

    def one(lr):
        opt = make_opt(lr)

        def step(carry, _):
            x, state = carry
            updates, state = opt.update(ravine.grad(x), state, x)
            x = jol.apply_updates(x, updates)
            return (x, state), x

        _, path = jax.lax.scan(step, (ravine.x0, opt.init(ravine.x0)), None, length=steps)
        return path

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(learning_rates, jnp.float32)))


def _steps_to_stay_below(path, x0, tolerance):
    """First step after which ‖x‖/‖x0‖ stays below `tolerance` (inf if never)."""
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = np.linalg.norm(path, axis=-1) / np.linalg.norm(x0)
    ratio = np.where(np.isfinite(ratio), ratio, np.inf)
    above = ratio >= tolerance
    if above[-1]:
        return math.inf
    last_above = np.nonzero(above)[0]
    return int(last_above[-1] + 2) if last_above.size else 1


def _flip_fraction(path, ravine):
    """Share of steps whose move along the steep axis reverses the previous one."""
    steep = np.asarray(ravine.eigen_coordinates(jnp.asarray(path)))[:, -1]
    moves = np.diff(np.concatenate([[float(ravine.eigen_coordinates(ravine.x0)[-1])], steep]))
    signs = np.sign(moves[np.abs(moves) > 1e-12])
    if signs.size < 2:
        return 0.0
    return float(np.mean(signs[1:] != signs[:-1]))


def compare_on_ravine(kappa: float = 100.0, steps: int = 2000, seed: int = 0):
    """Best steps-to-tolerance of each optimizer over a learning-rate grid."""
    ravine = make_ravine(kappa, dim=2, key=seed)
    optimizers = {
        "sgd": lambda lr: jol.sgd(lr),
        "momentum (0.9)": lambda lr: jol.sgd(lr, momentum=0.9),
        "rmsprop": lambda lr: jol.rmsprop(lr),
        "adam": lambda lr: jol.adam(lr),
    }
    rows = []
    for name, make_opt in optimizers.items():
        paths = _run(make_opt, ravine, LEARNING_RATES, steps)
        counts = [_steps_to_stay_below(p, ravine.x0, TOLERANCE) for p in paths]
        best = int(np.argmin(counts))
        rows.append(
            {
                "optimizer": name,
                "best_lr": float(LEARNING_RATES[best]),
                "steps": counts[best],
                "flip_fraction": _flip_fraction(paths[best][: max(2, min(counts[best], steps))], ravine),
            }
        )
    return ravine, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxopt_lessons", description=__doc__)
    parser.add_argument("--kappa", type=float, default=100.0, help="condition number")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="output folder (unused so far)")
    args = parser.parse_args(argv)
    ravine, rows = compare_on_ravine(args.kappa, args.steps, args.seed)
    print(f"Ravine f(x) = ½ xᵀAx, κ = {ravine.kappa:g}, 2-D, rotated; steps until ‖x‖/‖x0‖ stays < {TOLERANCE:g}")
    print(f"{'optimizer':<16}{'best lr':>10}{'steps':>8}{'zig-zag':>10}")
    for row in rows:
        print(f"{row['optimizer']:<16}{row['best_lr']:>10.3g}{row['steps']:>8}{row['flip_fraction']:>10.2f}")
    return 0
