"""Learning-rate sensitivity: how wide is the range of learning rates that work?

The experiment: a 64-64-10 ReLU network on the digits (`load_digits`, pixels
/16, stratified 75/25 split), 300 minibatch steps of 64 samples (about 14
epochs), from the same He-initialised weights and on the same sequence of
batches for every optimizer and learning rate. Nineteen learning rates,
``logspace(-5, 1, 19)`` (three per decade), for each of SGD, SGD with momentum
0.9, Nesterov momentum 0.9, RMSprop and Adam (library defaults otherwise).

The number: the *width* of the good range, in decades: the longest run of
neighbouring grid points whose test accuracy reaches the target (0.9), each
point counting for the grid spacing (1/3 decade).

Each optimizer's whole grid is one compiled program (`PROGRAMS[name]`, shared
with the `tradeoff` and `wrong_gradients` lessons). The training program, its
data and settings live in `lessons.experiments.digits` (shared by five
claims); this module re-exports them, and keeps the claim, the good range and
the verdict.

What the lesson says, measured: SGD's good range is the narrowest; momentum
and the adaptive methods widen it by a fraction of a decade to a decade and
move it to smaller learning rates; but Adam, too, fails outright at
learning rates of 1 and above and barely learns at 1e-5, so its learning rate
still has to be chosen.

References: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR
2015; Bengio, "Practical Recommendations for Gradient-Based Training of Deep
Architectures", in *Neural Networks: Tricks of the Trade*, 2012 (the learning
rate as the hyperparameter to tune first); CS231n, "Neural Networks Part 3".
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxopt_lessons.lessons.experiments.digits import (
    BATCH,
    HIDDEN,
    N_EVAL,
    OPTIMIZERS,
    PROGRAMS,
    STEPS,
    digits_data,
    digits_settings,
    make_program,
    optimizer,
    run_digits,
)

__all__ = [
    "BATCH",
    "CLAIM",
    "CLAIM_ID",
    "HIDDEN",
    "LEARNING_RATES",
    "N_EVAL",
    "OPTIMIZERS",
    "PROGRAMS",
    "QUICK_OPTIMIZERS",
    "SPACING",
    "STEPS",
    "TARGET",
    "THRESHOLDS",
    "Result",
    "Thresholds",
    "digits_data",
    "digits_settings",
    "good_range",
    "make_program",
    "optimizer",
    "run",
    "run_digits",
]

CLAIM_ID = "lr_sensitivity"
CLAIM = (
    "Plain SGD works only in a narrow band of learning rates; momentum and the "
    "adaptive methods widen the band, but Adam still fails at large and small "
    "learning rates, so the learning rate must still be tuned."
)

QUICK_OPTIMIZERS = ("SGD", "momentum 0.9", "RMSprop", "Adam")
LEARNING_RATES = np.logspace(-5, 1, 19)
SPACING = 1 / 3  # decades between neighbouring learning rates
TARGET = 0.9


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these)."""

    wider_by_min: float = SPACING  # momentum's, Adam's range over SGD's, decades
    best_acc_min: float = 0.95  # every optimizer's best test accuracy
    adam_extreme_acc_max: float = 0.5  # Adam at lr >= 1 and at lr 1e-5
    width_share_max: float = 0.6  # no range covers more of the decades swept


THRESHOLDS = Thresholds()


def good_range(acc: np.ndarray, lrs: np.ndarray, target: float = TARGET):
    """The longest run of neighbouring lrs with accuracy >= target.

    Returns:
        ``(width_decades, lo, hi)``; width counts each grid point as one grid
        spacing; ``lo``/``hi`` are the run's end points (nan when empty).
    """
    ok = np.asarray(acc) >= target
    best, best_start, start = 0, 0, None
    for i, flag in enumerate(list(ok) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start > best:
                best, best_start = i - start, start
            start = None
    spacing = float(np.log10(lrs[1] / lrs[0]))
    if best == 0:
        return 0.0, float("nan"), float("nan")
    return best * spacing, float(lrs[best_start]), float(lrs[best_start + best - 1])


@dataclasses.dataclass(frozen=True)
class Result:
    """What the learning-rate sweep measured (per seed, per optimizer)."""

    holds: bool
    measured: str
    seeds: list[int]
    learning_rates: list[float]
    accuracy: dict[str, list[list[float]]]  # optimizer -> seed -> per lr
    width: dict[str, list[float]]  # decades, per seed
    good_lo: dict[str, list[float]]
    good_hi: dict[str, list[float]]
    best_acc: dict[str, list[float]]
    best_lr: dict[str, list[float]]
    width_95: dict[str, list[float]]
    adam_acc_at_lr_ge_1: list[float]  # max over lr >= 1, per seed
    adam_acc_at_smallest_lr: list[float]
    checks: dict[str, bool]
    method: str

    def numbers(self) -> dict:
        return {
            "seeds": self.seeds,
            "learning_rates": self.learning_rates,
            "target": TARGET,
            "steps": STEPS,
            "width_decades": self.width,
            "width_decades_at_0.95": self.width_95,
            "good_lr_lo": self.good_lo,
            "good_lr_hi": self.good_hi,
            "best_test_acc": self.best_acc,
            "best_lr": self.best_lr,
            "adam_max_acc_at_lr_ge_1": self.adam_acc_at_lr_ge_1,
            "adam_acc_at_lr_1e-5": self.adam_acc_at_smallest_lr,
            "test_acc": self.accuracy,
            "checks": self.checks,
            "sweep_method": self.method,
        }


def _sweep(names: tuple[str, ...], seeds: list[int]) -> tuple[dict, str]:
    """Test accuracy per optimizer, seed and lr; and how the sweeps ran."""
    settings = digits_settings(lr=LEARNING_RATES)
    acc = {name: [] for name in names}
    for s in seeds:
        for name in names:
            out = run_digits(name, settings, s)
            acc[name].append([float(a) for a in out["test_acc"]])
    return acc, out["method"]


def _ranges(acc: dict) -> dict:
    """Each optimizer's good range (width, ends, width at 0.95), best accuracy
    and best lr, per seed."""
    keys = ("width", "good_lo", "good_hi", "width_95", "best_acc", "best_lr")
    out = {key: {} for key in keys}
    for name, rows in acc.items():
        for row in rows:
            w, a, b = good_range(row, LEARNING_RATES)
            values = (
                round(w, 4),
                a,
                b,
                round(good_range(row, LEARNING_RATES, 0.95)[0], 4),
                max(row),
                float(LEARNING_RATES[np.argmax(row)]),
            )
            for key, value in zip(keys, values, strict=True):
                out[key].setdefault(name, []).append(value)
    return out


def _checks(f: dict, t: Thresholds = THRESHOLDS) -> dict:
    """The verdict: SGD's range is the narrowest, and Adam's still ends."""
    width, names = f["width"], list(f["width"])
    w_sgd, w_adam = np.asarray(width["SGD"]), np.asarray(width["Adam"])
    w_momentum = np.asarray(width.get("momentum 0.9", w_sgd + 1))
    decades = float(np.log10(LEARNING_RATES[-1] / LEARNING_RATES[0])) + SPACING
    return {
        "adam_range_wider_than_sgd": bool(
            np.all(w_adam >= w_sgd + t.wider_by_min - 1e-6)
        ),
        "momentum_range_wider_than_sgd": bool(
            np.all(w_momentum >= w_sgd + t.wider_by_min - 1e-6)
        ),
        "every_optimizer_reaches_0.95": all(
            min(f["best_acc"][n]) >= t.best_acc_min for n in names
        ),
        "adam_fails_at_lr_ge_1": max(f["adam_acc_at_lr_ge_1"]) < t.adam_extreme_acc_max,
        "adam_barely_learns_at_lr_1e-5": max(f["adam_acc_at_smallest_lr"])
        < t.adam_extreme_acc_max,
        "no_optimizer_works_everywhere": all(
            max(width[n]) <= t.width_share_max * decades for n in names
        ),
    }


def _measured(f: dict) -> str:
    med = {n: float(np.median(w)) for n, w in f["width"].items()}
    return (
        f"width of lr range with test acc >= {TARGET} (decades, median of "
        f"{len(f['seeds'])}): "
        + ", ".join(f"{n} {w:.2f}" for n, w in med.items())
        + f"; Adam acc at lr >= 1: {max(f['adam_acc_at_lr_ge_1']):.2f}, at 1e-5: "
        f"{max(f['adam_acc_at_smallest_lr']):.2f}"
    )


def run(
    *, quick: bool = False, seed: int = 0, optimizers: tuple[str, ...] | None = None
) -> Result:
    """Sweeps 19 learning rates per optimizer; quick: 1 seed, no Nesterov; else 3.

    `optimizers` picks a subset of `OPTIMIZERS` (it must hold SGD and Adam).
    """
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    names = optimizers or (QUICK_OPTIMIZERS if quick else OPTIMIZERS)
    if not {"SGD", "Adam"} <= set(names) or not set(names) <= set(OPTIMIZERS):
        raise ValueError(
            "lr_sensitivity.run: `optimizers` must include SGD and Adam and come "
            f"from {OPTIMIZERS}, got {names!r}."
        )
    acc, method = _sweep(tuple(n for n in OPTIMIZERS if n in names), seeds)
    adam = np.asarray(acc["Adam"])
    f = {
        "seeds": seeds,
        "learning_rates": [float(v) for v in LEARNING_RATES],
        "accuracy": acc,
        **_ranges(acc),
        "adam_acc_at_lr_ge_1": [
            float(v) for v in adam[:, LEARNING_RATES >= 1 - 1e-9].max(axis=1)
        ],
        "adam_acc_at_smallest_lr": [float(v) for v in adam[:, 0]],
        "method": method,
    }
    checks = _checks(f)
    return Result(holds=all(checks.values()), measured=_measured(f), checks=checks, **f)
