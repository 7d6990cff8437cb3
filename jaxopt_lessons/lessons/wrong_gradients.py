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
import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.lessons import lr_sensitivity as lrs_lesson
from jaxopt_lessons.problems import datasets, mlp

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

OPTIMIZERS = ("SGD", "momentum 0.9", "RMSprop", "Adam")
VARIANTS = {  # name -> (sign, first_layer_sign, relu_derivative)
    "correct": (1.0, 1.0, 1.0),
    "sign bug": (-1.0, 1.0, 1.0),
    "layer-1 sign slip": (1.0, -1.0, 1.0),
    "missing ReLU derivative": (1.0, 1.0, 0.0),
}
DIGITS_LRS = np.logspace(-4, 1, 11)
CIRCLES_LRS = np.logspace(-4, 1, 13)
CIRCLES_STEPS = 500
CIRCLES_HIDDEN = 32
SCALE = 1e-3
SCALE_LRS = {"SGD": 0.5, "momentum 0.9": 0.1, "RMSprop": 3e-3, "Adam": 1e-2}
EPS_VALUES = (1e-8, 1e-12, 1e-20)
CHECK_SAMPLES = 256


def _flat(tree):
    return jnp.concatenate([a.ravel() for a in jax.tree.leaves(tree)])


@jax.jit
def gradient_check(params, x, y, switches):
    """‖g − jax.grad‖ / ‖jax.grad‖ for each row of switches (sign, layer 1, ReLU')."""
    ref = _flat(jax.grad(mlp.loss)(params, x, y))

    def one(s):
        _, g = mlp.backprop(
            params, x, y, sign=s[0], first_layer_sign=s[1], relu_derivative=s[2]
        )
        return jnp.linalg.norm(_flat(g) - ref) / jnp.linalg.norm(ref)

    return jax.vmap(one)(switches)


@functools.lru_cache(maxsize=16)
def _circles_program(names: tuple[str, ...]):
    """The circles training program for these optimizers (one function per tuple)."""

    def program(setting, params0, x, y, x_test, y_test, key):
        lr = setting["lr"]
        opt = sweeps.select(
            [lrs_lesson.optimizer(n, lr) for n in names], setting["which"]
        )
        slope = setting["slope"]

        def grad_fn(p, xb, yb):
            return jax.value_and_grad(mlp.loss)(p, xb, yb, slope)

        params, _ = mlp.fit(opt, params0, x, y, key, CIRCLES_STEPS, 64, grad_fn)
        return mlp.accuracy(params, x_test, y_test, slope)

    return program


def circles_accuracy(
    seed: int, which, lr, slope, optimizers: tuple[str, ...] = OPTIMIZERS
) -> np.ndarray:
    """Test accuracy on make_circles(seed) per (index into `optimizers`, lr, slope)."""
    d = datasets.make_circles(seed)
    key = jax.random.PRNGKey(seed)
    init_key, batch_key = jax.random.split(key)
    params0 = mlp.init(init_key, (2, CIRCLES_HIDDEN, 2))
    settings = {
        "which": np.asarray(which, np.int32),
        "lr": np.asarray(lr, np.float32),
        "slope": np.asarray(slope, np.float32),
    }
    res = sweeps.sweep(
        _circles_program(tuple(optimizers)),
        settings,
        params0,
        d.x_train,
        d.y_train,
        d.x_test,
        d.y_test,
        batch_key,
        method="vmap",  # a tiny network: batching all settings pays even on a CPU
    )
    return np.asarray(res.outputs)


@jax.jit
def adam_displacement_gap(params, x, y, eps_values, scale):
    """Relative gap of Adam's 10-step displacement with the loss × scale, per eps."""

    def displacement(eps, s):
        opt = jol.adam(1e-2, eps=eps)

        def step(carry, _):
            p, state = carry
            g = jax.grad(mlp.loss)(p, x, y)
            u, state = opt.update(jax.tree.map(lambda a: s * a, g), state, p)
            return (jol.apply_updates(p, u), state), None

        (p, _), _ = jax.lax.scan(step, (params, opt.init(params)), None, length=10)
        return _flat(p) - _flat(params)

    def gap(eps):
        a, b = displacement(eps, 1.0), displacement(eps, scale)
        return jnp.linalg.norm(a - b) / jnp.linalg.norm(a)

    return jax.vmap(gap)(eps_values)


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


def _bugs_experiment(names, seeds, digits_lrs) -> dict:
    """A. Hand-written backprop, four variants, every optimizer and lr: the
    gradient check and the best accuracy and loss over the lrs."""
    switches = np.asarray(list(VARIANTS.values()), np.float32)
    gradcheck = {v: [] for v in VARIANTS}
    best_acc = {v: {o: [] for o in names} for v in VARIANTS}
    best_loss = {v: {o: [] for o in names} for v in VARIANTS}
    n_lr = len(digits_lrs)
    settings = lrs_lesson.digits_settings(
        lr=np.tile(digits_lrs, len(VARIANTS)),
        sign=np.repeat(switches[:, 0], n_lr),
        first_layer_sign=np.repeat(switches[:, 1], n_lr),
        relu_derivative=np.repeat(switches[:, 2], n_lr),
    )
    for s in seeds:
        d = datasets.load_digits(s)
        params0 = mlp.init(jax.random.split(jax.random.PRNGKey(s))[0])
        errors = gradient_check(
            params0, d.x_train[:CHECK_SAMPLES], d.y_train[:CHECK_SAMPLES], switches
        )
        for v, e in zip(VARIANTS, np.asarray(errors), strict=True):
            gradcheck[v].append(float(e))
        for o in names:
            out = lrs_lesson.run_digits(o, settings, s)
            acc = out["test_acc"].reshape(len(VARIANTS), n_lr)
            loss = out["train_loss"].reshape(len(VARIANTS), n_lr)
            for k, v in enumerate(VARIANTS):
                best_acc[v][o].append(float(acc[k].max()))
                best_loss[v][o].append(float(loss[k].min()))
    return {
        "gradcheck_rel_error": gradcheck,
        "best_acc": best_acc,
        "best_train_loss": best_loss,
    }


def _circles_experiment(names, seeds, circle_lrs) -> dict:
    """B. Circles: the best accuracy of a linear net (slope 1) and of a ReLU
    net (slope 0), per optimizer and seed."""
    n_c = len(circle_lrs)
    which = np.repeat(np.arange(len(names)), 2 * n_c)
    slope = np.tile(np.repeat([1.0, 0.0], n_c), len(names))
    lr = np.tile(circle_lrs, 2 * len(names))
    circles = {"linear": {o: [] for o in names}, "ReLU": {o: [] for o in names}}
    for s in seeds:
        acc = circles_accuracy(s, which, lr, slope, names)
        acc = acc.reshape(len(names), 2, n_c)
        for i, o in enumerate(names):
            circles["linear"][o].append(float(acc[i, 0].max()))
            circles["ReLU"][o].append(float(acc[i, 1].max()))
    return {"circles_best_acc": circles}


def _scale_experiment(names, seeds) -> dict:
    """C. The loss multiplied by SCALE, each optimizer at an lr that works
    unscaled: accuracy and loss per seed, the first seed's loss curves."""
    scaled_acc = {kind: {o: [] for o in names} for kind in ("unscaled", "scaled")}
    scaled_loss = {kind: {o: [] for o in names} for kind in scaled_acc}
    curves = {}
    for s in seeds:
        for o in names:
            settings = lrs_lesson.digits_settings(
                lr=[SCALE_LRS[o]] * 2, loss_scale=[1.0, SCALE]
            )
            out = lrs_lesson.run_digits(o, settings, s)
            for k, kind in enumerate(("unscaled", "scaled")):
                scaled_acc[kind][o].append(float(out["test_acc"][k]))
                scaled_loss[kind][o].append(float(out["train_loss"][k]))
                if s == seeds[0]:
                    curves[f"{o} {kind}"] = [float(c) for c in out["curve"][k]]
    return {"scaled_acc": scaled_acc, "scaled_loss": scaled_loss, "curves": curves}


def _eps_gaps(seed: int) -> dict[str, float]:
    """Adam's scale invariance against eps: the displacement gap per eps."""
    d = datasets.load_digits(seed)
    params0 = mlp.init(jax.random.split(jax.random.PRNGKey(seed))[0])
    gaps = adam_displacement_gap(
        params0,
        d.x_train[:CHECK_SAMPLES],
        d.y_train[:CHECK_SAMPLES],
        jnp.asarray(EPS_VALUES, jnp.float32),
        SCALE,
    )
    return {
        f"{e:g}": float(g) for e, g in zip(EPS_VALUES, np.asarray(gaps), strict=True)
    }


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
        **_bugs_experiment(names, seeds, digits_lrs),
        **_circles_experiment(names, circle_seeds, circle_lrs),
        **_scale_experiment(names, seeds),
        # Adam's scale invariance against eps (full run only)
        "adam_eps_gap": {} if quick else _eps_gaps(seeds[0]),
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
