"""The experiments behind the knowledge check (listed in `knowledge_check`).

`gather_evidence(seed)` runs them, in a few compiled programs, and returns one
dict of numbers; `knowledge_check.check_options` holds each option against it.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.problems import make_ravine, make_scaled_bowl

STEPS = 2000
TOLERANCE = 1e-3


def _quadratic_program(setting):
    """SGD/momentum (which=0) or Adam (which=1) on ½ xᵀAx; the whole path."""
    lr, beta = setting["lr"], setting["beta"]
    opt = sweeps.select([jol.sgd(lr, momentum=beta), jol.adam(lr)], setting["which"])
    hessian, x0 = setting["hessian"], setting["x0"]

    def step(carry, _):
        x, state = carry
        u, state = opt.update(hessian @ x, state, x)
        return (x + u, state), x + u

    _, path = jax.lax.scan(step, (x0, opt.init(x0)), None, length=STEPS)
    return jnp.concatenate([x0[None], path])


@jax.jit
def _adam_checks(grads, other_first):
    """Adam (library) against the formula; and after two different histories."""
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    opt = jol.adam(lr, b1=b1, b2=b2, eps=eps)

    def run(gs):
        def step(state, g):
            u, state = opt.update(g, state)
            return state, u

        _, us = jax.lax.scan(step, opt.init(gs[0]), gs)
        return us

    ours = run(grads)
    # Both histories end in the same gradient grads[-1]; they differ before.
    alternative = grads.at[: grads.shape[0] - 1].set(other_first)
    return ours, run(alternative)


def _adam_by_hand(grads, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    g = np.asarray(grads, np.float64)
    m = np.zeros_like(g[0])
    v = np.zeros_like(g[0])
    out = []
    for t, gt in enumerate(g, start=1):
        m = b1 * m + (1 - b1) * gt
        v = b2 * v + (1 - b2) * gt**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        out.append(-lr * m_hat / (np.sqrt(v_hat) + eps))
    return np.stack(out)


def _steps_below(path, tolerance=TOLERANCE):
    err = np.linalg.norm(path, axis=1) / np.linalg.norm(path[0])
    err = np.where(np.isfinite(err), err, np.inf)
    above = np.nonzero(err >= tolerance)[0]
    return int(above[-1] + 1) if above.size else 0


def _update_parameters(transform) -> list[str]:
    return list(inspect.signature(transform.update).parameters)


def _quadratic_evidence(seed: int) -> dict:
    """GD, heavy ball and momentum on a κ = 100 ravine, SGD and Adam on the
    1000:1 bowl, in one compiled program; the numbers the checks read."""
    ravine = make_ravine(100.0, 2, key=seed)
    lr_gd = ravine.gd_step_size()
    alpha, beta = ravine.heavy_ball_constants()
    bowl = make_scaled_bowl((1000.0, 1.0))
    rows = [
        ("gd", lr_gd, 0.0, 0, ravine),
        ("heavy_ball", alpha, beta, 0, ravine),
        ("momentum_same_lr", lr_gd, 0.9, 0, ravine),
        ("momentum_lr_1e-4", 1e-4, 0.9, 0, ravine),
        ("momentum_lr_0.1", 0.1, 0.9, 0, ravine),
        ("momentum_lr_10", 10.0, 0.9, 0, ravine),
        ("bowl_sgd", 1.9e-3, 0.0, 0, bowl),
        ("bowl_adam", 1e-2, 0.0, 1, bowl),
    ]
    settings = {
        "lr": np.asarray([r[1] for r in rows], np.float32),
        "beta": np.asarray([r[2] for r in rows], np.float32),
        "which": np.asarray([r[3] for r in rows], np.int32),
        "hessian": np.stack([np.asarray(r[4].hessian) for r in rows]),
        "x0": np.stack([np.asarray(r[4].x0) for r in rows]),
    }
    paths = sweeps.sweep(_quadratic_program, settings, method="vmap").outputs
    paths = {r[0]: np.asarray(p, np.float64) for r, p in zip(rows, paths, strict=True)}
    return {
        **_ravine_numbers(paths, ravine),
        **_bowl_numbers(paths["bowl_sgd"], paths["bowl_adam"]),
    }


def _ravine_numbers(paths: dict, ravine) -> dict:
    """Zig-zag, steps, sideways travel and loss on the ravine; momentum's error
    after 500 steps at three learning rates."""
    steep_axis = np.asarray(ravine.basis, np.float64)[:, -1]  # steepest direction

    def flip_fraction(path, n):
        moves = np.diff(path[: n + 1] @ steep_axis)
        moves = moves[np.abs(moves) > 1e-12]
        return float(np.mean(np.sign(moves[1:]) != np.sign(moves[:-1])))

    def sideways_travel(path):
        s = path @ steep_axis
        return float(np.sum(np.abs(np.diff(s))) / abs(s[0]))

    n_gd = _steps_below(paths["gd"])
    err_after_500 = {}
    for lr in ("1e-4", "0.1", "10"):
        p = paths[f"momentum_lr_{lr}"]
        ratio = np.linalg.norm(p[500]) / np.linalg.norm(p[0])
        err_after_500[lr] = float(ratio) if np.isfinite(ratio) else float("inf")
    hessian = np.asarray(ravine.hessian)
    f_gd = 0.5 * np.einsum("ni,ij,nj->n", paths["gd"], hessian, paths["gd"])
    return {
        "ravine_kappa": 100.0,
        "gd_steps_to_1e-3": n_gd,
        "heavy_ball_steps_to_1e-3": _steps_below(paths["heavy_ball"]),
        "gd_flip_fraction": flip_fraction(paths["gd"], n_gd),
        "gd_sideways_travel": sideways_travel(paths["gd"]),
        "momentum_same_lr_sideways_travel": sideways_travel(paths["momentum_same_lr"]),
        "gd_loss_reduction": float(f_gd[-1] / f_gd[0]),
        "momentum_error_after_500_by_lr": err_after_500,
    }


def _bowl_numbers(bowl_sgd, bowl_adam) -> dict:
    """Shallow progress in 200 steps, and the ratio of Adam's first step."""
    first_adam = np.abs(bowl_adam[1] - bowl_adam[0])
    return {
        "bowl_shallow_progress_sgd": float(1 - abs(bowl_sgd[200, 1]) / bowl_sgd[0, 1]),
        "bowl_shallow_progress_adam": float(
            1 - abs(bowl_adam[200, 1]) / bowl_adam[0, 1]
        ),
        "bowl_adam_first_step_ratio": float(first_adam[0] / first_adam[1]),
    }


def _adam_evidence(seed: int) -> dict:
    """Adam against the formula; the same last gradient after two histories."""
    rng = np.random.default_rng(seed)
    grads = rng.standard_normal((6, 5)).astype(np.float32)
    other = rng.standard_normal((5, 5)).astype(np.float32) * 3.0
    ours, alternative = (np.asarray(a, np.float64) for a in _adam_checks(grads, other))
    by_hand = _adam_by_hand(grads)
    return {
        "adam_formula_max_rel_gap": float(
            np.max(np.abs(ours - by_hand) / np.abs(by_hand))
        ),
        "adam_history_update_gap": float(
            np.linalg.norm(ours[-1] - alternative[-1]) / np.linalg.norm(ours[-1])
        ),
    }


def _circles_evidence(seed: int) -> float:
    """SGD on a nonlinear model: a ReLU network on the circles, best test accuracy."""
    from jaxopt_lessons.lessons import wrong_gradients

    circle_acc = wrong_gradients.circles_accuracy(
        seed, which=[0] * 3, lr=[0.1, 0.3, 1.0], slope=[0.0] * 3, optimizers=("SGD",)
    )
    return float(np.max(circle_acc))


@functools.lru_cache(maxsize=8)
def gather_evidence(seed: int = 0) -> dict:
    """Runs every experiment behind the checks; returns the numbers (cached)."""
    return {
        **_quadratic_evidence(seed),
        **_adam_evidence(seed),
        "sgd_relu_circles_best_test_acc": _circles_evidence(seed),
        "momentum_update_arguments": _update_parameters(jol.sgd(0.1, momentum=0.9)),
        "adam_update_arguments": _update_parameters(jol.adam(1e-3)),
    }
