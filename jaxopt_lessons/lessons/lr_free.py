"""Learning-rate-free methods: does the learning rate stop mattering?

The experiment: the `lr_sensitivity` setup unchanged (the 64-64-10 ReLU MLP
on the digits, 300 minibatch steps of 64, the same He init and the same
batches for every method and setting), with four methods that estimate their
own step size from the run: Prodigy and D-Adaptation (Adam's direction, the
step scaled by a growing lower bound d on the distance to the solution), DoG
and DoWG (SGD's direction, the step the distance travelled over the size of
the gradients). Their `learning_rate` is a multiplier of the estimated step,
1.0 by default; Adam's learning rate is swept over `lr_sensitivity`'s grid.

The numbers, per seed:

1. each method at its defaults (multiplier 1.0): test accuracy, against Adam
   tuned (its best over the 19 learning rates) and Adam at its default 1e-3;
2. the multiplier swept over ``logspace(-3, 3, 19)`` (the same 1/3-decade
   spacing as Adam's grid): the width of the good range (test accuracy
   >= 0.9, `lr_sensitivity.good_range`), against Adam's, and how far 1.0
   sits from the range's ends;
3. the step each method ends with at its defaults (Prodigy and D-Adaptation:
   η·d, an Adam learning rate; DoG and DoWG: the SGD step), and the accuracy
   when the first distance estimate (d₀, DoG's r_ε, DoWG's r₀) is scaled by
   1e-4 … 1e4 at multiplier 1.

What was found (quick runs, seeds 0-4): at the defaults, Prodigy
(0.962-0.980) is within 0.02 of tuned Adam (0.973-0.982) and above Adam at
1e-3 (0.927-0.953); D-Adaptation (0.913-0.951) and DoG (0.944-0.971) reach
the target too, though no better than Adam's own default, which also does
here; DoWG's default fails on this network (0.10-0.22). And the multiplier
is still a learning rate with a bounded good range. Prodigy's spans 2.3-3.3
decades, about Adam's 2.3-3.0 (from 1/3 narrower to 2/3 wider, seed by
seed), with 1.0 well inside it; D-Adaptation's 1.7 decades, narrower than
Adam's; DoG's is the default alone (1/3 decade: a factor 2.15 either way
fails); DoWG's, 0.2-0.5, leaves 1.0 out. Below each range the network
stays at its initial accuracy: the estimate grows from its tiny start at a
rate set by the multiplier, too slowly for 300 steps, so the lower ends
move with the run's length. Above, the runs diverge.

Why the ranges differ: over its good range Prodigy's final step η·d grows
only as the multiplier to the power 0.48-0.61 (d shrinks as η grows);
D-Adaptation's grows nearly in proportion (power 0.75-0.99), and DoWG's
faster than the multiplier (power 1.3-1.5: a larger step inflates its
distance estimate, which enlarges the step). At the defaults Prodigy ends
with an Adam step η·d of 0.031-0.036, inside Adam's good range and a few
times Adam's best lr (0.01-0.046); D-Adaptation ends with 0.064-0.08, near
the top of Adam's range, where Adam's own accuracy starts to fall. The
first distance estimate barely matters for Prodigy and D-Adaptation (every
d₀ from 1e-4 to 1e4 times the default reaches the target) nor, from 1e-2
of its default up, for DoG: that part of "learning-rate free" holds.
DoWG fails at every first estimate up to 100 times its default.

References: Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive
Parameter-Free Learner", ICML 2024 (arXiv:2306.06101); Defazio & Mishchenko,
"Learning-Rate-Free Learning by D-Adaptation", ICML 2023
(arXiv:2301.07733); Ivgi, Hinder & Carmon, "DoG is SGD's Best Friend: A
Parameter-Free Dynamic Step Size Schedule", ICML 2023 (arXiv:2302.12022);
Khaled, Mishchenko & Jin, "DoWG Unleashed: An Efficient Universal
Parameter-Free Gradient Descent Method", NeurIPS 2023 (arXiv:2305.16284);
Kingma & Ba, "Adam", ICLR 2015.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from optax import tree_utils

from jaxopt_lessons import contrib
from jaxopt_lessons.lessons import lr_sensitivity as lrs
from jaxopt_lessons.lessons.experiments import digits

CLAIM_ID = "lr_free"
CLAIM = (
    "Learning-rate-free methods give a good default, not freedom from the "
    "learning rate: at multiplier 1.0 Prodigy is within 0.02 of tuned Adam and "
    "D-Adaptation and DoG reach the target, but DoWG's default fails; and the "
    "multiplier still has a bounded good range, not much wider than Adam's "
    "learning-rate range (Prodigy's about as wide, D-Adaptation's narrower, DoG's "
    "1.0 alone)."
)

METHODS = ("Prodigy", "D-Adapt AdamW", "DoG", "DoWG")
MULTIPLIERS = np.logspace(-3, 3, 19)  # the same 1/3-decade spacing as Adam's grid
DEFAULT = int(np.argmin(np.abs(np.log10(MULTIPLIERS))))  # index of 1.0
ADAM_DEFAULT_LR = 1e-3
D0_FACTORS = np.logspace(-4, 4, 5)  # scale the first distance estimate
_ADAM_X = np.log10(lrs.LEARNING_RATES / ADAM_DEFAULT_LR)  # 0 at Adam's default


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these)."""

    # Quick runs over seeds 0-4 (test acc; widths in decades):
    # tuned Adam minus Prodigy at 1.0: 0.0 ... 0.018.
    prodigy_gap_to_tuned_adam_max: float = 0.03
    # Prodigy, D-Adapt, DoG at 1.0: min 0.913 (D-Adapt, seed 0).
    default_acc_min: float = lrs.TARGET
    # DoWG at 1.0: 0.10-0.22; every grid end: at most 0.17 (the initial acc).
    fails_below: float = 0.5
    # |Prodigy's width - Adam's|: -1/3 ... +2/3 (Adam 2.33-3.0, Prodigy 2.33-3.33).
    prodigy_width_gap_max: float = 1.0
    # Adam's width minus D-Adapt's: 2/3 ... 4/3 (D-Adapt 1.67 on every seed).
    narrower_by_min: float = lrs.SPACING
    # DoG's width: 1/3 (the default alone) on every seed.
    dog_width_max: float = 2 * lrs.SPACING


THRESHOLDS = Thresholds()


def _build(name: str):
    """``setting -> optimizer``: the multiplier is ``lr``, ``d0`` scales the
    method's first distance estimate (its default at 1)."""
    if name == "Prodigy":
        return lambda s: contrib.prodigy(s["lr"], estim_lr0=1e-6 * s["d0"])
    if name == "D-Adapt AdamW":
        return lambda s: contrib.dadapt_adamw(s["lr"], estim_lr0=1e-6 * s["d0"])
    if name == "DoG":
        return lambda s: contrib.dog(s["lr"], init_step=("heuristic", 1e-6 * s["d0"]))
    return lambda s: contrib.dowg(s["lr"], init_estim_sq_dist=1e-4 * s["d0"] ** 2)


def _final_step(setting: dict, state) -> dict:
    """The step size the method ended with, times the multiplier: η·d for
    Prodigy and D-Adaptation, η·r̄/√G for DoG, η·r̄²/(√v + ε) for DoWG."""

    def get(key):
        return tree_utils.tree_get(state, key, None)

    if get("estim_lr") is not None:
        step = get("estim_lr")
    elif get("max_dist") is not None:  # DoG, eps 1e-8
        step = get("max_dist") / jnp.sqrt(get("sum_sq_norm_grads") + 1e-8)
    else:  # DoWG, eps 1e-4
        step = get("estim_sq_dist") / (jnp.sqrt(get("weighted_sq_norm_grads")) + 1e-4)
    return {"step": setting["lr"] * step}


#: One program per method, compiled once per process.
PROGRAMS = {n: digits.make_program(n, _build(n), _final_step) for n in METHODS}


def _settings() -> dict:
    """The multiplier grid at d₀'s default, then the d₀ factors at 1.0."""
    lr = np.concatenate([MULTIPLIERS, np.ones_like(D0_FACTORS)])
    d0 = np.concatenate([np.ones_like(MULTIPLIERS), D0_FACTORS])
    return {**digits.digits_settings(lr=lr), "d0": d0.astype(np.float32)}


@dataclasses.dataclass(frozen=True)
class Result:
    """What the sweeps measured (per method, per seed)."""

    holds: bool
    measured: str
    seeds: list[int]
    multipliers: list[float]
    learning_rates: list[float]  # Adam's
    d0_factors: list[float]
    accuracy: dict[str, list[list[float]]]  # method (and Adam) -> seed -> grid
    step: dict[str, list[list[float]]]  # method -> seed -> final step per multiplier
    d0_accuracy: dict[str, list[list[float]]]  # method -> seed -> per d0 factor
    width: dict[str, list[float]]  # decades, per seed (Adam's in lr)
    good_lo: dict[str, list[float]]
    good_hi: dict[str, list[float]]
    default_acc: dict[str, list[float]]  # at 1.0 (Adam: at 1e-3)
    step_slope: dict[str, list[float | None]]  # d log step / d log multiplier
    adam_best_acc: list[float]
    adam_best_lr: list[float]
    checks: dict[str, bool]
    method: str

    def numbers(self) -> dict:
        steps = _finite(self.step)
        defaults = {n: [row[DEFAULT] for row in rows] for n, rows in steps.items()}
        return {
            "seeds": self.seeds,
            "target": lrs.TARGET,
            "steps": digits.STEPS,
            "multipliers": self.multipliers,
            "adam_learning_rates": self.learning_rates,
            "width_decades": self.width,
            "good_lo": self.good_lo,
            "good_hi": self.good_hi,
            "test_acc_at_default": self.default_acc,
            "adam_best_test_acc": self.adam_best_acc,
            "adam_best_lr": self.adam_best_lr,
            "final_step_at_default": defaults,
            "final_step_slope_over_good_range": self.step_slope,
            "d0_factors": self.d0_factors,
            "test_acc_per_d0_factor": self.d0_accuracy,
            "test_acc": self.accuracy,
            "final_step": steps,
            "checks": self.checks,
            "sweep_method": self.method,
        }


def _finite(steps: dict) -> dict:
    """The steps with a diverged run's inf or nan as None (JSON has neither)."""
    return {
        n: [[v if np.isfinite(v) else None for v in row] for row in rows]
        for n, rows in steps.items()
    }


def _sweep(names: tuple[str, ...], seeds: list[int]) -> tuple[dict, str]:
    """Test accuracy and final step per method and seed, Adam's accuracy per lr."""
    n = len(MULTIPLIERS)
    out = {"accuracy": {}, "step": {}, "d0_accuracy": {}}
    for s in seeds:
        adam = digits.run_digits(
            "Adam", digits.digits_settings(lr=lrs.LEARNING_RATES), s
        )
        out["accuracy"].setdefault("Adam", []).append(adam["test_acc"].tolist())
        for name in names:
            res = digits.run_digits(name, _settings(), s, program=PROGRAMS[name])
            acc, step = res["test_acc"].tolist(), res["step"].tolist()
            out["accuracy"].setdefault(name, []).append(acc[:n])
            out["step"].setdefault(name, []).append(step[:n])
            out["d0_accuracy"].setdefault(name, []).append(acc[n:])
    return out, adam["method"]


def _step_slope(step: list[float], lo: float, hi: float) -> float | None:
    """Slope of log(final step) against log(multiplier) over the good range:
    1 when the estimate ignores the multiplier, 0 when it undoes it; None
    for a range of fewer than 2 points."""
    inside = (MULTIPLIERS >= lo * 0.999) & (MULTIPLIERS <= hi * 1.001)
    if inside.sum() < 2:
        return None
    x, y = np.log10(MULTIPLIERS[inside]), np.log10(np.asarray(step)[inside])
    return round(float(np.polyfit(x, y, 1)[0]), 4)


def _range_of(name: str, row: list[float]) -> tuple[float, float, float, float]:
    """``(width, lo, hi, accuracy at the default)`` of one sweep; Adam's over
    its learning rates, with 1e-3 as its default."""
    if name == "Adam":
        grid, default = lrs.LEARNING_RATES, int(np.argmin(np.abs(_ADAM_X)))
    else:
        grid, default = MULTIPLIERS, DEFAULT
    width, lo, hi = lrs.good_range(row, grid)
    return round(width, 4), lo, hi, row[default]


def _ranges(acc: dict, step: dict) -> dict:
    """Good range and accuracy at the default per method and seed, the final
    step's slope, Adam's best accuracy and lr."""
    keys = ("width", "good_lo", "good_hi", "default_acc")
    out = {key: {} for key in keys}
    for name, rows in acc.items():
        for row in rows:
            for key, value in zip(keys, _range_of(name, row), strict=True):
                out[key].setdefault(name, []).append(value)
    out["step_slope"] = {
        n: [
            _step_slope(row, lo, hi)
            for row, lo, hi in zip(
                rows, out["good_lo"][n], out["good_hi"][n], strict=True
            )
        ]
        for n, rows in step.items()
    }
    adam = np.asarray(acc["Adam"])
    out["adam_best_acc"] = adam.max(1).tolist()
    out["adam_best_lr"] = lrs.LEARNING_RATES[adam.argmax(1)].tolist()
    return out


def _checks(f: dict, t: Thresholds = THRESHOLDS) -> dict:
    """The verdict: good defaults (but DoWG's), ranges that end, none much
    wider than Adam's. A method left out of the run passes its checks."""
    acc, default = f["accuracy"], f["default_acc"]
    names = [n for n in METHODS if n in acc]

    def minus_adam(name):  # width minus Adam's, per seed
        return np.asarray(f["width"].get(name, f["width"]["Adam"])) - np.asarray(
            f["width"]["Adam"]
        )

    gap = np.asarray(f["adam_best_acc"]) - np.asarray(default.get("Prodigy", 1.0))
    fine = [n for n in ("Prodigy", "D-Adapt AdamW", "DoG") if n in acc]
    return {
        "prodigy_default_near_tuned_adam": bool(
            np.all(gap <= t.prodigy_gap_to_tuned_adam_max)
        ),
        "defaults_reach_target": all(
            min(default[n]) >= t.default_acc_min for n in fine
        ),
        "dowg_default_fails": max(default.get("DoWG", [0.0])) < t.fails_below,
        "every_range_ends_inside_the_grid": all(
            max(r[0], r[-1]) < t.fails_below for n in names for r in acc[n]
        ),
        "prodigy_range_about_as_wide_as_adams": bool(
            np.all(np.abs(minus_adam("Prodigy")) <= t.prodigy_width_gap_max + 1e-3)
        ),
        "dadapt_range_narrower_than_adams": bool(
            np.all(minus_adam("D-Adapt AdamW") <= -t.narrower_by_min + 1e-3)
            or "D-Adapt AdamW" not in acc
        ),
        "dog_range_is_its_default_alone": max(f["width"].get("DoG", [0.0]))
        <= t.dog_width_max + 1e-3,
    }


def _measured(f: dict) -> str:
    def med(key, n):
        return float(np.median(f[key][n]))

    return (
        f"test acc at the default (median of {len(f['seeds'])}): "
        + ", ".join(f"{n} {med('default_acc', n):.3f}" for n in f["default_acc"])
        + f" (Adam at 1e-3; tuned Adam {np.median(f['adam_best_acc']):.3f}); "
        f"width of the range with acc >= {lrs.TARGET} (decades): "
        + ", ".join(f"{n} {med('width', n):.2f}" for n in f["width"])
    )


def run(
    *, quick: bool = False, seed: int = 0, methods: tuple[str, ...] | None = None
) -> Result:
    """Adam over its 19 lrs, each method over 19 multipliers and 5 d₀ factors;
    quick: 1 seed, else 3. `methods` picks a subset of `METHODS`."""
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    names = METHODS if methods is None else tuple(methods)
    if not names or not set(names) <= set(METHODS):
        raise ValueError(
            f"lr_free.run: `methods` must be a non-empty subset of {METHODS}, "
            f"got {methods!r}."
        )
    swept, method = _sweep(tuple(n for n in METHODS if n in names), seeds)
    f = {
        "seeds": seeds,
        "multipliers": MULTIPLIERS.tolist(),
        "learning_rates": lrs.LEARNING_RATES.tolist(),
        "d0_factors": D0_FACTORS.tolist(),
        **swept,
        **_ranges(swept["accuracy"], swept["step"]),
        "method": method,
    }
    checks = _checks(f)
    return Result(holds=all(checks.values()), measured=_measured(f), checks=checks, **f)
