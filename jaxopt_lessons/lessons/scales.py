"""Uneven gradient scales: RMSprop and Adam equalise the per-coordinate steps.

Experiment A, the 1000:1 bowl f = ½(1000 x₁² + x₂²) from (1, 1)
(`problems.make_scaled_bowl`). SGD's one learning rate must stay below
2/1000 for the steep x₁, so x₂ crawls. RMSprop divides each coordinate by
the root of its recent squared gradients: its effective learning rates
differ by exactly the gradient ratio (recorded by `diagnostics`), and its
steps are the same size in both coordinates.

Experiment B, n-D: scales logspace(0, 3, 10), axis-aligned against rotated
(the same eigenvalues, a random rotation). The best learning rate of a grid,
per optimizer, and the steps after which ‖x‖/‖x0‖ stays below 1e-2 ("stays",
because sign-like updates pass close to 0 by chance). The caveat: on the
rotated bowl the scales are no longer attached to coordinates, and RMSprop's
advantage vanishes; momentum, being rotation-invariant, does not care.

Experiment C, real data: logistic regression on raw breast-cancer features
(means from 0.004 to 880), full batch, best learning rate of a grid, against
the same on standardised features.

References: Tieleman & Hinton, Lecture 6.5 "rmsprop", COURSERA: Neural
Networks for Machine Learning, 2012; Kingma & Ba, "Adam: A Method for
Stochastic Optimization", ICLR 2015, §2.1; Goodfellow, Bengio, Courville,
*Deep Learning*, MIT Press 2016, §8.5; LeCun, Bottou, Orr, Müller,
"Efficient BackProp", 1998 (standardising inputs).
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics, sweeps
from jaxopt_lessons.lessons import _plotting
from jaxopt_lessons.problems import breast_cancer_logistic, make_scaled_bowl, quadratic

CLAIM_ID = "scales"
CLAIM = (
    "When coordinates see very different gradient scales, SGD's single step size is "
    "capped by the steepest one and the shallow ones stall; RMSprop and Adam divide "
    "each coordinate by its recent gradient scale and equalise the steps, which helps "
    "only when the scales are aligned with the coordinates (on a rotated ravine the "
    "advantage vanishes)."
)

OPTIMIZERS = ("SGD", "momentum 0.9", "RMSprop", "Adam")
BOWL_LRS = (1.9e-3, 1e-3, 1e-2, 1e-2)  # A: SGD at its largest stable lr (limit 2e-3)
BOWL_STEPS = 200
ND_DIM = 10
ND_STEPS = 3000
ND_TOLERANCE = 1e-2
ND_LRS = np.logspace(-4, 1, 26)
LOGREG_STEPS = 300
LOGREG_LRS = np.logspace(-7, 1, 17)


def _optimizer(setting):
    """SGD / momentum / RMSprop / Adam, picked by setting["which"] (0-3), traced."""
    lr = setting["lr"]
    return sweeps.select(
        [jol.sgd(lr), jol.sgd(lr, momentum=0.9), jol.rmsprop(lr), jol.adam(lr)],
        setting["which"],
    )


def _bowl_run(setting, hessian, x0):
    """BOWL_STEPS steps on ½ xᵀAx: path, per-coordinate effective lr, diagnostics."""
    opt = _optimizer(setting)
    wrapped = diagnostics.diagnose(opt)

    def step(carry, _):
        x, state = carry
        g = hessian @ x
        u, state = wrapped.update(g, state, x)
        effective = jnp.abs(u) / jnp.maximum(jnp.abs(g), 1e-30)
        return (x + u, state), (x + u, effective, state.last.step_spread_log10)

    _, (path, effective, spread) = jax.lax.scan(
        step, (x0, wrapped.init(x0)), None, length=BOWL_STEPS
    )
    return {"path": path, "effective_lr": effective, "spread": spread}


def _steps_to_stay_below(setting, tolerance):
    """ND_STEPS steps; the first step after which ‖x‖/‖x0‖ stays below tolerance."""
    hessian, x0 = setting["hessian"], setting["x0"]
    opt = _optimizer(setting)
    target = tolerance * jnp.linalg.norm(x0)

    def step(carry, k):
        x, state, last_above = carry
        u, state = opt.update(hessian @ x, state, x)
        x = x + u
        bad = ~(jnp.linalg.norm(x) < target)  # NaN counts as above
        return (x, state, jnp.where(bad, k, last_above)), None

    init = (x0, opt.init(x0), jnp.int32(-1))
    (_, _, last_above), _ = jax.lax.scan(
        step, init, jnp.arange(ND_STEPS, dtype=jnp.int32)
    )
    return last_above + 2  # steps taken when it went below for good


def _logreg_run(setting, x, y):
    """Full-batch logistic regression from 0: loss curve and final effective lrs."""
    opt = _optimizer(setting)
    n = x.shape[0]
    w0 = jnp.zeros((x.shape[1] + 1,), x.dtype)

    def loss_and_grad(w):
        z = x @ w[:-1] + w[-1]
        r = jax.nn.sigmoid(z) - y
        loss = jnp.mean(jax.nn.softplus(z) - y * z)
        return loss, jnp.concatenate([x.T @ r / n, jnp.mean(r)[None]])

    def step(carry, _):
        w, state = carry
        loss, g = loss_and_grad(w)
        u, state = opt.update(g, state, w)
        effective = jnp.abs(u) / jnp.maximum(jnp.abs(g), 1e-30)
        return (w + u, state), (loss, effective)

    (w, _), (losses, effective) = jax.lax.scan(
        step, (w0, opt.init(w0)), None, length=LOGREG_STEPS
    )
    final, _ = loss_and_grad(w)
    return {"curve": losses, "final": final, "effective_lr": effective[-1]}


@dataclasses.dataclass(frozen=True)
class Result:
    """Measured numbers of the scales lesson, and the data its plots draw."""

    holds: bool
    measured: str
    bowl_step_ratio_first: dict[str, float]  # |Δx1|/|Δx2| at step 1
    bowl_step_ratio_median10: dict[str, float]  # median over the first 10 steps
    bowl_shallow_progress: dict[str, float]  # 1 − |x2_200| / |x2_0|
    bowl_spread_log10: dict[str, list[float]]  # step-size spread at steps 1, 10, 20
    nd_seeds: list[int]
    nd_steps: dict[
        str, dict[str, list[float]]
    ]  # "axis"/"rotated" -> optimizer -> per seed
    nd_best_lr: dict[str, dict[str, list[float]]]
    logreg_seeds: list[int]
    logreg_best_loss: dict[str, dict[str, list[float]]]  # "raw"/"standardized" -> opt
    logreg_effective_spread: dict[str, float]  # log10 max/min effective lr, raw, seed 0
    plot_data: dict

    def numbers(self) -> dict:
        return {
            "bowl_step_ratio_first": self.bowl_step_ratio_first,
            "bowl_step_ratio_median10": self.bowl_step_ratio_median10,
            "bowl_shallow_progress_200": self.bowl_shallow_progress,
            "bowl_step_spread_log10_at_1_10_20": self.bowl_spread_log10,
            "nd_dim": ND_DIM,
            "nd_seeds": self.nd_seeds,
            "nd_steps_to_stay_below_1e-2": self.nd_steps,
            "nd_best_lr": self.nd_best_lr,
            "logreg_seeds": self.logreg_seeds,
            "logreg_best_train_loss": self.logreg_best_loss,
            "logreg_effective_lr_spread_log10_raw": self.logreg_effective_spread,
        }


def _settings(rows):
    return {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures the three experiments; `quick` uses one seed for B and C."""
    nd_seeds = [seed] if quick else [seed + i for i in range(3)]
    logreg_seeds = [seed] if quick else [seed + i for i in range(3)]

    # A. The 1000:1 bowl.
    bowl = make_scaled_bowl((1000.0, 1.0))
    rows = [
        {"lr": lr, "which": i, "hessian": bowl.hessian, "x0": bowl.x0}
        for i, lr in enumerate(BOWL_LRS)
    ]
    settings = _settings(rows)
    out = sweeps.sweep(
        _bowl_run, {k: settings[k] for k in ("lr", "which")}, bowl.hessian, bowl.x0
    ).outputs
    x0 = np.asarray(bowl.x0)
    ratio_first, ratio_median, progress, spread = {}, {}, {}, {}
    for i, name in enumerate(OPTIMIZERS):
        path = np.concatenate([x0[None], out["path"][i]])
        moves = np.abs(np.diff(path, axis=0))
        ratios = moves[:, 0] / moves[:, 1]
        ratio_first[name] = float(ratios[0])
        ratio_median[name] = float(np.median(ratios[:10]))
        progress[name] = float(1 - abs(path[-1, 1]) / abs(path[0, 1]))
        spread[name] = [float(out["spread"][i][k]) for k in (0, 9, 19)]

    # B. n-D bowls, axis-aligned and rotated; every optimizer and lr in one sweep.
    scales = np.logspace(0, 3, ND_DIM)
    problems = {
        (kind, s): quadratic(scales, rotated=(kind == "rotated"), key=s)
        for kind in ("axis", "rotated")
        for s in nd_seeds
    }
    rows = [
        {"lr": lr, "which": i, "hessian": p.hessian, "x0": p.x0}
        for p in problems.values()
        for i in range(len(OPTIMIZERS))
        for lr in ND_LRS
    ]
    counts = sweeps.sweep(
        _steps_to_stay_below, _settings(rows), ND_TOLERANCE, method="vmap"
    ).outputs
    counts = np.where(counts > ND_STEPS, np.inf, counts).astype(float)
    counts = counts.reshape(len(problems), len(OPTIMIZERS), len(ND_LRS))
    nd_steps = {"axis": {}, "rotated": {}}
    nd_best_lr = {"axis": {}, "rotated": {}}
    for p, (kind, _) in enumerate(problems):
        for i, name in enumerate(OPTIMIZERS):
            best = int(np.argmin(counts[p, i]))
            nd_steps[kind].setdefault(name, []).append(float(counts[p, i, best]))
            nd_best_lr[kind].setdefault(name, []).append(float(ND_LRS[best]))

    # C. Breast cancer, raw against standardised features.
    rows = [{"lr": lr, "which": i} for i in range(len(OPTIMIZERS)) for lr in LOGREG_LRS]
    lr_settings = _settings(rows)
    best_loss = {"raw": {}, "standardized": {}}
    curves, effective = {}, {}
    for kind in ("raw", "standardized"):
        for s in logreg_seeds:
            problem, _ = breast_cancer_logistic(
                standardize=(kind == "standardized"), seed=s
            )
            res = sweeps.sweep(
                _logreg_run, lr_settings, problem.x, problem.y, method="vmap"
            )
            final = np.where(
                np.isfinite(res.outputs["final"]), res.outputs["final"], np.inf
            )
            final = final.reshape(len(OPTIMIZERS), len(LOGREG_LRS))
            for i, name in enumerate(OPTIMIZERS):
                best = int(np.argmin(final[i]))
                best_loss[kind].setdefault(name, []).append(float(final[i, best]))
                if s == logreg_seeds[0]:
                    row = i * len(LOGREG_LRS) + best
                    curves[(kind, name)] = res.outputs["curve"][row]
                    effective[(kind, name)] = res.outputs["effective_lr"][row]
            if kind == "raw" and s == logreg_seeds[0]:
                feature_scale = np.abs(np.asarray(problem.x)).mean(0)
    eff_spread = {
        name: float(
            np.log10(effective[("raw", name)].max() / effective[("raw", name)].min())
        )
        for name in OPTIMIZERS
    }

    # The verdict, as the lesson states it (caveat included).
    steps_axis, steps_rot = nd_steps["axis"], nd_steps["rotated"]
    sgd_over_adam = np.array(steps_axis["SGD"]) / np.array(steps_axis["Adam"])
    rms_rot_over_axis = np.array(steps_rot["RMSprop"]) / np.array(steps_axis["RMSprop"])
    raw = best_loss["raw"]
    checks = {
        "sgd_steps_1000_to_1": abs(ratio_first["SGD"] / 1000 - 1) < 0.01,
        "adaptive_steps_equal": all(
            abs(ratio_first[n] - 1) < 0.01 for n in ("RMSprop", "Adam")
        ),
        "shallow_stalls_for_sgd": progress["SGD"] < 0.4
        and min(progress["RMSprop"], progress["Adam"]) > 0.95,
        "adam_10x_fewer_steps_axis_aligned": sgd_over_adam.min() >= 10,
        "rmsprop_advantage_vanishes_rotated": np.median(rms_rot_over_axis) >= 3,
        "adam_beats_sgd_on_raw_features": max(raw["Adam"]) < 0.5 * min(raw["SGD"]),
    }
    med = np.median
    measured = (
        f"1000:1 bowl: step ratio SGD {ratio_first['SGD']:.0f}, RMSprop "
        f"{ratio_first['RMSprop']:.3f}, Adam {ratio_first['Adam']:.3f}; shallow progress "
        f"in 200 steps SGD {progress['SGD']:.3f} vs RMSprop {progress['RMSprop']:.3f}; "
        f"10-D best steps SGD {med(steps_axis['SGD']):.0f} vs Adam "
        f"{med(steps_axis['Adam']):.0f}; rotated RMSprop {med(steps_rot['RMSprop']):.0f} "
        f"vs axis {med(steps_axis['RMSprop']):.0f}; raw breast_cancer loss SGD "
        f"{med(raw['SGD']):.3f} vs Adam {med(raw['Adam']):.3f}"
    )
    plot_data = {
        "bowl_paths": {
            n: np.concatenate([x0[None], out["path"][i]])
            for i, n in enumerate(OPTIMIZERS)
        },
        "bowl_effective_lr": {
            n: out["effective_lr"][i][9] for i, n in enumerate(OPTIMIZERS)
        },
        "logreg_curves": curves,
        "logreg_effective_lr": effective,
        "feature_scale": feature_scale,
    }
    return Result(
        holds=bool(all(checks.values())),
        measured=measured,
        bowl_step_ratio_first=ratio_first,
        bowl_step_ratio_median10=ratio_median,
        bowl_shallow_progress=progress,
        bowl_spread_log10=spread,
        nd_seeds=nd_seeds,
        nd_steps=nd_steps,
        nd_best_lr=nd_best_lr,
        logreg_seeds=logreg_seeds,
        logreg_best_loss=best_loss,
        logreg_effective_spread=eff_spread,
        plot_data=plot_data,
    )


def plot(result: Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Bowl paths, per-coordinate effective lrs, axis vs rotated, raw vs standardised."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    d = result.plot_data
    colors = dict(zip(OPTIMIZERS, plt.get_cmap("tab10").colors, strict=False))
    paths = []

    # 1. The 1000:1 bowl: paths and the shallow coordinate per step.
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    gx, gy = np.meshgrid(np.linspace(-1.1, 1.1, 200), np.linspace(-0.1, 1.1, 200))
    f = 0.5 * (1000 * gx**2 + gy**2)
    # Near-vertical lines x₁ = ±√((2f − x₂²)/1000); labels along the bottom
    # strip x₂ = −0.05, right of the paths' column, where no path runs.
    levels = _plotting.nice_levels(0.05, f.max())
    label_y = -0.05
    label_at = {
        level: (np.sqrt((2 * level - label_y**2) / 1000), label_y)
        for level in levels
        if 0.12 < np.sqrt((2 * level - label_y**2) / 1000) < 1.05
    }
    _plotting.loss_contours(ax, gx, gy, f, levels, label_at=label_at)
    for name, p in d["bowl_paths"].items():
        ax.plot(
            p[:, 0], p[:, 1], "-o", ms=2, lw=1, color=colors[name], label=name, zorder=3
        )
    ax.set_xlim(-0.6, 1.1)
    ax.set_xlabel("x₁ (steep: gradient 1000 x₁)")
    ax.set_ylabel("x₂ (shallow: gradient x₂)")
    ax.set_title(f"Bowl ½(1000 x₁² + x₂²), {BOWL_STEPS} steps")
    ax.legend(fontsize=8, loc="upper left")
    for name, p in d["bowl_paths"].items():
        ax2.semilogy(np.abs(p[:, 1]) + 1e-12, color=colors[name], label=name)
    ax2.set_ylim(1e-4, 2)
    ax2.set_xlabel("step")
    ax2.set_ylabel("|x₂| (shallow coordinate, log)")
    ax2.set_title("Progress along the shallow direction")
    ax2.legend(fontsize=8)
    paths.append(_plotting.save(fig, out_dir / "scales_bowl.png"))

    # 2. Effective per-coordinate learning rates |u_i| / |g_i|.
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.6), width_ratios=[1, 2])
    width = 0.2
    for i, name in enumerate(OPTIMIZERS):
        ax.bar(
            np.arange(2) + (i - 1.5) * width,
            d["bowl_effective_lr"][name],
            width,
            color=colors[name],
            label=name,
        )
    ax.set_xticks([0, 1], ["x₁ (steep)", "x₂ (shallow)"])
    ax.set_yscale("log")
    ax.set_ylabel("effective learning rate |uᵢ| / |gᵢ| (step 10)")
    ax.set_title("1000:1 bowl")
    ax.legend(fontsize=8)
    order = np.argsort(d["feature_scale"])
    for name in OPTIMIZERS:
        eff = d["logreg_effective_lr"][("raw", name)][:-1][order]
        ax2.semilogy(
            np.arange(eff.size), eff, "o-", ms=3, color=colors[name], label=name
        )
    lo, hi = d["feature_scale"].min(), d["feature_scale"].max()
    ax2.set_xlabel(f"feature, sorted by mean |value| ({lo:.2g} … {hi:.3g})")
    ax2.set_ylabel("effective learning rate |uᵢ| / |gᵢ| (last step)")
    ax2.set_title("Raw breast_cancer, each optimizer at its best lr")
    ax2.legend(fontsize=8)
    paths.append(_plotting.save(fig, out_dir / "scales_effective_lr.png"))

    # 3. Axis-aligned against rotated, and raw against standardised features.
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    x = np.arange(len(OPTIMIZERS))
    for k, (kind, hatch) in enumerate((("axis", ""), ("rotated", "//"))):
        values = [np.median(result.nd_steps[kind][n]) for n in OPTIMIZERS]
        ax.bar(
            x + (k - 0.5) * 0.38,
            values,
            0.38,
            hatch=hatch,
            color=[colors[n] for n in OPTIMIZERS],
            edgecolor="k",
            label="axis-aligned" if kind == "axis" else "rotated",
        )
    ax.set_xticks(x, OPTIMIZERS)
    ax.set_yscale("log")
    ax.set_ylabel(f"steps until ‖x‖/‖x₀‖ stays < {ND_TOLERANCE:g} (best lr)")
    ax.set_title(f"{ND_DIM}-D bowl, scales 1 … 1000 (median over seeds)")
    ax.legend()
    for name in OPTIMIZERS:
        ax2.semilogy(
            d["logreg_curves"][("raw", name)], color=colors[name], label=f"{name}, raw"
        )
        ax2.semilogy(
            d["logreg_curves"][("standardized", name)],
            color=colors[name],
            ls="--",
            label=f"{name}, standardised",
        )
    ax2.set_xlabel("step")
    ax2.set_ylabel("training loss (log)")
    ax2.set_title("Breast cancer logistic regression, best lr each")
    ax2.legend(fontsize=7, ncol=2)
    paths.append(_plotting.save(fig, out_dir / "scales_rotation_and_features.png"))
    return paths
