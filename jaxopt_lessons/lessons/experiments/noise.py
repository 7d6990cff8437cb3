"""The noise lesson's two experiments (the claim and its verdict: `lessons.noise`).

A: SGD and the heavy ball at the same effective lr on noisy quadratics, many
noise streams, one compiled sweep; floors against the exact stationary loss.
B: minibatch least squares on the diabetes data, one sweep per seed; floors
and early directions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.problems import diabetes_least_squares, make_noisy_quadratic
from jaxopt_lessons.problems._keys import numpy_rng

BETA = 0.9
SIGMA = 0.5
DIM = 10
BATCH = 8
EARLY = 50  # steps over which the direction is compared
COS_EPS = 1e-30


def _cosine(u, g):
    return -(u @ g) / jnp.maximum(jnp.linalg.norm(u) * jnp.linalg.norm(g), COS_EPS)


def _noisy_quadratic_run(setting, sigma, noise):
    """One (lr, β) on one problem, vmapped over noise streams: noise (S, T, d).

    Every setting sees the same noise draws (common random numbers), so the
    comparison between methods is not blurred by different luck.
    """
    hessian, x0 = setting["hessian"], setting["x0"]
    opt = jol.sgd(setting["lr"], momentum=setting["beta"])

    def one_stream(keys):
        def step(carry, xi):
            x, state = carry
            true_grad = hessian @ x
            grad = true_grad + sigma * xi
            u, state = opt.update(grad, state, x)
            return (x + u, state), (0.5 * x @ true_grad, _cosine(u, true_grad))

        _, (loss, cos) = jax.lax.scan(step, (x0, opt.init(x0)), keys)
        return loss, cos

    loss, cos = jax.vmap(one_stream)(noise)
    half = loss.shape[1] // 2
    per_stream = loss[:, half:].mean(1)
    return {
        "curve": loss.mean(0),
        "floor": per_stream.mean(),
        "floor_se": per_stream.std() / jnp.sqrt(per_stream.shape[0]),
        "early_cos": cos[:, :EARLY].mean(),
    }


def _minibatch_run(setting, x, y, w_star, loss_star, batches):
    """Minibatch least squares from w0 = 0, vmapped over streams.

    batches: (S, T, BATCH) row indices, drawn with replacement, shared by
    every setting.
    """
    opt = jol.sgd(setting["lr"], momentum=setting["beta"])
    n = x.shape[0]

    def one_stream(keys):
        w0 = jnp.zeros_like(w_star)

        def step(carry, idx):
            w, state = carry
            xb, yb = x[idx], y[idx]
            grad = xb.T @ (xb @ w - yb) / BATCH
            full = x.T @ (x @ w - y) / n
            u, state = opt.update(grad, state, w)
            excess = 0.5 * jnp.mean((x @ w - y) ** 2) - loss_star
            return (w + u, state), (excess, _cosine(u, full))

        _, (excess, cos) = jax.lax.scan(step, (w0, opt.init(w0)), keys)
        return excess, cos

    excess, cos = jax.vmap(one_stream)(batches)
    half = excess.shape[1] // 2
    return {
        "curve": excess.mean(0),
        "floor": excess[:, half:].mean(),
        "early_cos": cos[:, :EARLY].mean(),
        "cos_curve": cos.mean(0)[: 4 * EARLY],
    }


def _first_below(curve, level):
    hits = np.nonzero(np.asarray(curve) <= level)[0]
    return int(hits[0]) if hits.size else len(curve)


def _rng(seed, tag):
    """A NumPy generator for one seed and one use (tag)."""
    return numpy_rng("noise.run", jax.random.fold_in(jax.random.key(seed), tag))


def _configs(etas) -> list[tuple[float, float]]:
    """(lr, β) rows: SGD at each η, then the heavy ball at the same effective η."""
    return [(eta, 0.0) for eta in etas] + [(eta * (1 - BETA), BETA) for eta in etas]


def quadratic_experiment(seeds, etas, steps, streams, seed) -> dict:
    """Experiment A: rows (problem, (lr, β)), one compiled program.

    The configs are `_configs(etas)` and, last, momentum added at the raw lr
    etas[0]. Floors, standard errors and early cosines come back as
    (configs, seeds) arrays, curves as (seeds, configs, steps).
    """
    problems = [make_noisy_quadratic(10.0, DIM, SIGMA, key=s) for s in seeds]
    configs = [*_configs(etas), (etas[0], BETA)]
    rows = [
        {"lr": lr, "beta": b, "hessian": p.quadratic.hessian, "x0": p.x0}
        for p in problems
        for lr, b in configs
    ]
    noise = _rng(seed, 0).standard_normal((streams, steps, DIM))
    out = sweeps.sweep(
        _noisy_quadratic_run, rows, SIGMA, jnp.asarray(noise, jnp.float32)
    ).outputs
    shape = (len(seeds), len(configs))
    floor = out["floor"].reshape(shape).T
    curve = out["curve"].reshape(*shape, -1)
    return {
        "floor": floor,
        "floor_se": out["floor_se"].reshape(shape).T,
        "cos": out["early_cos"].reshape(shape).T,
        "curve": curve,
        "exact": np.array(
            [[p.stationary_loss(lr, b) for p in problems] for lr, b in configs]
        ),
        # Stability limits in effective-step terms, η = lr/(1 − β).
        "sgd_edge": min(p.edge_learning_rate(0.0) for p in problems),
        "hb_edge": min(p.edge_learning_rate(BETA) for p in problems) / (1 - BETA),
        "raw_steps_sgd": [
            _first_below(curve[s, 0], 1.5 * floor[0, s]) for s in range(len(seeds))
        ],
        "raw_steps_hb": [
            _first_below(curve[s, -1], 1.5 * floor[-1, s]) for s in range(len(seeds))
        ],
    }


def diabetes_experiment(seed, seeds, etas, steps, streams) -> dict:
    """Experiment B: minibatch least squares on diabetes, one sweep per seed.

    Floors and early cosines come back as (configs, seeds) arrays, the first
    seed's curves as the sweep's outputs.
    """
    data = diabetes_least_squares(seed)
    configs = _configs(etas)
    shared = (data.x, data.y, data.w_star, data.loss_star)
    floor = np.zeros((len(configs), len(seeds)))
    cos = np.zeros_like(floor)
    curves = []
    for j, s in enumerate(seeds):
        batches = _rng(s, 1).integers(0, data.x.shape[0], (streams, steps, BATCH))
        res = sweeps.sweep(
            _minibatch_run,
            [{"lr": lr, "beta": b} for lr, b in configs],
            *shared,
            jnp.asarray(batches, jnp.int32),
        ).outputs
        floor[:, j], cos[:, j] = res["floor"], res["early_cos"]
        if j == 0:
            curves = res
    return {"floor": floor, "cos": cos, "curves": curves}
