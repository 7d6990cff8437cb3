"""No optimizer rescues wrong gradients, a broken model or a mis-scaled loss.

Experiment A, wrong gradients. The digits MLP (64-64-10) trained with a
hand-written backward pass (`mlp.backprop`) in four variants: correct; the
sign bug (every gradient negated, so the optimizer climbs the loss); a sign
slip in the first layer only; and a forgotten ReLU derivative (every hidden
unit treated as active). Each variant, with SGD, momentum 0.9, RMSprop and
Adam, at 11 learning rates 1e-4 ... 10 (6 in quick mode); the number is the best test accuracy
over the learning rates. A gradient check, ‖g − jax.grad‖ / ‖jax.grad‖ at the
initial weights on 256 training samples, is the only thing that flags the
last bug: it is *silent*, the network still learns.

Experiment B, a broken model. make_circles (two concentric rings) with a
2-32-2 network, with and without its nonlinearity (the same code with the
leaky-ReLU slope set to 1, so the whole net is one linear map), every
optimizer at 13 learning rates: a linear model cannot separate rings,
whichever optimizer trains it.

Experiment C, a mis-scaled loss (×1e-3, as when a mean is divided by the
batch size twice). Each optimizer at a learning rate that works unscaled:
SGD's and momentum's steps shrink 1000× and they stall; Adam divides the
gradient by its own root-mean-square and does not notice, up to its eps
(Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, §2.1).
So Adam can *hide* a loss bug that would have wrecked SGD. This library's
RMSprop keeps eps inside the square root by default, which dominates tiny
second moments, so it is not scale-invariant here.

References: CS231n, "Neural Networks Part 3" (gradient checks); Goodfellow,
Bengio, Courville, *Deep Learning*, MIT Press 2016, §11.5 (debugging
strategies, gradient checks).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxopt_lessons.lessons.experiments.wrong_gradients import (
    CIRCLES_LRS,
    DIGITS_LRS,
    EPS_VALUES,
    OPTIMIZERS,
    SCALE,
    SCALE_LRS,
    VARIANTS,
    adam_displacement_gap,
    bugs_experiment,
    circles_accuracy,
    circles_experiment,
    eps_gaps,
    gradient_check,
    scale_experiment,
)

__all__ = [
    "CIRCLES_LRS",
    "CLAIM",
    "CLAIM_ID",
    "DIGITS_LRS",
    "EPS_VALUES",
    "OPTIMIZERS",
    "SCALE",
    "SCALE_LRS",
    "THRESHOLDS",
    "VARIANTS",
    "Result",
    "Thresholds",
    "adam_displacement_gap",
    "circles_accuracy",
    "gradient_check",
    "run",
]

CLAIM_ID = "wrong_gradients"
CLAIM = (
    "An optimizer only moves along the gradient it is given: wrong gradients or a "
    "model that cannot fit defeat every optimizer at every learning rate, some "
    "gradient bugs are silent and only a gradient check finds them, and Adam can "
    "hide a mis-scaled loss that wrecks SGD."
)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these)."""

    # Best test accuracy over the lrs; "max": of the best optimizer and seed,
    # "min": of the worst.
    correct_acc_min: float = 0.95  # correct gradients train
    sign_bug_acc_max: float = 0.3  # the sign bug stays near chance
    layer1_slip_acc_max: float = 0.8  # a sign slip in layer 1 defeats them all
    silent_bug_acc_min: float = 0.9  # the missing ReLU derivative still learns
    gradcheck_silent_min: float = 0.1  # the gradient check flags it, every seed
    gradcheck_correct_max: float = 1e-4  # and passes the correct backward pass
    circles_linear_acc_max: float = 0.75  # a linear net on make_circles
    circles_relu_acc_min: float = 0.95  # the ReLU net
    scaled_sgd_acc_max: float = 0.5  # SGD and momentum with the loss × SCALE
    adam_scaled_gap_max: float = 0.02  # |Adam scaled − unscaled|, every seed


THRESHOLDS = Thresholds()


@dataclasses.dataclass(frozen=True)
class Result:
    """Measured numbers of the three experiments (lists run over seeds)."""

    holds: bool
    measured: str
    seeds: list[int]
    digits_lrs: list[float]
    gradcheck_rel_error: dict[str, list[float]]  # variant -> seed
    best_acc: dict[str, dict[str, list[float]]]  # variant -> optimizer -> seed
    best_train_loss: dict[str, dict[str, list[float]]]
    circles_best_acc: dict[str, dict[str, list[float]]]  # "linear"/"ReLU" -> opt
    scaled_acc: dict[str, dict[str, list[float]]]  # "unscaled"/"scaled" -> opt
    scaled_loss: dict[str, dict[str, list[float]]]
    adam_eps_gap: dict[str, float]  # eps -> relative displacement gap
    curves: dict[str, list[float]]  # "SGD unscaled" etc. -> minibatch loss
    checks: dict[str, bool]

    def numbers(self) -> dict:
        return {
            "seeds": self.seeds,
            "digits_learning_rates": self.digits_lrs,
            "gradient_check_rel_error": self.gradcheck_rel_error,
            "best_test_acc_over_lrs": self.best_acc,
            "best_train_loss_over_lrs": self.best_train_loss,
            "circles_best_test_acc": self.circles_best_acc,
            "loss_scale": SCALE,
            "scale_learning_rates": SCALE_LRS,
            "mis_scaled_test_acc": self.scaled_acc,
            "mis_scaled_train_loss": self.scaled_loss,
            "adam_10_step_displacement_gap_by_eps": self.adam_eps_gap,
            "checks": self.checks,
        }


def _names(optimizers: tuple[str, ...] | None) -> tuple[str, ...]:
    """The chosen optimizers in the order of `OPTIMIZERS`; all by default.

    Raises:
        ValueError: Adam, or both SGD and momentum, missing; or a name that
            is not in `OPTIMIZERS`.
    """
    names = tuple(n for n in OPTIMIZERS if n in (optimizers or OPTIMIZERS))
    if (
        "Adam" not in names
        or not {"SGD", "momentum 0.9"} & set(names)
        or len(names) != len(optimizers or OPTIMIZERS)
    ):
        raise ValueError(
            "wrong_gradients.run: `optimizers` must include Adam and SGD or "
            f"momentum 0.9, from {OPTIMIZERS}, got {optimizers!r}."
        )
    return names


def _worst(table, variant, fn=max):
    """fn over every optimizer and seed of table[variant] (max: the best case)."""
    return fn(fn(values) for values in table[variant].values())


def _checks(f: dict, names, t: Thresholds = THRESHOLDS) -> dict:
    """The verdict on the three experiments."""
    best_acc, gradcheck = f["best_acc"], f["gradcheck_rel_error"]
    circles, scaled_acc = f["circles_best_acc"], f["scaled_acc"]
    plain = [o for o in ("SGD", "momentum 0.9") if o in names]
    adam = scaled_acc["scaled"]["Adam"], scaled_acc["unscaled"]["Adam"]
    return {
        "correct_gradients_train": _worst(best_acc, "correct", min)
        >= t.correct_acc_min,
        "sign_bug_defeats_every_optimizer": _worst(best_acc, "sign bug")
        < t.sign_bug_acc_max,
        "layer1_slip_defeats_every_optimizer": _worst(best_acc, "layer-1 sign slip")
        < t.layer1_slip_acc_max,
        "silent_bug_still_learns": _worst(best_acc, "missing ReLU derivative")
        >= t.silent_bug_acc_min,
        "gradient_check_flags_silent_bug": min(gradcheck["missing ReLU derivative"])
        > t.gradcheck_silent_min
        and max(gradcheck["correct"]) < t.gradcheck_correct_max,
        "linear_model_fails_on_circles": _worst(circles, "linear")
        < t.circles_linear_acc_max,
        "relu_model_fits_circles": _worst(circles, "ReLU", min)
        >= t.circles_relu_acc_min,
        "scaled_loss_wrecks_sgd": max(max(scaled_acc["scaled"][o]) for o in plain)
        < t.scaled_sgd_acc_max,
        "adam_hides_scaled_loss": all(
            abs(a - b) < t.adam_scaled_gap_max for a, b in zip(*adam, strict=True)
        ),
    }


def _measured(f: dict, names) -> str:
    best_acc, gradcheck = f["best_acc"], f["gradcheck_rel_error"]
    circles, scaled_acc = f["circles_best_acc"], f["scaled_acc"]
    plain = [o for o in ("SGD", "momentum 0.9") if o in names]
    med = np.median
    return (
        "best test acc over lrs: correct "
        f"{_worst(best_acc, 'correct', min):.3f}+, sign bug <= "
        f"{_worst(best_acc, 'sign bug'):.2f}, layer-1 slip <= "
        f"{_worst(best_acc, 'layer-1 sign slip'):.2f}, missing ReLU' up to "
        f"{_worst(best_acc, 'missing ReLU derivative'):.3f} (grad-check err "
        f"{med(gradcheck['missing ReLU derivative']):.2f} "
        f"vs {med(gradcheck['correct']):.1e}); circles linear <= "
        f"{_worst(circles, 'linear'):.2f} vs ReLU >= {_worst(circles, 'ReLU', min):.2f}; "
        f"loss x1e-3: {plain[0]} acc {med(scaled_acc['unscaled'][plain[0]]):.2f} -> "
        f"{med(scaled_acc['scaled'][plain[0]]):.2f}, Adam "
        f"{med(scaled_acc['unscaled']['Adam']):.3f} -> "
        f"{med(scaled_acc['scaled']['Adam']):.3f}"
    )


def run(
    *, quick: bool = False, seed: int = 0, optimizers: tuple[str, ...] | None = None
) -> Result:
    """The three experiments; quick: one seed and 6 lrs, else 2 seeds (circles 3).

    `optimizers` picks the optimizers from `OPTIMIZERS` (Adam and SGD or
    momentum among them); all four by default.
    """
    names = _names(optimizers)
    seeds = [seed] if quick else [seed, seed + 1]
    digits_lrs = DIGITS_LRS[::2] if quick else DIGITS_LRS
    circle_seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    circle_lrs = CIRCLES_LRS[::2] if quick else CIRCLES_LRS
    f = {
        **bugs_experiment(names, seeds, digits_lrs),
        **circles_experiment(names, circle_seeds, circle_lrs),
        **scale_experiment(names, seeds),
        # Adam's scale invariance against eps (full run only)
        "adam_eps_gap": {} if quick else eps_gaps(seeds[0]),
    }
    checks = _checks(f, names)
    return Result(
        holds=all(checks.values()),
        measured=_measured(f, names),
        seeds=seeds,
        digits_lrs=[float(v) for v in digits_lrs],
        checks=checks,
        **f,
    )
