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

import numpy as np

from jaxopt_lessons.lessons._common import min_median_max
from jaxopt_lessons.lessons.experiments.noise import (
    BATCH,
    BETA,
    DIM,
    EARLY,
    SIGMA,
    diabetes_experiment,
    quadratic_experiment,
)

__all__ = [
    "BATCH",
    "BETA",
    "CLAIM",
    "CLAIM_ID",
    "DIM",
    "EARLY",
    "SIGMA",
    "THRESHOLDS",
    "Result",
    "Thresholds",
    "run",
]

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
    """What `run` checks before it says the claim holds (the tests import these)."""

    small_eta: float = 0.05  # effective lr of the "same floor" regime
    edge_eta: float = 1.5  # effective lr near SGD's edge (limit 2/λ_max = 2)
    same_floor: tuple[float, float] = (0.9, 1.1)  # HB/SGD at small_eta, both problems
    edge_ratio_max: float = 0.7  # HB/SGD floors at edge_eta stay below this
    # A measured floor lies within max(theory_rel · exact, theory_se standard
    # errors) of the exact one.
    theory_rel: float = 0.05
    theory_se: float = 4.0
    cos_gap_min: float = 0.3  # early cos(u, −∇f) on diabetes, HB − SGD
    raw_floor_factor_min: float = 5.0  # momentum at the same raw lr (theory 10)


THRESHOLDS = Thresholds()


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
        return {
            "etas": self.etas,
            "seeds": self.seeds,
            "small_eta": THRESHOLDS.small_eta,
            "edge_eta": THRESHOLDS.edge_eta,
            "sgd_stable_below_eta": self.sgd_edge,
            "heavy_ball_stable_below_eta": self.hb_edge,
            "floor_vs_exact_max_rel_err": self.rel_err_max,
            "floor_matches_exact_within_4se_or_5pct": self.theory_ok,
            "quadratic": self._quadratic_numbers(),
            "diabetes": self._diabetes_numbers(),
        }

    def _quadratic_numbers(self) -> dict:
        per_eta = {
            "floor_sgd": self.floor_sgd,
            "floor_hb": self.floor_hb,
            "exact_sgd": self.exact_sgd,
            "exact_hb": self.exact_hb,
            "hb_over_sgd": self.floor_hb / self.floor_sgd,
            "hb_over_sgd_exact": self.exact_hb / self.exact_sgd,
            "early_cos_sgd": self.cos_sgd,
            "early_cos_hb": self.cos_hb,
        }
        out = _per_eta(self.etas, per_eta)
        out["same_raw_lr"] = {
            "lr": self.raw_lr,
            "floor_sgd": min_median_max(self.raw_floor_sgd),
            "floor_hb": min_median_max(self.raw_floor_hb),
            "steps_to_1.5x_floor_sgd": min_median_max(self.raw_steps_sgd),
            "steps_to_1.5x_floor_hb": min_median_max(self.raw_steps_hb),
        }
        return out

    def _diabetes_numbers(self) -> dict:
        per_eta = {
            "excess_sgd": self.ls_floor_sgd,
            "excess_hb": self.ls_floor_hb,
            "hb_over_sgd": self.ls_floor_hb / self.ls_floor_sgd,
            "early_cos_sgd": self.ls_cos_sgd,
            "early_cos_hb": self.ls_cos_hb,
        }
        return _per_eta(self.ls_etas, per_eta)


def _per_eta(etas, arrays: dict) -> dict:
    """{η: {name: [min, median, max] of arrays[name][i] over seeds}}."""
    return {
        f"{eta:g}": {name: min_median_max(a[i]) for name, a in arrays.items()}
        for i, eta in enumerate(etas)
    }


def _fields(quad: dict, ls: dict, k: int, m: int, t: Thresholds) -> dict:
    """The Result's numbers and curves from both experiments (k and m etas)."""
    floor, exact = quad["floor"][: 2 * k], quad["exact"][: 2 * k]
    rel_err = np.abs(floor / exact - 1)
    # The measured floor is an average over finitely many streams: compare it
    # with the exact value within 5 % or 4 standard errors, whichever is wider.
    allowed = np.maximum(t.theory_rel * exact, t.theory_se * quad["floor_se"][: 2 * k])
    curve, ls_curves = quad["curve"][0], ls["curves"]  # problem 0, seed 0
    return {
        "floor_sgd": floor[:k],
        "floor_hb": floor[k:],
        "exact_sgd": exact[:k],
        "exact_hb": exact[k:],
        "sgd_edge": quad["sgd_edge"],
        "hb_edge": quad["hb_edge"],
        "rel_err_max": float(rel_err.max()),
        "theory_ok": bool((np.abs(floor - exact) <= allowed).all()),
        "cos_sgd": quad["cos"][:k],
        "cos_hb": quad["cos"][k : 2 * k],
        "raw_floor_sgd": quad["floor"][0],  # arrays here, lists in the Result
        "raw_floor_hb": quad["floor"][-1],
        "raw_steps_sgd": quad["raw_steps_sgd"],
        "raw_steps_hb": quad["raw_steps_hb"],
        "ls_floor_sgd": ls["floor"][:m],
        "ls_floor_hb": ls["floor"][m:],
        "ls_cos_sgd": ls["cos"][:m],
        "ls_cos_hb": ls["cos"][m:],
        "curves": {
            "quadratic_sgd": curve[:k],  # (etas, steps)
            "quadratic_hb": curve[k : 2 * k],
            "quadratic_exact_sgd": exact[:k, 0],
            "quadratic_exact_hb": exact[k:, 0],
            "diabetes_sgd": ls_curves["curve"][:m],
            "diabetes_hb": ls_curves["curve"][m:],
            "diabetes_cos_sgd": ls_curves["cos_curve"][:m],
            "diabetes_cos_hb": ls_curves["cos_curve"][m:],
        },
    }


def _checks(f: dict, etas: list[float], t: Thresholds) -> dict:
    """The verdict on both regimes, the theory and the direction."""
    ratio = f["floor_hb"] / f["floor_sgd"]
    ls_ratio = f["ls_floor_hb"] / f["ls_floor_sgd"]
    cos_gap = f["ls_cos_hb"][0] - f["ls_cos_sgd"][0]  # first ls eta (0.01)
    small, edge = etas.index(t.small_eta), etas.index(t.edge_eta)
    low, high = t.same_floor
    return {
        "floors_match_exact_theory": f["theory_ok"],
        "same_floor_small_eta_quadratic": low <= ratio[small].min()
        and ratio[small].max() <= high,
        "same_floor_diabetes": low <= ls_ratio[0].min() and ls_ratio[0].max() <= high,
        "lower_floor_near_sgd_edge": ratio[edge].max() < t.edge_ratio_max,
        "edge_eta_stable_for_both": t.edge_eta < f["sgd_edge"] < f["hb_edge"],
        "momentum_direction_closer": cos_gap.min() >= t.cos_gap_min,
        "same_raw_lr_raises_floor": (f["raw_floor_hb"] / f["raw_floor_sgd"]).min()
        >= t.raw_floor_factor_min,
    }


def _measured(f: dict, etas: list[float], ls_etas: list[float], t: Thresholds) -> str:
    med = np.median
    ratio = f["floor_hb"] / f["floor_sgd"]

    def floors(eta):
        i = etas.index(eta)
        return (
            f"SGD {med(f['floor_sgd'][i]):#.3g} vs HB "
            f"{med(f['floor_hb'][i]):#.3g} (exact {med(f['exact_sgd'][i]):#.3g} vs "
            f"{med(f['exact_hb'][i]):#.3g}), HB/SGD {med(ratio[i]):.2f}"
        )

    return (
        f"matched η_eff, noisy quadratic: η={t.small_eta:g} floor "
        f"{floors(t.small_eta)}; near SGD's edge η={t.edge_eta:g} (limit "
        f"{f['sgd_edge']:.3g}; HB's {f['hb_edge']:.3g}) floor {floors(t.edge_eta)}; "
        f"diabetes η={ls_etas[0]:g} HB/SGD "
        f"{med(f['ls_floor_hb'][0] / f['ls_floor_sgd'][0]):.2f}; early cos(u, −∇f) "
        f"on diabetes SGD {med(f['ls_cos_sgd'][0]):.2f} vs HB "
        f"{med(f['ls_cos_hb'][0]):.2f}; floors within "
        f"{100 * f['rel_err_max']:.1f}% of exact theory; same raw lr: floor "
        f"×{med(f['raw_floor_hb'] / f['raw_floor_sgd']):.1f}"
    )


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures noise floors and early directions; `quick` uses fewer streams and steps."""
    t = THRESHOLDS
    seeds = [seed + i for i in range(2 if quick else 3)]
    etas = [t.small_eta, t.edge_eta] if quick else [t.small_eta, 0.3, t.edge_eta]
    steps, streams = (2000, 16) if quick else (4000, 48)
    ls_etas = [0.01] if quick else [0.01, 0.05]
    ls_seeds = seeds[:1] if quick else seeds
    ls_steps, ls_streams = (1500, 8) if quick else (3000, 16)
    quad = quadratic_experiment(seeds, etas, steps, streams, seed)
    ls = diabetes_experiment(seed, ls_seeds, ls_etas, ls_steps, ls_streams)
    f = _fields(quad, ls, len(etas), len(ls_etas), t)
    checks = _checks(f, etas, t)
    measured = _measured(f, etas, ls_etas, t)
    f["raw_floor_sgd"] = f["raw_floor_sgd"].tolist()
    f["raw_floor_hb"] = f["raw_floor_hb"].tolist()
    return Result(
        holds=bool(all(checks.values())),
        measured=measured,
        etas=etas,
        seeds=seeds,
        raw_lr=etas[0],  # momentum added at SGD's lr of the first η
        ls_etas=ls_etas,
        **f,
    )
