"""Every preset against torch.optim, step by step, over a grid of its arguments.

Each case runs 100 steps of the preset and of the torch.optim class on the
same three tensors with the same fixed random gradients (set by hand as
`.grad`), and compares the parameters at every step: in float64 to rtol 1e-10
and in float32 to rtol 1e-5. Cases marked `sched` replace `lr` by a schedule
on our side and attach `LambdaLR(lr_lambda=LAMBDA)` on torch's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

import jaxopt_lessons.torch as presets
from tests.torch import harness

torch = pytest.importorskip(
    "torch", reason="the torch parity tests need torch (pip install torch==2.13.0)"
)


def LAMBDA(epoch):
    """LambdaLR's factor: a warm-up from 1/4 towards 1 under a slow decay.

    Written with operators only, so that it runs on torch's Python ints and
    on our traced step counts alike; f(0) ≠ 1 checks the first step's lr.
    """
    return (1 + epoch) / (4 + epoch) * 0.99**epoch


def schedule(lr):
    """Our side of `LambdaLR(lr_lambda=LAMBDA)`: lr · f(count)."""
    return lambda count: lr * LAMBDA(count.astype(jnp.result_type(float)))


# (torch class, preset, kwargs, sched): kwargs go to both sides unchanged.
CASES = [
    ("SGD", "sgd", {}, False),
    ("SGD", "sgd", dict(lr=0.05), True),
    ("SGD", "sgd", dict(lr=0.05, momentum=0.9), False),
    ("SGD", "sgd", dict(lr=0.05, momentum=0.9, dampening=0.5), False),
    ("SGD", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True), False),
    (
        "SGD",
        "sgd",
        dict(lr=0.02, momentum=0.5, dampening=0.9, weight_decay=0.1, maximize=True),
        False,
    ),
    ("SGD", "sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.05), True),
    ("SGD", "sgd", dict(lr=0.05, momentum=0.8, dampening=0.3), True),
    ("Adam", "adam", {}, False),
    ("Adam", "adam", dict(lr=0.01, amsgrad=True), False),
    ("Adam", "adam", dict(lr=0.01, weight_decay=0.1), False),
    (
        "Adam",
        "adam",
        dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        True,
    ),
    (
        "Adam",
        "adam",
        dict(
            lr=0.01,
            betas=(0.5, 0.9),
            eps=1e-3,
            weight_decay=0.05,
            amsgrad=True,
            maximize=True,
        ),
        True,
    ),
    ("AdamW", "adamw", {}, False),
    ("AdamW", "adamw", dict(lr=0.01, weight_decay=0.1, amsgrad=True), True),
    ("AdamW", "adamw", dict(lr=0.01, betas=(0.8, 0.99), maximize=True), False),
    ("RMSprop", "rmsprop", {}, False),
    ("RMSprop", "rmsprop", dict(momentum=0.9), False),
    ("RMSprop", "rmsprop", dict(centered=True), False),
    ("RMSprop", "rmsprop", dict(momentum=0.9), True),
    (
        "RMSprop",
        "rmsprop",
        dict(
            alpha=0.9,
            eps=1e-3,
            weight_decay=0.1,
            momentum=0.5,
            centered=True,
            maximize=True,
        ),
        True,
    ),
    ("Adagrad", "adagrad", {}, False),
    ("Adagrad", "adagrad", dict(lr_decay=0.05), False),
    ("Adagrad", "adagrad", dict(initial_accumulator_value=0.1, eps=1e-2), False),
    ("Adagrad", "adagrad", dict(lr_decay=0.05, weight_decay=0.1, maximize=True), True),
    ("Adadelta", "adadelta", {}, False),
    ("Adadelta", "adadelta", dict(rho=0.5, eps=1e-3, weight_decay=0.1), True),
    ("Adadelta", "adadelta", dict(lr=0.5, maximize=True), False),
    ("Adamax", "adamax", {}, False),
    (
        "Adamax",
        "adamax",
        dict(betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, maximize=True),
        True,
    ),
    ("NAdam", "nadam", {}, False),
    ("NAdam", "nadam", dict(momentum_decay=0.1), False),
    ("NAdam", "nadam", dict(weight_decay=0.1), False),
    ("NAdam", "nadam", dict(weight_decay=0.1, decoupled_weight_decay=True), True),
    (
        "NAdam",
        "nadam",
        dict(betas=(0.5, 0.9), momentum_decay=0.0, eps=1e-3, maximize=True),
        False,
    ),
    ("RAdam", "radam", {}, False),
    ("RAdam", "radam", dict(lr=0.01, weight_decay=0.1), False),
    (
        "RAdam",
        "radam",
        dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        True,
    ),
    ("RAdam", "radam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3, maximize=True), False),
    ("Rprop", "rprop", {}, False),
    ("Rprop", "rprop", dict(etas=(0.3, 1.5), step_sizes=(1e-3, 0.1)), False),
    ("Rprop", "rprop", dict(lr=0.05, maximize=True), True),
]


PRESET_NAMES = sorted({preset for _, preset, _, _ in CASES})


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_matches_torch(preset, dtype):
    """All of one preset's cases run in one compiled step (one compilation per
    preset and dtype keeps the grid within the time budget)."""
    with jax.enable_x64(dtype == "float64"):
        params = harness.small_params(jnp.dtype(dtype))
        cases = []
        for cls, name, kwargs, sched in CASES:
            if name != preset:
                continue
            ours = dict(kwargs)
            if sched:
                ours["lr"] = schedule(kwargs.get("lr", harness.default_lr(torch, cls)))
            cases.append(
                harness.Case(
                    getattr(presets, name)(**ours),
                    cls,
                    kwargs,
                    lr_lambda=LAMBDA if sched else None,
                )
            )
        harness.assert_cases_match_torch(torch, cases, params)
