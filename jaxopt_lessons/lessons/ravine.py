"""Ravines: gradient descent zig-zags and needs ~κ steps; momentum needs ~√κ.

Experiment. f(x) = ½ xᵀAx with eigenvalues geometric in [1/κ, 1] and a random
rotation (`problems.make_ravine`), x0 ~ N(0, I). Count the steps until the
error ‖x‖/‖x0‖ first drops below 1e-3 for

- GD at its best fixed step 2/(L + μ) (its error shrinks by (κ−1)/(κ+1) per step),
- the heavy ball at Polyak's optimal (α, β) (rate (√κ−1)/(√κ+1)),

for κ ∈ {10, 100, 1000} and several dimensions and seeds, and fit the slope of
log(steps) against log(κ): ≈ 1 for GD, ≈ 0.5 for the heavy ball.

Zig-zag, in 2-D at κ = 100: along the steep eigenvector, GD at 2/(L+μ)
overshoots and reverses direction on every step. Momentum at the *same*
learning rate damps the sideways motion. The honest caveat: the speed-optimal
heavy ball swings across the valley as much as GD does; it is faster because
it may take a far larger step, not because it zig-zags less. Nesterov's
scheme with its standard constants is the one that really removes the
sideways motion.

References: Polyak, "Some methods of speeding up the convergence of iteration
methods", USSR Comput. Math. Math. Phys. 4(5), 1964; Goh, "Why Momentum Really
Works", Distill, 2017; Nesterov, *Introductory Lectures on Convex
Optimization*, 2004, §2.2; Goodfellow, Bengio, Courville, *Deep Learning*,
MIT Press 2016, §4.3.1 and §8.3.2.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics, sweeps
from jaxopt_lessons.lessons._common import min_median_max
from jaxopt_lessons.problems import make_ravine, quadratic

CLAIM_ID = "ravine"
CLAIM = (
    "In a ravine of condition number κ, gradient descent bounces between the walls "
    "and needs about κ steps, heavy-ball momentum about √κ; at the same learning rate "
    "momentum damps the zig-zag, but the fastest heavy ball swings sideways as much "
    "as GD and wins by taking larger steps."
)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these)."""

    gd_slope: tuple[float, float] = (0.9, 1.1)  # median slope of log steps vs log κ
    hb_slope: tuple[float, float] = (0.4, 0.65)  # the same, tuned heavy ball
    hb_speedup_min: float = 10.0  # GD/heavy-ball steps at κ = 1000, every problem
    gd_flip_fraction_min: float = 0.99  # GD reverses its steep move, every problem
    damped_travel_max: float = 0.5  # momentum at GD's lr / GD's least travel
    swing_travel_min: float = 0.5  # optimal heavy ball / GD's median travel


THRESHOLDS = Thresholds()

TOLERANCE = 1e-3  # error cut 1000x: ‖x‖/‖x0‖ < 1e-3
KAPPAS = (10.0, 100.0, 1000.0)
MAX_STEPS = 20_000
ZIGZAG_KAPPA = 100.0
ZIGZAG_STEPS = 800  # enough for every method at κ = 100 (GD at 1/L needs ~700)
SHOWN_STEPS = 60  # iterates drawn in the contour plot
ZIGZAG_METHODS = (
    "GD, lr 2/(L+μ)",
    "GD, lr 1/L",
    "momentum 0.9, same lr as GD",
    "heavy ball, optimal (α, β)",
    "Nesterov, standard constants",
)


# One compiled function per optimizer family; the problem and the
# hyperparameters are arguments (a setting row), never closed over.
def _steps_to_tolerance(setting, tolerance):
    """Heavy ball (β = 0 is GD) until ‖x‖/‖x0‖ < tolerance; returns the count."""
    hessian, x0 = setting["hessian"], setting["x0"]
    opt = jol.sgd(setting["lr"], momentum=setting["beta"])
    target = tolerance * jnp.linalg.norm(x0)

    def cond(carry):
        x, _, k = carry
        return (jnp.linalg.norm(x) >= target) & (k < MAX_STEPS)

    def body(carry):
        x, state, k = carry
        updates, state = opt.update(hessian @ x, state, x)
        return jol.apply_updates(x, updates), state, k + 1

    _, _, k = jax.lax.while_loop(cond, body, (x0, opt.init(x0), jnp.int32(0)))
    return k


def _path(setting):
    """ZIGZAG_STEPS steps of SGD / heavy ball / Nesterov; the path and diagnostics.

    `setting["nesterov"]` in {0, 1} picks the momentum form as data, so one
    compiled program serves every method.
    """
    hessian, x0 = setting["hessian"], setting["x0"]
    heavy = jol.sgd(setting["lr"], momentum=setting["beta"])
    nesterov = jol.sgd(setting["lr"], momentum=setting["beta"], nesterov=True)
    opt = sweeps.select([heavy, nesterov], setting["nesterov"])
    path, stats = diagnostics.run(opt, lambda x: hessian @ x, x0, ZIGZAG_STEPS)
    return {"path": path, "zigzag_index": stats.zigzag, "cosine": stats.cosine}


@dataclasses.dataclass(frozen=True)
class Result:
    """Measured numbers of the ravine lesson, and the data its plots draw."""

    holds: bool
    measured: str
    kappas: list[float]
    dims: list[int]
    seeds: list[int]
    steps_gd: np.ndarray  # (dims, seeds, kappas)
    steps_hb: np.ndarray
    slopes_gd: list[float]  # one per (dim, seed)
    slopes_hb: list[float]
    ratio_gd_hb: dict[str, list[float]]  # per κ: GD/HB over (dim, seed)
    closed_form_2d: list[int]  # ceil(ln 1e3 / ln((κ+1)/(κ−1)))
    measured_2d_gd: list[list[int]]  # per seed, per κ
    zigzag: dict[str, dict[str, list[float]]]  # method -> metric -> per seed
    example_paths: dict[str, np.ndarray]  # method -> (ZIGZAG_STEPS + 1, 2)
    example_eigenvalues: np.ndarray

    def numbers(self) -> dict:
        return {
            "kappas": self.kappas,
            "dims": self.dims,
            "seeds": self.seeds,
            "steps_gd": self.steps_gd.tolist(),
            "steps_hb": self.steps_hb.tolist(),
            "slope_gd_min_median_max": min_median_max(self.slopes_gd),
            "slope_hb_min_median_max": min_median_max(self.slopes_hb),
            "ratio_gd_hb_min_median_max": {
                k: min_median_max(v) for k, v in self.ratio_gd_hb.items()
            },
            "closed_form_2d_gd": self.closed_form_2d,
            "measured_2d_gd": self.measured_2d_gd,
            "zigzag_kappa": ZIGZAG_KAPPA,
            "zigzag_min_median_max": {
                method: {name: min_median_max(v) for name, v in metrics.items()}
                for method, metrics in self.zigzag.items()
            },
        }


def slope(kappas, steps):
    """The fitted slope of log(steps) against log(κ)."""
    return float(np.polyfit(np.log(kappas), np.log(steps), 1)[0])


def _zigzag_metrics(path, x0, basis):
    """Flip fraction, sideways travel, max excursion, path length, steps."""
    full = np.concatenate([x0[None], path])
    errors = np.linalg.norm(full, axis=1) / np.linalg.norm(x0)
    below = np.nonzero(errors < TOLERANCE)[0]
    steps = int(below[0]) if below.size else len(full)
    run = full[: steps + 1]
    steep = run @ basis[:, -1]  # coordinate along the steepest eigenvector
    moves = np.diff(steep)
    signs = np.sign(moves[np.abs(moves) > 1e-12 * np.abs(steep[0])])
    flips = float(np.mean(signs[1:] != signs[:-1])) if signs.size > 1 else 0.0
    return {
        "steps": float(steps),
        "flip_fraction": flips,
        "sideways_travel": float(np.sum(np.abs(moves)) / np.abs(steep[0])),
        "max_error": float(errors[: steps + 1].max()),
        "path_length": float(
            np.sum(np.linalg.norm(np.diff(run, axis=0), axis=1)) / np.linalg.norm(x0)
        ),
    }


def _zigzag_rows(ravine):
    """(lr, β, nesterov) of each of ZIGZAG_METHODS on one problem."""
    lr_gd = ravine.gd_step_size()
    alpha, beta = ravine.heavy_ball_constants()
    lr_nag, beta_nag = ravine.nesterov_constants()
    big = float(jnp.max(ravine.eigenvalues))
    return [
        (lr_gd, 0.0, 0),
        (1.0 / big, 0.0, 0),
        (lr_gd, 0.9, 0),
        (alpha, beta, 0),
        (lr_nag, beta_nag, 1),
    ]


def steps_in_dimension(dim, seeds, kappas):
    """Steps to tolerance of GD and the heavy ball, (seeds, kappas) each.

    Every (seed, κ, method) of one dimension runs in one sweep.
    """
    rows = []
    for s in seeds:
        for kappa in kappas:
            r = make_ravine(kappa, dim, key=s)
            alpha, beta = r.heavy_ball_constants()
            for lr, b in ((r.gd_step_size(), 0.0), (alpha, beta)):
                rows.append({"lr": lr, "beta": b, "hessian": r.hessian, "x0": r.x0})
    counts = sweeps.sweep(_steps_to_tolerance, rows, TOLERANCE).outputs
    counts = np.asarray(counts).reshape(len(seeds), len(kappas), 2)
    return counts[..., 0], counts[..., 1]


def _measure_steps(dims, seeds, kappas) -> dict:
    """Part 1: steps against κ, their slopes and ratios, the 2-D closed form."""
    steps_gd = np.zeros((len(dims), len(seeds), len(kappas)), int)
    steps_hb = np.zeros_like(steps_gd)
    for i, dim in enumerate(dims):
        steps_gd[i], steps_hb[i] = steps_in_dimension(dim, seeds, kappas)
    ratios = steps_gd / steps_hb
    return {
        "steps_gd": steps_gd,
        "steps_hb": steps_hb,
        "slopes_gd": [slope(kappas, s) for s in steps_gd.reshape(-1, len(kappas))],
        "slopes_hb": [slope(kappas, s) for s in steps_hb.reshape(-1, len(kappas))],
        "ratio_gd_hb": {
            f"{k:g}": ratios[..., j].ravel().tolist() for j, k in enumerate(kappas)
        },
        "closed_form_2d": [
            math.ceil(math.log(1 / TOLERANCE) / math.log((k + 1) / (k - 1)))
            for k in kappas
        ],
        "measured_2d_gd": steps_gd[dims.index(2)].tolist(),
    }


def _measure_zigzag(seeds) -> dict:
    """Part 2: the zig-zag in 2-D at κ = 100 on random problems, plus one
    axis-aligned example whose paths the plots draw."""
    problems = [make_ravine(ZIGZAG_KAPPA, 2, key=s) for s in seeds]
    example = quadratic(
        [1.0 / ZIGZAG_KAPPA, 1.0], rotated=False, x0=jnp.array([-1.0, 0.5])
    )
    rows = [
        {"lr": lr, "beta": b, "nesterov": nesterov, "hessian": r.hessian, "x0": r.x0}
        for r in [*problems, example]
        for lr, b, nesterov in _zigzag_rows(r)
    ]
    out = sweeps.sweep(_path, rows).outputs
    n_methods = len(ZIGZAG_METHODS)
    zigzag = {m: {} for m in ZIGZAG_METHODS}
    for p, r in enumerate(problems):
        for m, method in enumerate(ZIGZAG_METHODS):
            row = p * n_methods + m
            metrics = _zigzag_metrics(
                out["path"][row], np.asarray(r.x0), np.asarray(r.basis)
            )
            steps = int(metrics["steps"])
            index = out["zigzag_index"][row][1 : max(steps, 2)]
            metrics["zigzag_index"] = float(np.nanmean(index))
            for name, value in metrics.items():
                zigzag[method].setdefault(name, []).append(value)
    base = len(problems) * n_methods
    x0 = np.asarray(example.x0)[None]
    return {
        "zigzag": zigzag,
        "example_paths": {
            method: np.concatenate([x0, out["path"][base + m]])
            for m, method in enumerate(ZIGZAG_METHODS)
        },
        "example_eigenvalues": np.asarray(example.eigenvalues),
    }


def _checks(steps: dict, zigzag: dict, t: Thresholds = THRESHOLDS) -> dict:
    """Part 3: the verdict, as the lesson states it (caveat included)."""
    gd, mom, hb = (zigzag[ZIGZAG_METHODS[i]] for i in (0, 2, 3))
    med = np.median
    slope_gd, slope_hb = med(steps["slopes_gd"]), med(steps["slopes_hb"])
    return {
        "gd_slope_about_1": t.gd_slope[0] <= slope_gd <= t.gd_slope[1],
        "hb_slope_about_half": t.hb_slope[0] <= slope_hb <= t.hb_slope[1],
        "hb_much_faster_at_1000": min(steps["ratio_gd_hb"]["1000"]) >= t.hb_speedup_min,
        "gd_flips_every_step": min(gd["flip_fraction"]) >= t.gd_flip_fraction_min,
        "momentum_same_lr_damps": max(mom["sideways_travel"])
        < t.damped_travel_max * min(gd["sideways_travel"]),
        "optimal_hb_still_swings": min(hb["sideways_travel"])
        >= t.swing_travel_min * med(gd["sideways_travel"]),
    }


def _measured(steps: dict, zigzag: dict) -> str:
    gd, mom, hb = (zigzag[ZIGZAG_METHODS[i]] for i in (0, 2, 3))
    med = np.median
    return (
        f"steps ∝ κ^{med(steps['slopes_gd']):.2f} (GD) vs "
        f"κ^{med(steps['slopes_hb']):.2f} (heavy ball), "
        f"GD/HB ×{med(steps['ratio_gd_hb']['1000']):.0f} at κ=1000; at κ=100 GD "
        f"flips on {med(gd['flip_fraction']):.0%} of steps, sideways travel GD "
        f"{med(gd['sideways_travel']):.0f}, momentum same lr "
        f"{med(mom['sideways_travel']):.0f}, optimal HB {med(hb['sideways_travel']):.0f}"
    )


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures steps against κ and the zig-zag; `quick` uses fewer problems."""
    dims = [2, 10] if quick else [2, 10, 50]
    seeds = [seed + i for i in range(2 if quick else 5)]
    kappas = list(KAPPAS)
    steps = _measure_steps(dims, seeds, kappas)
    zig = _measure_zigzag(seeds)
    checks = _checks(steps, zig["zigzag"])
    return Result(
        holds=bool(all(checks.values())),
        measured=_measured(steps, zig["zigzag"]),
        kappas=kappas,
        dims=dims,
        seeds=seeds,
        **steps,
        **zig,
    )
