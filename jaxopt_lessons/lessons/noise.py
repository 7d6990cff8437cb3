"""Noise: momentum smooths the direction; it lowers the floor only near SGD's edge.

Experiment A, exact theory. A rotated quadratic (d = 10, κ = 10, λ in
[0.1, 1]) observed through noisy gradients A x + σ ξ, σ = 0.5
(`problems.make_noisy_quadratic`), many independent noise streams. SGD with
lr η against the heavy ball with lr η(1 − β), β = 0.9: the same *effective*
step η = lr / (1 − β). The floor is the mean loss over the second half of the
run; its exact value is the stationary solution of the discrete Lyapunov
equation (`NoisyQuadratic.stationary_loss`), and it has a closed form
(`NoisyQuadratic.closed_form_loss`): per eigenvalue λ,

    SGD          η σ² / (2 (2 − η λ))                stable for η λ < 2
    heavy ball   η σ² / (2 (2 − η λ (1 − β)/(1 + β)))  stable for η λ < 2 (1 + β)/(1 − β)

Two regimes, both measured (`THRESHOLDS.small_eta`, `THRESHOLDS.edge_eta`):

- η λ_max ≪ 1 (η = 0.05): the two floors agree (ratio ≈ 0.99). For small steps
  a heavy ball with lr η(1 − β) behaves like SGD with lr η (Yuan, Ying & Sayed,
  "On the Influence of Momentum Acceleration on Online Learning", JMLR 17,
  2016).
- near SGD's edge (η = 1.5, three quarters of SGD's limit 2/λ_max = 2): SGD's
  floor grows like 1/(2 − η λ) while the heavy ball, whose own limit is
  2(1 + β)/((1 − β) λ_max) = 38, is far from its edge: its floor is about 0.6
  of SGD's.

Experiment B, real minibatch noise. Linear least squares on the diabetes data,
batch 8 drawn with replacement, w0 = 0: the excess loss over the optimum in
the second half of the run (η = 0.01, η λ_max ≈ 0.04: the small regime), and
cos(update, −full-batch gradient) over the first 50 steps, when the gradient
signal still dominates the noise.

What the numbers say: momentum's step points much closer to the true gradient
early on (it averages recent minibatch gradients). At the same effective
learning rate it ends on the same floor as SGD while the steps are small
against the curvature, and on a lower floor only near SGD's stability edge,
where SGD itself is close to diverging. Adding momentum at the same *raw* lr
multiplies the effective step by 1/(1 − β): the floor rises about tenfold,
reached sooner. To lower a floor at a given speed: a smaller or decaying step,
a larger batch, or iterate averaging.
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.lessons import _plotting
from jaxopt_lessons.problems import diabetes_least_squares, make_noisy_quadratic
from jaxopt_lessons.problems._keys import numpy_rng

CLAIM_ID = "noise"
CLAIM = (
    "Minibatch noise jolts SGD's direction; momentum averages it, so its steps follow "
    "the true gradient more closely. At the same effective learning rate "
    "η = lr/(1 − β) momentum leaves the noise floor unchanged while η·λ_max is "
    "small, and lowers it only near SGD's stability edge (η·λ_max → 2), where the "
    "heavy ball is still far inside its own stable range η·λ_max < 2(1 + β)/(1 − β)."
)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these).

    Attributes:
        small_eta: effective lr of the "same floor" regime (η λ_max = 0.05).
        edge_eta: effective lr near SGD's edge (η λ_max = 1.5 of a limit of 2).
        same_floor: HB/SGD floor ratio allowed at `small_eta` (quadratic and
            diabetes).
        edge_ratio_max: HB/SGD floor ratio must stay below this at `edge_eta`.
        theory_rel, theory_se: a measured floor must lie within
            max(theory_rel · exact, theory_se standard errors) of the exact one.
        cos_gap_min: early cos(u, −∇f), heavy ball minus SGD, on diabetes.
        raw_floor_factor_min: momentum added at the same raw lr must raise
            the floor at least this many times (theory: 1/(1 − β) = 10).
    """

    small_eta: float = 0.05
    edge_eta: float = 1.5
    same_floor: tuple[float, float] = (0.9, 1.1)
    edge_ratio_max: float = 0.7
    theory_rel: float = 0.05
    theory_se: float = 4.0
    cos_gap_min: float = 0.3
    raw_floor_factor_min: float = 5.0


THRESHOLDS = Thresholds()

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


@dataclasses.dataclass(frozen=True)
class Result:
    """Measured numbers of the noise lesson, and the curves its plots draw."""

    holds: bool
    measured: str
    etas: list[float]  # effective learning rates, quadratic
    seeds: list[int]
    floor_sgd: np.ndarray  # (etas, seeds)
    floor_hb: np.ndarray
    exact_sgd: np.ndarray
    exact_hb: np.ndarray
    sgd_edge: float  # SGD is stable for η < sgd_edge (2/λ_max)
    hb_edge: float  # the heavy ball for η < hb_edge (2(1 + β)/((1 − β) λ_max))
    rel_err_max: float  # largest |measured/exact − 1| over etas, methods, seeds
    theory_ok: bool  # within max(5 %, 4 standard errors) everywhere
    cos_sgd: np.ndarray  # early cos(u, −∇f), quadratic, (etas, seeds)
    cos_hb: np.ndarray
    raw_lr: float  # same raw lr, momentum added
    raw_floor_sgd: list[float]
    raw_floor_hb: list[float]
    raw_steps_sgd: list[int]  # steps to 1.5× floor
    raw_steps_hb: list[int]
    ls_etas: list[float]  # diabetes
    ls_floor_sgd: np.ndarray  # (etas, seeds)
    ls_floor_hb: np.ndarray
    ls_cos_sgd: np.ndarray
    ls_cos_hb: np.ndarray
    curves: dict[str, np.ndarray]  # for the plots

    def numbers(self) -> dict:
        def mmm(a):
            a = np.asarray(a, float)
            return [float(a.min()), float(np.median(a)), float(a.max())]

        ratio = self.floor_hb / self.floor_sgd
        ls_ratio = self.ls_floor_hb / self.ls_floor_sgd
        out = {
            "etas": self.etas,
            "seeds": self.seeds,
            "small_eta": THRESHOLDS.small_eta,
            "edge_eta": THRESHOLDS.edge_eta,
            "sgd_stable_below_eta": self.sgd_edge,
            "heavy_ball_stable_below_eta": self.hb_edge,
            "floor_vs_exact_max_rel_err": self.rel_err_max,
            "floor_matches_exact_within_4se_or_5pct": self.theory_ok,
            "quadratic": {},
            "diabetes": {},
        }
        for i, eta in enumerate(self.etas):
            out["quadratic"][f"{eta:g}"] = {
                "floor_sgd": mmm(self.floor_sgd[i]),
                "floor_hb": mmm(self.floor_hb[i]),
                "exact_sgd": mmm(self.exact_sgd[i]),
                "exact_hb": mmm(self.exact_hb[i]),
                "hb_over_sgd": mmm(ratio[i]),
                "hb_over_sgd_exact": mmm(self.exact_hb[i] / self.exact_sgd[i]),
                "early_cos_sgd": mmm(self.cos_sgd[i]),
                "early_cos_hb": mmm(self.cos_hb[i]),
            }
        out["quadratic"]["same_raw_lr"] = {
            "lr": self.raw_lr,
            "floor_sgd": mmm(self.raw_floor_sgd),
            "floor_hb": mmm(self.raw_floor_hb),
            "steps_to_1.5x_floor_sgd": mmm(self.raw_steps_sgd),
            "steps_to_1.5x_floor_hb": mmm(self.raw_steps_hb),
        }
        for i, eta in enumerate(self.ls_etas):
            out["diabetes"][f"{eta:g}"] = {
                "excess_sgd": mmm(self.ls_floor_sgd[i]),
                "excess_hb": mmm(self.ls_floor_hb[i]),
                "hb_over_sgd": mmm(ls_ratio[i]),
                "early_cos_sgd": mmm(self.ls_cos_sgd[i]),
                "early_cos_hb": mmm(self.ls_cos_hb[i]),
            }
        return out


def _first_below(curve, level):
    hits = np.nonzero(np.asarray(curve) <= level)[0]
    return int(hits[0]) if hits.size else len(curve)


def _rng(seed, tag):
    """A NumPy generator for one seed and one use (tag)."""
    return numpy_rng("noise.run", jax.random.fold_in(jax.random.key(seed), tag))


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures noise floors and early directions; `quick` uses fewer streams and steps."""
    t = THRESHOLDS
    seeds = [seed + i for i in range(2 if quick else 3)]
    etas = [t.small_eta, t.edge_eta] if quick else [t.small_eta, 0.3, t.edge_eta]
    steps, streams = (2000, 16) if quick else (4000, 48)
    ls_etas = [0.01] if quick else [0.01, 0.05]
    ls_seeds = seeds[:1] if quick else seeds
    ls_steps, ls_streams = (1500, 8) if quick else (3000, 16)
    raw_lr = etas[0]

    # A. Noisy quadratic: rows (problem, method, eta), one compiled program.
    problems = [make_noisy_quadratic(10.0, DIM, SIGMA, key=s) for s in seeds]
    configs = [(eta, 0.0) for eta in etas] + [(eta * (1 - BETA), BETA) for eta in etas]
    configs.append((raw_lr, BETA))  # momentum added at the same raw lr
    rows = [
        {"lr": lr, "beta": b, "hessian": p.quadratic.hessian, "x0": p.x0}
        for p in problems
        for lr, b in configs
    ]
    settings = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}
    out = sweeps.sweep(
        _noisy_quadratic_run,
        settings,
        SIGMA,
        jnp.asarray(_rng(seed, 0).standard_normal((streams, steps, DIM)), jnp.float32),
    ).outputs
    n_cfg = len(configs)
    floor = out["floor"].reshape(len(seeds), n_cfg).T  # (configs, seeds)
    cos = out["early_cos"].reshape(len(seeds), n_cfg).T
    curve = out["curve"].reshape(len(seeds), n_cfg, -1)
    exact = np.array(
        [[p.stationary_loss(lr, b) for p in problems] for lr, b in configs]
    )
    # Stability limits in effective-step terms, η = lr/(1 − β).
    sgd_edge = min(p.edge_learning_rate(0.0) for p in problems)
    hb_edge = min(p.edge_learning_rate(BETA) for p in problems) / (1 - BETA)
    k = len(etas)
    raw_floor_hb = floor[-1]
    raw_floor_sgd = floor[0]
    raw_steps_sgd = [
        _first_below(curve[s, 0], 1.5 * floor[0, s]) for s in range(len(seeds))
    ]
    raw_steps_hb = [
        _first_below(curve[s, -1], 1.5 * floor[-1, s]) for s in range(len(seeds))
    ]

    # B. Diabetes least squares, batch 8.
    data = diabetes_least_squares(seed)
    ls_configs = [(eta, 0.0) for eta in ls_etas] + [
        (eta * (1 - BETA), BETA) for eta in ls_etas
    ]
    ls_settings = {
        "lr": np.array([c[0] for c in ls_configs]),
        "beta": np.array([c[1] for c in ls_configs]),
    }
    ls_floor = np.zeros((len(ls_configs), len(ls_seeds)))
    ls_cos = np.zeros_like(ls_floor)
    ls_curves = []
    for j, s in enumerate(ls_seeds):
        res = sweeps.sweep(
            _minibatch_run,
            ls_settings,
            data.x,
            data.y,
            data.w_star,
            data.loss_star,
            jnp.asarray(
                _rng(s, 1).integers(0, data.x.shape[0], (ls_streams, ls_steps, BATCH)),
                jnp.int32,
            ),
        ).outputs
        ls_floor[:, j], ls_cos[:, j] = res["floor"], res["early_cos"]
        if j == 0:
            ls_curves = res
    m = len(ls_etas)

    result_floor_sgd, result_floor_hb = floor[:k], floor[k : 2 * k]
    ratio = result_floor_hb / result_floor_sgd
    ls_ratio = ls_floor[m:] / ls_floor[:m]
    rel_err = np.abs(floor[: 2 * k] / exact[: 2 * k] - 1)
    # The measured floor is an average over finitely many streams: compare it
    # with the exact value within 5 % or 4 standard errors, whichever is wider.
    floor_se = out["floor_se"].reshape(len(seeds), n_cfg).T[: 2 * k]
    allowed = np.maximum(t.theory_rel * exact[: 2 * k], t.theory_se * floor_se)
    theory_ok = np.abs(floor[: 2 * k] - exact[: 2 * k]) <= allowed
    cos_gap = ls_cos[m] - ls_cos[0]  # first ls eta (0.01): HB − SGD
    small, edge = etas.index(t.small_eta), etas.index(t.edge_eta)
    low, high = t.same_floor
    checks = {
        "floors_match_exact_theory": bool(theory_ok.all()),
        "same_floor_small_eta_quadratic": low <= ratio[small].min()
        and ratio[small].max() <= high,
        "same_floor_diabetes": low <= ls_ratio[0].min() and ls_ratio[0].max() <= high,
        "lower_floor_near_sgd_edge": ratio[edge].max() < t.edge_ratio_max,
        "edge_eta_stable_for_both": t.edge_eta < sgd_edge < hb_edge,
        "momentum_direction_closer": cos_gap.min() >= t.cos_gap_min,
        "same_raw_lr_raises_floor": (raw_floor_hb / raw_floor_sgd).min()
        >= t.raw_floor_factor_min,
    }

    def floors(i):
        return (
            f"SGD {np.median(result_floor_sgd[i]):#.3g} vs HB "
            f"{np.median(result_floor_hb[i]):#.3g} (exact {np.median(exact[i]):#.3g} vs "
            f"{np.median(exact[k + i]):#.3g}), HB/SGD {np.median(ratio[i]):.2f}"
        )

    measured = (
        f"matched η_eff, noisy quadratic: η={t.small_eta:g} floor {floors(small)}; "
        f"near SGD's edge η={t.edge_eta:g} (limit {sgd_edge:.3g}; HB's "
        f"{hb_edge:.3g}) floor {floors(edge)}; diabetes η={ls_etas[0]:g} HB/SGD "
        f"{np.median(ls_ratio[0]):.2f}; early cos(u, −∇f) on diabetes SGD "
        f"{np.median(ls_cos[0]):.2f} vs HB {np.median(ls_cos[m]):.2f}; floors within "
        f"{100 * rel_err.max():.1f}% of exact theory; same raw lr: floor "
        f"×{np.median(raw_floor_hb / raw_floor_sgd):.1f}"
    )
    curves = {
        "quadratic_sgd": curve[0, :k],  # (etas, steps), problem 0
        "quadratic_hb": curve[0, k : 2 * k],
        "quadratic_exact_sgd": exact[:k, 0],
        "quadratic_exact_hb": exact[k : 2 * k, 0],
        "diabetes_sgd": ls_curves["curve"][:m],
        "diabetes_hb": ls_curves["curve"][m:],
        "diabetes_cos_sgd": ls_curves["cos_curve"][:m],
        "diabetes_cos_hb": ls_curves["cos_curve"][m:],
    }
    return Result(
        holds=bool(all(checks.values())),
        measured=measured,
        etas=etas,
        seeds=seeds,
        floor_sgd=result_floor_sgd,
        floor_hb=result_floor_hb,
        exact_sgd=exact[:k],
        exact_hb=exact[k : 2 * k],
        sgd_edge=sgd_edge,
        hb_edge=hb_edge,
        rel_err_max=float(rel_err.max()),
        theory_ok=bool(theory_ok.all()),
        cos_sgd=cos[:k],
        cos_hb=cos[k : 2 * k],
        raw_lr=raw_lr,
        raw_floor_sgd=raw_floor_sgd.tolist(),
        raw_floor_hb=raw_floor_hb.tolist(),
        raw_steps_sgd=raw_steps_sgd,
        raw_steps_hb=raw_steps_hb,
        ls_etas=ls_etas,
        ls_floor_sgd=ls_floor[:m],
        ls_floor_hb=ls_floor[m:],
        ls_cos_sgd=ls_cos[:m],
        ls_cos_hb=ls_cos[m:],
        curves=curves,
    )


def plot(result: Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Noise floors (log y) with exact values; the direction of the first steps."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = result.curves
    paths = []
    fig, (ax, ax_ls) = plt.subplots(1, 2, figsize=(12, 4.6))
    colors = plt.get_cmap("tab10").colors
    for i, eta in enumerate(result.etas):
        ax.semilogy(
            c["quadratic_sgd"][i], color=colors[i], lw=0.8, label=f"SGD, η={eta:g}"
        )
        ax.semilogy(
            c["quadratic_hb"][i],
            color=colors[i],
            lw=0.8,
            ls="--",
            label=f"heavy ball β={BETA}, η_eff={eta:g}",
        )
        ax.axhline(c["quadratic_exact_sgd"][i], color=colors[i], ls=":", lw=1.2)
        ax.axhline(c["quadratic_exact_hb"][i], color=colors[i], ls=":", lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("E f(x) (mean over noise streams)")
    for i, eta in enumerate(result.etas):
        measured = np.median(result.floor_hb[i] / result.floor_sgd[i])
        exact = np.median(result.exact_hb[i] / result.exact_sgd[i])
        ax.annotate(
            f"η={eta:g}: HB/SGD {measured:.2f} (exact {exact:.2f})",
            xy=(1.0, c["quadratic_exact_sgd"][i]),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color=colors[i],
        )
    ax.set_title(
        f"Noisy quadratic, matched η_eff (SGD's edge: η = {result.sgd_edge:g})\n"
        "solid SGD, dashed heavy ball, dotted exact floors",
        fontsize=10,
    )
    ax.legend(fontsize=7, ncol=2)
    for i, eta in enumerate(result.ls_etas):
        ax_ls.semilogy(
            c["diabetes_sgd"][i], color=colors[i], lw=0.8, label=f"SGD, η={eta:g}"
        )
        ax_ls.semilogy(
            c["diabetes_hb"][i],
            color=colors[i],
            lw=0.8,
            ls="--",
            label=f"heavy ball, η_eff={eta:g}",
        )
    ax_ls.set_xlabel("step")
    ax_ls.set_ylabel("excess loss f(w) − f(w*)")
    ax_ls.set_title(f"Diabetes least squares, batch {BATCH}")
    ax_ls.legend(fontsize=8)
    paths.append(_plotting.save(fig, out_dir / "noise_floors.png"))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, eta in enumerate(result.ls_etas):
        ax.plot(c["diabetes_cos_sgd"][i], color=colors[i], label=f"SGD, η={eta:g}")
        ax.plot(
            c["diabetes_cos_hb"][i],
            color=colors[i],
            ls="--",
            label=f"heavy ball, η_eff={eta:g}",
        )
    ax.axvspan(0, EARLY, color="0.9", label=f"first {EARLY} steps (measured)")
    ax.set_xlabel("step")
    ax.set_ylabel("cos(update, −full-batch gradient)")
    ax.set_ylim(-0.5, 1.05)
    ax.set_title("Direction of the step: momentum averages out minibatch noise")
    ax.legend(fontsize=8)
    paths.append(_plotting.save(fig, out_dir / "noise_direction.png"))
    return paths
