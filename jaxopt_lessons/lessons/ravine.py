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
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics, sweeps
from jaxopt_lessons.lessons import _plotting
from jaxopt_lessons.problems import make_ravine, quadratic

CLAIM_ID = "ravine"
CLAIM = (
    "In a ravine of condition number κ, gradient descent bounces between the walls "
    "and needs about κ steps, heavy-ball momentum about √κ; at the same learning rate "
    "momentum damps the zig-zag, but the fastest heavy ball swings sideways as much "
    "as GD and wins by taking larger steps."
)

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
    opt = _select(heavy, nesterov, setting["nesterov"])
    path, stats = diagnostics.run(opt, lambda x: hessian @ x, x0, ZIGZAG_STEPS)
    return {"path": path, "zigzag_index": stats.zigzag, "cosine": stats.cosine}


def _select(a, b, use_b):
    """Runs both transforms and returns b's update where use_b is 1, else a's."""

    def init_fn(params):
        return a.init(params), b.init(params)

    def update_fn(updates, state, params=None):
        ua, sa = a.update(updates, state[0], params)
        ub, sb = b.update(updates, state[1], params)
        return jax.tree.map(lambda x, y: jnp.where(use_b > 0, y, x), ua, ub), (sa, sb)

    return jol.GradientTransformation(init_fn, update_fn)


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
        def summary(values):
            v = np.asarray(values, float)
            return [float(v.min()), float(np.median(v)), float(v.max())]

        return {
            "kappas": self.kappas,
            "dims": self.dims,
            "seeds": self.seeds,
            "steps_gd": self.steps_gd.tolist(),
            "steps_hb": self.steps_hb.tolist(),
            "slope_gd_min_median_max": summary(self.slopes_gd),
            "slope_hb_min_median_max": summary(self.slopes_hb),
            "ratio_gd_hb_min_median_max": {
                k: summary(v) for k, v in self.ratio_gd_hb.items()
            },
            "closed_form_2d_gd": self.closed_form_2d,
            "measured_2d_gd": self.measured_2d_gd,
            "zigzag_kappa": ZIGZAG_KAPPA,
            "zigzag_min_median_max": {
                method: {name: summary(v) for name, v in metrics.items()}
                for method, metrics in self.zigzag.items()
            },
        }


def _slope(kappas, steps):
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


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures steps against κ and the zig-zag; `quick` uses fewer problems."""
    dims = [2, 10] if quick else [2, 10, 50]
    seeds = [seed + i for i in range(2 if quick else 5)]
    kappas = list(KAPPAS)

    # 1. Steps to tolerance: every (κ, seed, method) of one dimension in one sweep.
    steps_gd = np.zeros((len(dims), len(seeds), len(kappas)), int)
    steps_hb = np.zeros_like(steps_gd)
    for i, dim in enumerate(dims):
        rows = []
        for s in seeds:
            for kappa in kappas:
                r = make_ravine(kappa, dim, key=s)
                alpha, beta = r.heavy_ball_constants()
                for lr, b in ((r.gd_step_size(), 0.0), (alpha, beta)):
                    rows.append({"lr": lr, "beta": b, "hessian": r.hessian, "x0": r.x0})
        settings = {k: np.stack([np.asarray(row[k]) for row in rows]) for k in rows[0]}
        counts = sweeps.sweep(_steps_to_tolerance, settings, TOLERANCE).outputs
        counts = np.asarray(counts).reshape(len(seeds), len(kappas), 2)
        steps_gd[i], steps_hb[i] = counts[..., 0], counts[..., 1]
    slopes_gd = [_slope(kappas, s) for s in steps_gd.reshape(-1, len(kappas))]
    slopes_hb = [_slope(kappas, s) for s in steps_hb.reshape(-1, len(kappas))]
    ratios = steps_gd / steps_hb
    ratio_gd_hb = {
        f"{k:g}": ratios[..., j].ravel().tolist() for j, k in enumerate(kappas)
    }
    closed = [
        math.ceil(math.log(1 / TOLERANCE) / math.log((k + 1) / (k - 1))) for k in kappas
    ]
    measured_2d = steps_gd[dims.index(2)].tolist()

    # 2. Zig-zag in 2-D at κ = 100: random problems, plus one drawn example.
    problems = [make_ravine(ZIGZAG_KAPPA, 2, key=s) for s in seeds]
    example = quadratic(
        [1.0 / ZIGZAG_KAPPA, 1.0], rotated=False, x0=jnp.array([-1.0, 0.5])
    )
    rows = []
    for r in [*problems, example]:
        for lr, b, nesterov in _zigzag_rows(r):
            rows.append(
                {
                    "lr": lr,
                    "beta": b,
                    "nesterov": nesterov,
                    "hessian": r.hessian,
                    "x0": r.x0,
                }
            )
    settings = {k: np.stack([np.asarray(row[k]) for row in rows]) for k in rows[0]}
    out = sweeps.sweep(_path, settings).outputs
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
    example_paths = {
        method: np.concatenate([np.asarray(example.x0)[None], out["path"][base + m]])
        for m, method in enumerate(ZIGZAG_METHODS)
    }

    # 3. The verdict, as the lesson states it (caveat included).
    gd, mom, hb = (zigzag[ZIGZAG_METHODS[i]] for i in (0, 2, 3))
    med = np.median
    checks = {
        "gd_slope_about_1": 0.9 <= med(slopes_gd) <= 1.1,
        "hb_slope_about_half": 0.4 <= med(slopes_hb) <= 0.65,
        "hb_much_faster_at_1000": min(ratio_gd_hb["1000"]) >= 10,
        "gd_flips_every_step": min(gd["flip_fraction"]) >= 0.99,
        "momentum_same_lr_damps": max(mom["sideways_travel"])
        < 0.5 * min(gd["sideways_travel"]),
        "optimal_hb_still_swings": min(hb["sideways_travel"])
        >= 0.5 * med(gd["sideways_travel"]),
    }
    measured = (
        f"steps ∝ κ^{med(slopes_gd):.2f} (GD) vs κ^{med(slopes_hb):.2f} (heavy ball), "
        f"GD/HB ×{med(ratio_gd_hb['1000']):.0f} at κ=1000; at κ=100 GD flips on "
        f"{med(gd['flip_fraction']):.0%} of steps, sideways travel GD "
        f"{med(gd['sideways_travel']):.0f}, momentum same lr "
        f"{med(mom['sideways_travel']):.0f}, optimal HB {med(hb['sideways_travel']):.0f}"
    )
    return Result(
        holds=bool(all(checks.values())),
        measured=measured,
        kappas=kappas,
        dims=dims,
        seeds=seeds,
        steps_gd=steps_gd,
        steps_hb=steps_hb,
        slopes_gd=slopes_gd,
        slopes_hb=slopes_hb,
        ratio_gd_hb=ratio_gd_hb,
        closed_form_2d=closed,
        measured_2d_gd=measured_2d,
        zigzag=zigzag,
        example_paths=example_paths,
        example_eigenvalues=np.asarray(example.eigenvalues),
    )


def plot(result: Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Contours with paths, steps against κ (log-log), the steep coordinate per step."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colors = dict(zip(ZIGZAG_METHODS, plt.get_cmap("tab10").colors, strict=False))
    shown = [ZIGZAG_METHODS[i] for i in (0, 2, 3, 4)]
    paths = []

    # 1. Contours with the first iterates, and the error per step.
    lam = result.example_eigenvalues
    fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(12, 4.8))
    limit = max(
        np.abs(result.example_paths[m][: SHOWN_STEPS + 1, 1]).max() for m in shown
    )
    right = max(result.example_paths[m][: SHOWN_STEPS + 1, 0].max() for m in shown)
    xs = np.linspace(-1.3, max(0.2, right) + 0.1, 300)
    ys = np.linspace(-1.1 * limit, 1.1 * limit, 300)
    gx, gy = np.meshgrid(xs, ys)
    f = 0.5 * (lam[0] * gx**2 + lam[1] * gy**2)
    # Loss levels 1-2-5 × 10^k. The long sides of the ellipses are the
    # near-horizontal lines, their ends show for f < λ₁·x₁²/2. Labels go in
    # the strip left of the start (x₁ = −1), where no path runs.
    levels = _plotting.nice_levels(1e-3, f.max())
    label_x = -1.17
    label_at = {
        level: (label_x, np.sqrt((2 * level - lam[0] * label_x**2) / lam[1]))
        for level in levels
        if 2 * level > lam[0] * label_x**2
    }
    label_at = {k: v for k, v in label_at.items() if v[1] < 0.95 * ys.max()}
    _plotting.loss_contours(ax, gx, gy, f, levels, label_at=label_at)
    for m in shown:
        p = result.example_paths[m][: SHOWN_STEPS + 1]
        ax.plot(
            p[:, 0], p[:, 1], "-o", ms=2.5, lw=1.3, color=colors[m], label=m, zorder=3
        )
    ax.plot([0], [0], "k*", ms=11, label="minimum", zorder=5)
    ax.set_xlabel("x₁ (shallow direction, λ = 0.01)")
    ax.set_ylabel("x₂ (steep direction, λ = 1)")
    ax.set_title(f"Ravine κ = 100: first {SHOWN_STEPS} steps")
    ax.legend(fontsize=8)
    for m in ZIGZAG_METHODS:
        p = result.example_paths[m]
        err = np.linalg.norm(p, axis=1) / np.linalg.norm(p[0])
        ax_err.semilogy(err, color=colors[m], label=m)
    ax_err.axhline(TOLERANCE, color="k", ls=":", label="target 1e-3")
    ax_err.set_ylim(1e-4, 10)
    ax_err.set_xlabel("step")
    ax_err.set_ylabel("‖x − x*‖ / ‖x₀ − x*‖")
    ax_err.set_title("Error per step (log scale)")
    ax_err.legend(fontsize=8)
    paths.append(_plotting.save(fig, out_dir / "ravine_contours.png"))

    # 2. Steps against κ, log-log, with fitted slopes.
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    k = np.asarray(result.kappas)
    for name, steps, slopes, color in (
        ("GD, lr 2/(L+μ)", result.steps_gd, result.slopes_gd, "tab:blue"),
        ("heavy ball, optimal", result.steps_hb, result.slopes_hb, "tab:red"),
    ):
        flat = steps.reshape(-1, len(k))
        for row in flat:
            ax.loglog(k, row, "o", color=color, alpha=0.25, ms=4)
        median = np.median(flat, axis=0)
        fit = np.polyfit(np.log(k), np.log(median), 1)
        ax.loglog(
            k,
            np.exp(np.polyval(fit, np.log(k))),
            "-",
            color=color,
            label=f"{name}: slope {np.median(slopes):.2f}",
        )
    ax.loglog(k, result.closed_form_2d, "k--", label="GD closed form (2-D)")
    ax.set_xlabel("condition number κ")
    ax.set_ylabel("steps until error < 1e-3")
    ax.set_title("Steps against κ (dots: every dimension and seed)")
    ax.legend()
    paths.append(_plotting.save(fig, out_dir / "ravine_steps_vs_kappa.png"))

    # 3. The zig-zag: the steep coordinate against the step.
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for m in (
        ZIGZAG_METHODS[0],
        ZIGZAG_METHODS[2],
        ZIGZAG_METHODS[3],
        ZIGZAG_METHODS[4],
    ):
        p = result.example_paths[m][: SHOWN_STEPS + 1]
        ax.plot(p[:, 1], "-o", ms=2, lw=1, color=colors[m], label=m)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("step")
    ax.set_ylabel("steep coordinate x₂")
    ax.set_title("Zig-zag across the ravine (sign flips = bouncing between walls)")
    ax.legend(fontsize=8)
    paths.append(_plotting.save(fig, out_dir / "ravine_zigzag.png"))
    return paths
