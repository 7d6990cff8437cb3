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

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics, sweeps
from jaxopt_lessons.problems import breast_cancer_logistic, make_scaled_bowl, quadratic

CLAIM_ID = "scales"
CLAIM = (
    "When coordinates see very different gradient scales, SGD's single step size is "
    "capped by the steepest one and the shallow ones stall; RMSprop and Adam divide "
    "each coordinate by its recent gradient scale and equalise the steps, which helps "
    "only when the scales are aligned with the coordinates (on a rotated ravine the "
    "advantage vanishes)."
)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these)."""

    step_ratio_rtol: float = 0.01  # bowl, first |Δx₁|/|Δx₂|: SGD 1000, adaptive 1
    sgd_progress_max: float = 0.4  # SGD's shallow progress in BOWL_STEPS steps
    adaptive_progress_min: float = 0.95  # RMSprop's and Adam's
    adam_speedup_min: float = 10.0  # SGD/Adam steps, axis-aligned 10-D, every seed
    rotated_slowdown_min: float = 3.0  # RMSprop rotated/axis steps, median
    raw_loss_ratio_max: float = 0.5  # Adam's worst / SGD's best loss, raw features


THRESHOLDS = Thresholds()

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


def _bowl_experiment() -> dict:
    """Experiment A: every optimizer on the 1000:1 bowl, in one sweep."""
    bowl = make_scaled_bowl((1000.0, 1.0))
    settings = {"lr": np.asarray(BOWL_LRS), "which": np.arange(len(OPTIMIZERS))}
    out = sweeps.sweep(_bowl_run, settings, bowl.hessian, bowl.x0).outputs
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
    return {
        "bowl_step_ratio_first": ratio_first,
        "bowl_step_ratio_median10": ratio_median,
        "bowl_shallow_progress": progress,
        "bowl_spread_log10": spread,
        "plot_data": {
            "bowl_paths": {
                n: np.concatenate([x0[None], out["path"][i]])
                for i, n in enumerate(OPTIMIZERS)
            },
            "bowl_effective_lr": {
                n: out["effective_lr"][i][9] for i, n in enumerate(OPTIMIZERS)
            },
        },
    }


def _nd_experiment(nd_seeds) -> dict:
    """Experiment B: 10-D bowls, axis-aligned and rotated; every optimizer and
    lr in one sweep; each optimizer's steps at its best lr."""
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
        _steps_to_stay_below, rows, ND_TOLERANCE, method="vmap"
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
    return {"nd_seeds": nd_seeds, "nd_steps": nd_steps, "nd_best_lr": nd_best_lr}


def _logreg_experiment(logreg_seeds) -> dict:
    """Experiment C: breast cancer, raw against standardised features; the best
    loss per optimizer and seed, and the first seed's curves at the best lr."""
    lr_settings = sweeps.grid(which=np.arange(len(OPTIMIZERS)), lr=LOGREG_LRS)
    best_loss = {"raw": {}, "standardized": {}}
    curves, effective = {}, {}
    for kind in ("raw", "standardized"):
        for s in logreg_seeds:
            problem, _ = breast_cancer_logistic(
                standardize=(kind == "standardized"), seed=s
            )
            res = sweeps.sweep(
                _logreg_run, lr_settings, problem.x, problem.y, method="vmap"
            ).outputs
            final = np.where(np.isfinite(res["final"]), res["final"], np.inf)
            final = final.reshape(len(OPTIMIZERS), len(LOGREG_LRS))
            for i, name in enumerate(OPTIMIZERS):
                best = int(np.argmin(final[i]))
                best_loss[kind].setdefault(name, []).append(float(final[i, best]))
                if s == logreg_seeds[0]:
                    row = i * len(LOGREG_LRS) + best
                    curves[(kind, name)] = res["curve"][row]
                    effective[(kind, name)] = res["effective_lr"][row]
            if kind == "raw" and s == logreg_seeds[0]:
                feature_scale = np.abs(np.asarray(problem.x)).mean(0)
    spread = {
        name: float(
            np.log10(effective[("raw", name)].max() / effective[("raw", name)].min())
        )
        for name in OPTIMIZERS
    }
    return {
        "logreg_seeds": logreg_seeds,
        "logreg_best_loss": best_loss,
        "logreg_effective_spread": spread,
        "plot_data": {
            "logreg_curves": curves,
            "logreg_effective_lr": effective,
            "feature_scale": feature_scale,
        },
    }


def _checks(f: dict, t: Thresholds = THRESHOLDS) -> dict:
    """The verdict, as the lesson states it (caveat included)."""
    ratio_first, progress = f["bowl_step_ratio_first"], f["bowl_shallow_progress"]
    steps_axis, steps_rot = f["nd_steps"]["axis"], f["nd_steps"]["rotated"]
    sgd_over_adam = np.array(steps_axis["SGD"]) / np.array(steps_axis["Adam"])
    rms_rot_over_axis = np.array(steps_rot["RMSprop"]) / np.array(steps_axis["RMSprop"])
    raw = f["logreg_best_loss"]["raw"]
    return {
        "sgd_steps_1000_to_1": abs(ratio_first["SGD"] / 1000 - 1) < t.step_ratio_rtol,
        "adaptive_steps_equal": all(
            abs(ratio_first[n] - 1) < t.step_ratio_rtol for n in ("RMSprop", "Adam")
        ),
        "shallow_stalls_for_sgd": progress["SGD"] < t.sgd_progress_max
        and min(progress["RMSprop"], progress["Adam"]) > t.adaptive_progress_min,
        "adam_10x_fewer_steps_axis_aligned": sgd_over_adam.min() >= t.adam_speedup_min,
        "rmsprop_advantage_vanishes_rotated": np.median(rms_rot_over_axis)
        >= t.rotated_slowdown_min,
        "adam_beats_sgd_on_raw_features": max(raw["Adam"])
        < t.raw_loss_ratio_max * min(raw["SGD"]),
    }


def _measured(f: dict) -> str:
    ratio_first, progress = f["bowl_step_ratio_first"], f["bowl_shallow_progress"]
    steps_axis, steps_rot = f["nd_steps"]["axis"], f["nd_steps"]["rotated"]
    raw = f["logreg_best_loss"]["raw"]
    med = np.median
    return (
        f"1000:1 bowl: step ratio SGD {ratio_first['SGD']:.0f}, RMSprop "
        f"{ratio_first['RMSprop']:.3f}, Adam {ratio_first['Adam']:.3f}; shallow progress "
        f"in 200 steps SGD {progress['SGD']:.3f} vs RMSprop {progress['RMSprop']:.3f}; "
        f"10-D best steps SGD {med(steps_axis['SGD']):.0f} vs Adam "
        f"{med(steps_axis['Adam']):.0f}; rotated RMSprop {med(steps_rot['RMSprop']):.0f} "
        f"vs axis {med(steps_axis['RMSprop']):.0f}; raw breast_cancer loss SGD "
        f"{med(raw['SGD']):.3f} vs Adam {med(raw['Adam']):.3f}"
    )


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures the three experiments; `quick` uses one seed for B and C."""
    nd_seeds = [seed] if quick else [seed + i for i in range(3)]
    logreg_seeds = [seed] if quick else [seed + i for i in range(3)]
    bowl = _bowl_experiment()
    nd = _nd_experiment(nd_seeds)
    logreg = _logreg_experiment(logreg_seeds)
    f = {**bowl, **nd, **logreg}
    f["plot_data"] = {**bowl["plot_data"], **logreg["plot_data"]}
    checks = _checks(f)
    return Result(holds=bool(all(checks.values())), measured=_measured(f), **f)
