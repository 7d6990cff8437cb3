"""The wrong-gradients lesson's three experiments (the claim and its verdict:
`lessons.wrong_gradients`).

A: the digits MLP with a hand-written backward pass in four variants, every
optimizer and lr, and a gradient check. B: make_circles with and without the
network's nonlinearity. C: the loss mis-scaled by `SCALE`, and Adam's
displacement gap per eps.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.lessons.experiments import digits
from jaxopt_lessons.problems import datasets, mlp

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
        opt = sweeps.select([digits.optimizer(n, lr) for n in names], setting["which"])
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


def bugs_experiment(names, seeds, digits_lrs) -> dict:
    """A. Hand-written backprop, four variants, every optimizer and lr: the
    gradient check and the best accuracy and loss over the lrs."""
    switches = np.asarray(list(VARIANTS.values()), np.float32)
    gradcheck = {v: [] for v in VARIANTS}
    best_acc = {v: {o: [] for o in names} for v in VARIANTS}
    best_loss = {v: {o: [] for o in names} for v in VARIANTS}
    n_lr = len(digits_lrs)
    settings = digits.digits_settings(
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
            out = digits.run_digits(o, settings, s)
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


def circles_experiment(names, seeds, circle_lrs) -> dict:
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


def scale_experiment(names, seeds) -> dict:
    """C. The loss multiplied by SCALE, each optimizer at an lr that works
    unscaled: accuracy and loss per seed, the first seed's loss curves."""
    scaled_acc = {kind: {o: [] for o in names} for kind in ("unscaled", "scaled")}
    scaled_loss = {kind: {o: [] for o in names} for kind in scaled_acc}
    curves = {}
    for s in seeds:
        for o in names:
            settings = digits.digits_settings(
                lr=[SCALE_LRS[o]] * 2, loss_scale=[1.0, SCALE]
            )
            out = digits.run_digits(o, settings, s)
            for k, kind in enumerate(("unscaled", "scaled")):
                scaled_acc[kind][o].append(float(out["test_acc"][k]))
                scaled_loss[kind][o].append(float(out["train_loss"][k]))
                if s == seeds[0]:
                    curves[f"{o} {kind}"] = [float(c) for c in out["curve"][k]]
    return {"scaled_acc": scaled_acc, "scaled_loss": scaled_loss, "curves": curves}


def eps_gaps(seed: int) -> dict[str, float]:
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
