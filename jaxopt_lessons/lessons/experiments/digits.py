"""The digits training program shared by five claims (`lr_sensitivity`,
`tradeoff`, `wrong_gradients`, `lr_free`, `schedule_free`).

A 64-64-10 ReLU network on the digits (`load_digits`, pixels /16, stratified
75/25 split), `STEPS` minibatch steps of `BATCH` samples (about 14 epochs),
from the same He-initialised weights and on the same sequence of batches for
every optimizer and setting. `digits_data` and `digits_settings` build the
program's arguments; `make_program` builds the program of one optimizer
(`PROGRAMS` holds those of `OPTIMIZERS`, made by `optimizer`); `run_digits`
runs one over a table of settings with `sweeps.sweep`.

Each optimizer's whole grid is one compiled program: the learning rate,
Adam's eps, the loss scale and the backprop bugs are traced numbers and the
data come in as arguments, so each program compiles once per process,
whatever the seed. `sweeps.sweep` runs it ("loop" on a CPU, "vmap"
elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.problems import datasets, mlp

OPTIMIZERS = ("SGD", "momentum 0.9", "Nesterov 0.9", "RMSprop", "Adam")
STEPS = 300
BATCH = 64
HIDDEN = 64
N_EVAL = 450  # size of the digits test part (and of the validation part used)

_DEFAULTS = {
    "lr": 1e-2,
    "eps": 1e-8,
    "loss_scale": 1.0,
    "sign": 1.0,
    "first_layer_sign": 1.0,
    "relu_derivative": 1.0,
}


def optimizer(name: str, lr, eps=1e-8) -> optax.GradientTransformation:
    """The optimizer called `name` (one of `OPTIMIZERS`) at a traceable `lr`."""
    if name == "SGD":
        return jol.sgd(lr)
    if name == "momentum 0.9":
        return jol.sgd(lr, momentum=0.9)
    if name == "Nesterov 0.9":
        return jol.sgd(lr, momentum=0.9, nesterov=True)
    if name == "RMSprop":
        return jol.rmsprop(lr)
    if name == "Adam":
        return jol.adam(lr, eps=eps)
    raise ValueError(
        f"digits.optimizer: `name` must be one of {OPTIMIZERS}, got {name!r}."
    )


def digits_data(seed: int, n_train: int | None = None) -> dict:
    """The digits split as arrays of fixed shapes, for `digits_program`.

    The training part is padded with zero rows to 1347 (the full training
    size) and ``n_train`` says how many rows are real, so a small training set
    runs in the same compiled program. ``x_val`` holds 450 samples of the
    unused training rows when `n_train` is set, else a copy of the test part.
    """
    d = datasets.load_digits(seed, n_train)
    full = 1347
    n = int(d.x_train.shape[0])
    pad = full - n
    x_val, y_val = (d.x_val, d.y_val) if n_train is not None else (d.x_test, d.y_test)
    return {
        "x_train": jnp.pad(d.x_train, ((0, pad), (0, 0))),
        "y_train": jnp.pad(d.y_train, (0, pad)),
        "n_train": jnp.asarray(n, jnp.int32),
        "x_test": d.x_test,
        "y_test": d.y_test,
        "x_val": x_val[:N_EVAL],
        "y_val": y_val[:N_EVAL],
    }


def digits_settings(n: int | None = None, **values) -> dict[str, np.ndarray]:
    """Settings for `digits_program`: the given columns, defaults elsewhere."""
    lengths = {np.size(v) for v in values.values() if np.ndim(v)}
    if n is None:
        n = lengths.pop() if lengths else 1
    out = {}
    for name, default in _DEFAULTS.items():
        v = values.get(name, default)
        out[name] = np.broadcast_to(np.asarray(v, np.float32), (n,)).copy()
    return out


def make_program(
    name: str,
    build: Callable[[dict], Any] | None = None,
    report: Callable[[dict, Any], dict] | None = None,
):
    """The digits training program of one optimizer, to run with `run_digits`.

    Args:
        name: the optimizer's name (the program's name; one of `OPTIMIZERS`
            when `build` is None).
        build: ``build(setting) -> optimizer`` from the (traced) setting;
            None means ``optimizer(name, setting["lr"], setting["eps"])``.
        report: ``report(setting, state) -> dict`` of arrays read from the
            optimizer's final state, added to the outputs; None adds nothing.

    Define each program once (at module level): a new one compiles again.
    """
    if build is None:
        optimizer(name, 1e-2)  # checks the name early

        def build(setting):
            return optimizer(name, setting["lr"], setting["eps"])

    def digits_program(setting: dict, params0, data: dict, key: jax.Array) -> dict:
        opt = build(setting)
        scale = setting["loss_scale"]

        def grad_fn(p, xb, yb):
            value, grads = mlp.backprop(
                p,
                xb,
                yb,
                sign=setting["sign"],
                first_layer_sign=setting["first_layer_sign"],
                relu_derivative=setting["relu_derivative"],
            )
            return value, jax.tree.map(lambda g: scale * g, grads)

        params, curve, state = mlp.fit(
            opt,
            params0,
            data["x_train"],
            data["y_train"],
            key,
            STEPS,
            BATCH,
            grad_fn,
            n_samples=data["n_train"],
            return_state=True,
        )
        logits = mlp.apply(params, data["x_train"])
        per_sample = optax.softmax_cross_entropy_with_integer_labels(
            logits, data["y_train"]
        )
        mask = jnp.arange(per_sample.shape[0]) < data["n_train"]
        train_loss = jnp.sum(jnp.where(mask, per_sample, 0.0)) / data["n_train"]
        return {
            "test_acc": mlp.accuracy(params, data["x_test"], data["y_test"]),
            "val_acc": mlp.accuracy(params, data["x_val"], data["y_val"]),
            "train_loss": train_loss,
            "curve": curve,
            **({} if report is None else report(setting, state)),
        }

    digits_program.__name__ = f"digits_program[{name}]"
    digits_program.__doc__ = _PROGRAM_DOC.format(name=name)
    return digits_program


_PROGRAM_DOC = """Trains the digits MLP with {name} at one setting (every field traceable).

    Args:
        setting: ``lr``, ``eps`` (Adam's), ``loss_scale`` (multiplies the loss,
            hence the gradient), ``sign``, ``first_layer_sign``,
            ``relu_derivative`` (the switches of `mlp.backprop`; 1, 1, 1 is
            the correct gradient).
        params0: the starting parameters.
        data: from `digits_data`.
        key: the key of the batch sequence.

    Returns:
        ``test_acc``, ``val_acc``, ``train_loss`` (the true, unscaled loss on
        the whole training part after training), ``curve`` (the unscaled
        minibatch loss before each step) and what the program's ``report``
        reads from the final optimizer state, if it has one.
    """

#: One training program per optimizer, each compiled once per process and
#: shared by the lr_sensitivity, tradeoff and wrong_gradients lessons.
PROGRAMS = {name: make_program(name) for name in OPTIMIZERS}


def run_digits(
    name: str,
    settings: dict,
    seed: int,
    n_train: int | None = None,
    program: Callable | None = None,
) -> dict:
    """Optimizer `name` at every setting, on seed `seed`'s split, init and batches.

    `program` (from `make_program`) replaces ``PROGRAMS[name]``, for an
    optimizer of another lesson; its settings may carry extra columns.

    Returns the outputs as NumPy arrays with one row per setting, plus
    ``method`` (how `sweeps.sweep` ran it).
    """
    data = digits_data(seed, n_train)
    key = jax.random.PRNGKey(seed)
    init_key, batch_key = jax.random.split(key)
    params0 = mlp.init(init_key, (64, HIDDEN, 10))
    program = PROGRAMS[name] if program is None else program
    res = sweeps.sweep(program, settings, params0, data, batch_key)
    out = dict(res.outputs)
    out["train_loss"] = np.where(
        np.isfinite(out["train_loss"]), out["train_loss"], np.inf
    )
    out["method"] = res.method
    return out
