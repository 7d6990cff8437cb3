"""Every optimizer and building block against the Optax function of the same name.

Each case runs 100 steps with the same random gradients on a nested mixed
pytree and compares the updates, every state leaf and the parameters at every
step (`helpers.assert_same_trajectory`). The whole grid of options runs jitted
in float32 and in float64. The default options of every function also run
eagerly (op by op, no compilation) in both dtypes: eager and jitted runs trace
the same Python code, and what differs between them is the rounding of fused
versus separate operations, which the default of each function exercises.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers


def _matrices_only(params):
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


SCHEDULE = optax.exponential_decay(0.05, transition_steps=10, decay_rate=0.7)
WD_SCHEDULE = optax.linear_schedule(1e-2, 1e-3, transition_steps=50)

# (name, kwargs, defaults): `defaults` marks the case that also runs eagerly in float64.
BLOCK_CASES = [
    ("trace", dict(decay=0.9), True),
    ("trace", dict(decay=0.0), False),
    ("trace", dict(decay=0.9, nesterov=True), False),
    ("trace", dict(decay=0.5, nesterov=True), False),
    ("ema", dict(decay=0.9), True),
    ("ema", dict(decay=0.9, debias=False), False),
    ("ema", dict(decay=0.0), False),
    ("scale_by_rms", dict(), True),
    ("scale_by_rms", dict(decay=0.99, eps_in_sqrt=False), False),
    ("scale_by_rms", dict(bias_correction=True), False),
    (
        "scale_by_rms",
        dict(initial_scale=0.1, eps_in_sqrt=False, bias_correction=True),
        False,
    ),
    ("scale_by_stddev", dict(), True),
    ("scale_by_stddev", dict(eps_in_sqrt=False), False),
    ("scale_by_stddev", dict(bias_correction=True, initial_scale=1.0), False),
    (
        "scale_by_stddev",
        dict(decay=0.5, eps=1e-3, eps_in_sqrt=False, bias_correction=True),
        False,
    ),
    ("scale_by_rss", dict(), True),
    ("scale_by_rss", dict(initial_accumulator_value=0.0, eps=1e-3), False),
    ("scale_by_adam", dict(), True),
    ("scale_by_adam", dict(nesterov=True), False),
    ("scale_by_adam", dict(b1=0.5, b2=0.9, eps=1e-4, eps_root=1e-6), False),
    ("scale_by_adam", dict(b1=0.0, eps=1e-6), False),
    ("scale_by_amsgrad", dict(), True),
    ("scale_by_amsgrad", dict(bias_correction_mu=False), False),
    ("scale_by_amsgrad", dict(bias_correction_nu=False), False),
    ("scale_by_amsgrad", dict(b2=0.9, eps_root=1e-8), False),
    ("scale_by_adamax", dict(), True),
    ("scale_by_adamax", dict(b1=0.5, b2=0.99, eps=1e-4), False),
    ("scale", dict(step_size=-0.3), True),
    ("scale_by_learning_rate", dict(learning_rate=0.1), True),
    ("scale_by_learning_rate", dict(learning_rate=0.1, flip_sign=False), False),
    ("scale_by_learning_rate", dict(learning_rate=SCHEDULE), False),
    ("scale_by_schedule", dict(step_size_fn=SCHEDULE), False),
    ("add_decayed_weights", dict(weight_decay=0.1), True),
    ("add_decayed_weights", dict(weight_decay=0.1, mask=_matrices_only), False),
    ("add_decayed_weights", dict(weight_decay=WD_SCHEDULE), False),
]

OPTIMIZER_CASES = [
    ("sgd", dict(learning_rate=0.05), True),
    ("sgd", dict(learning_rate=SCHEDULE), False),
    ("sgd", dict(learning_rate=0.05, momentum=0.9), False),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True), False),
    ("sgd", dict(learning_rate=SCHEDULE, momentum=0.8, nesterov=True), False),
    ("rmsprop", dict(learning_rate=0.01), True),
    ("rmsprop", dict(learning_rate=0.01, eps_in_sqrt=False, decay=0.99), False),
    ("rmsprop", dict(learning_rate=0.01, centered=True), False),
    ("rmsprop", dict(learning_rate=0.01, momentum=0.9), False),
    ("rmsprop", dict(learning_rate=0.01, momentum=0.9, nesterov=True), False),
    (
        "rmsprop",
        dict(learning_rate=SCHEDULE, centered=True, momentum=0.5, bias_correction=True),
        False,
    ),
    (
        "rmsprop",
        dict(learning_rate=0.01, initial_scale=0.5, bias_correction=True),
        False,
    ),
    ("adam", dict(learning_rate=0.01), True),
    ("adam", dict(learning_rate=SCHEDULE), False),
    ("adam", dict(learning_rate=0.01, nesterov=True), False),
    ("adam", dict(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-6, eps_root=1e-8), False),
    ("adamw", dict(learning_rate=0.01), True),
    ("adamw", dict(learning_rate=0.01, weight_decay=0.1, mask=_matrices_only), False),
    ("adamw", dict(learning_rate=SCHEDULE, weight_decay=WD_SCHEDULE), False),
    ("adamw", dict(learning_rate=0.01, weight_decay=0.05, nesterov=True), False),
    ("nadam", dict(learning_rate=0.01), True),
    ("nadam", dict(learning_rate=SCHEDULE, b1=0.8), False),
    ("nadamw", dict(learning_rate=0.01), True),
    ("nadamw", dict(learning_rate=0.01, weight_decay=0.1, mask=_matrices_only), False),
    ("adamax", dict(learning_rate=0.01), True),
    ("adamax", dict(learning_rate=SCHEDULE, b1=0.5), False),
    ("adamaxw", dict(learning_rate=0.01), True),
    ("adamaxw", dict(learning_rate=0.01, weight_decay=0.1, mask=_matrices_only), False),
    ("amsgrad", dict(learning_rate=0.01), True),
    ("amsgrad", dict(learning_rate=SCHEDULE, bias_correction_nu=False), False),
    (
        "amsgrad",
        dict(learning_rate=0.01, bias_correction_mu=False, eps_root=1e-8),
        False,
    ),
    ("adagrad", dict(learning_rate=0.1), True),
    (
        "adagrad",
        dict(learning_rate=SCHEDULE, initial_accumulator_value=0.0, eps=1e-3),
        False,
    ),
]

CASES = BLOCK_CASES + OPTIMIZER_CASES


def _case_id(case):
    name, kwargs, _ = case
    shown = ",".join(
        f"{k}={'sched' if callable(v) else v}"
        for k, v in kwargs.items()
        if k != "learning_rate"
    )
    lr = kwargs.get("learning_rate")
    if lr is not None:
        shown = f"lr={'sched' if callable(lr) else lr}" + ("," + shown if shown else "")
    return f"{name}({shown})"


def _pair(name, kwargs):
    return getattr(jol, name)(**kwargs), getattr(optax, name)(**kwargs)


DEFAULT_CASES = [c for c in CASES if c[2]]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_float32_matches_optax(case):
    name, kwargs, _ = case
    ours, ref = _pair(name, kwargs)
    helpers.assert_same_trajectory(ours, ref, helpers.mixed_tree(jnp.float32), jit=True)


@pytest.mark.parametrize(
    "case", DEFAULT_CASES, ids=[_case_id(c) for c in DEFAULT_CASES]
)
def test_float32_eager_matches_optax(case):
    name, kwargs, _ = case
    ours, ref = _pair(name, kwargs)
    helpers.assert_same_trajectory(
        ours, ref, helpers.mixed_tree(jnp.float32), jit=False
    )


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_float64_matches_optax(case, x64):
    name, kwargs, defaults = case
    ours, ref = _pair(name, kwargs)
    params = helpers.mixed_tree(jnp.float64)
    helpers.assert_same_trajectory(ours, ref, params, jit=True, tol=helpers.F64)
    if defaults:
        helpers.assert_same_trajectory(ours, ref, params, jit=False, tol=helpers.F64)


def test_every_public_function_has_a_parity_case():
    covered = {name for name, _, _ in CASES}
    missing = [
        name
        for name in (*jol.OPTIMIZERS, *jol.TRANSFORMS)
        if hasattr(optax, name) and name not in covered and name in _FOUNDATION
    ]
    assert not missing, f"no parity case for {missing}"


# The functions this table is responsible for; other families have their own tables.
_FOUNDATION = {name for name, _, _ in CASES}
