"""The optimizer family against the Optax functions of the same names.

Every case runs 100 steps with the same random gradients and compares the
updates, every state leaf and the parameters at every step
(`helpers.assert_same_trajectory`). The option grid runs jitted in float32:
every optimizer with its defaults (which runs its blocks with theirs) and
with other options and schedules, plus the block options no optimizer
reaches. The default cases also run eagerly in float32 (25 steps) and jitted
in float64, and the functions Optax supports for complex parameters run on
complex64 ones. Up to a dozen cases are compiled as one program
(`_family.side_by_side`): a mismatch names its case in the path.

`rprop` and `adadelta(learning_rate=None)` differ from Optax on purpose:
their tests are in tests/transforms/test_rprop.py and test_adadelta.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

from tests.optimizers import _family


def lr_schedule(count):
    return optax.exponential_decay(0.02, transition_steps=10, decay_rate=0.7)(count)


def wd_schedule(count):
    return optax.linear_schedule(0.05, 0.001, transition_steps=50)(count)


def matrices(params):
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


NO_SCALARS = _family.small_tree_without_scalars


def C(name, params=None, step=None, **kwargs):
    return _family.Case(name, kwargs, params, step)


# One case per optimizer with its default options (and the learning rate it
# needs): these also run eagerly and in float64.
DEFAULT_OPTIMIZERS = [
    C("lion", learning_rate=0.01),
    C("radam", learning_rate=0.01),
    C("yogi", learning_rate=0.01),
    C("adabelief", learning_rate=0.01),
    C("lamb", learning_rate=0.01),
    C("lars", learning_rate=0.1),
    C("fromage", learning_rate=0.01),
    C("adafactor"),
    C("novograd", learning_rate=0.01),
    C("sm3", learning_rate=0.1, params=NO_SCALARS),
    C("sign_sgd", learning_rate=0.01),
    C("signum", learning_rate=0.01),
    C("noisy_sgd", learning_rate=0.01, key=0),
    C("adan", learning_rate=0.01),
    C("adadelta", learning_rate=1.0),
    C("polyak_sgd"),
    C("optimistic_gradient_descent", learning_rate=0.01),
    C("optimistic_adam_v2", learning_rate=0.01),
]

# Each optimizer's default case runs its blocks with their defaults (lion runs
# scale_by_lion(), adafactor runs scale_by_factored_rms, clip_by_block_rms and
# scale_by_param_block_rms...). The block table adds what no optimizer
# reaches: blocks no optimizer uses, defaults an optimizer overrides, and
# options it does not expose.
BLOCK_GRID = [
    C("clip", max_delta=0.5),
    C("clip_by_global_norm", max_norm=5.0),
    C("adaptive_grad_clip", clipping=0.1),
    C("adaptive_grad_clip", step=0.5, clipping=1.0, eps=0.5, axis=-1,
      params=NO_SCALARS),
    C("scale_by_lion", b1=0.5, b2=0.9, mode="smooth", smooth_beta=3.0),
    C("scale_by_lion", b1=1.0, mode="refined", mu_dtype=jnp.bfloat16),
    C("scale_by_yogi", eps_root=1e-6, initial_accumulator_value=0.1),
    C("scale_by_factored_rms", min_dim_size_to_factor=2, decay_rate=0.5,
      step_offset=3, epsilon=1e-3),
    C("scale_by_param_block_rms", step=0.01, min_scale=0.5),
    C("scale_by_novograd", mu_dtype=jnp.bfloat16),
    C("scale_by_sm3", b1=0.5, b2=0.9, eps=1e-3, params=NO_SCALARS),
    C("scale_by_adan"),
    C("scale_by_polyak", f_min=5.0, variant="sps"),
]  # fmt: skip

OPTIMIZER_GRID = DEFAULT_OPTIMIZERS + [
    C("lion", learning_rate=lr_schedule, weight_decay=0.1),
    C("lion", learning_rate=0.01, b1=0.5, weight_decay=wd_schedule,
                  mask=matrices),
    C("radam", learning_rate=lr_schedule, nesterov=True, threshold=4.0),
    C("yogi", learning_rate=lr_schedule, b1=0.5, b2=0.9, eps=1e-4),
    C("adabelief", learning_rate=lr_schedule, nesterov=True),
    C("lamb", learning_rate=lr_schedule, weight_decay=0.1, mask=matrices),
    C("lamb", learning_rate=0.01, b1=0.5, eps_root=1e-8,
                  weight_decay=wd_schedule),
    C("lars", learning_rate=lr_schedule, weight_decay=0.01,
                  weight_decay_mask=matrices, trust_coefficient=0.01, eps=1e-3,
                  trust_ratio_mask=matrices, momentum=0.5, nesterov=True),
    C("fromage", learning_rate=lr_schedule, min_norm=0.1),
    C("adafactor", learning_rate=0.01, min_dim_size_to_factor=2, momentum=0.9,
                       weight_decay_rate=0.01, weight_decay_mask=matrices),
    C("adafactor", learning_rate=lr_schedule, decay_rate=0.5, decay_offset=2,
                       multiply_by_parameter_scale=False, clipping_threshold=None,
                       factored=False, eps=1e-20, momentum=0.5,
                       dtype_momentum=jnp.bfloat16),
    C("novograd", learning_rate=lr_schedule, b2=0.5, weight_decay=0.1),
    C("sm3", learning_rate=0.05, momentum=0.5, params=NO_SCALARS),
    C("sign_sgd", learning_rate=lr_schedule),
    C("signum", learning_rate=lr_schedule, beta=0.5),
    C("noisy_sgd", learning_rate=lr_schedule, eta=0.1, gamma=0.3,
                       key=jax.random.key(5)),
    C("adan", learning_rate=lr_schedule, b1=0.9, b2=0.8, b3=0.95,
                  weight_decay=0.1, mask=matrices),
    C("adadelta", learning_rate=lr_schedule, rho=0.5, weight_decay=wd_schedule,
                      weight_decay_mask=matrices),
    C("polyak_sgd", max_learning_rate=0.1, scaling=lr_schedule, f_min=-1.0,
                        eps=1e-3, variant="sps+"),
    C("optimistic_gradient_descent", learning_rate=lr_schedule, alpha=0.5,
                                         beta=0.2),
    C("optimistic_adam_v2", learning_rate=lr_schedule, alpha=0.7, beta=0.1,
                                nesterov=False, eps_root=1e-8),
]  # fmt: skip

# Optax's convergence tests run these on complex parameters; so do we (their
# blocks run inside them), with the clipping blocks Optax documents as complex.
COMPLEX = [
    C("clip_by_global_norm", max_norm=5.0),
    C("clip_by_block_rms", threshold=1.0),
    C("adaptive_grad_clip", clipping=0.1),
    C("radam", learning_rate=0.01),
    C("yogi", learning_rate=0.01),
    C("adabelief", learning_rate=0.01),
    C("lamb", learning_rate=0.01),
    C("lars", learning_rate=0.1),
    C("adafactor", learning_rate=0.01, min_dim_size_to_factor=2),
    C("novograd", learning_rate=0.01),
]

# polyak needs the loss; every other case ignores it.
VALUE = {"value": 2.0}


def chunks(cases, size=12):
    """Tables split into programs of at most `size` cases: compile time grows
    faster than linearly with the program's size beyond about a dozen."""
    return [cases[i : i + size] for i in range(0, len(cases), size)]


def ids(chunked):
    return [f"{c[0].id}..{c[-1].id}" for c in chunked]


def random(cases):
    """add_noise and noisy_sgd apart: their random bits compile slowly, and
    more so inside a larger program."""
    return [c for c in cases if c.name in ("add_noise", "noisy_sgd")]


def others(cases):
    return [c for c in cases if c.name not in ("add_noise", "noisy_sgd")]


GRID = BLOCK_GRID + OPTIMIZER_GRID
F32_GRID = chunks(others(GRID)) + [random(GRID)]
# Eagerly and in float64, each optimizer with its defaults runs its blocks with
# theirs; the three clipping blocks that no optimizer uses run on their own.
UNCHAINED = BLOCK_GRID[:3]
DEFAULTS = chunks(others(UNCHAINED + DEFAULT_OPTIMIZERS)) + [random(DEFAULT_OPTIMIZERS)]


@pytest.mark.parametrize("cases", F32_GRID, ids=ids(F32_GRID))
def test_float32_grid_matches_optax(cases):
    _family.assert_cases_match_optax(cases, extra_args=VALUE)


@pytest.mark.parametrize("cases", DEFAULTS, ids=ids(DEFAULTS))
def test_float32_eager_defaults_match_optax(cases):
    # Eager runs pay for every operation dispatched from Python (about 2 s per
    # case for 100 steps here); 25 steps cover every eager code path.
    _family.assert_cases_match_optax(cases, jit=False, extra_args=VALUE, steps=25)


@pytest.mark.parametrize("cases", DEFAULTS, ids=ids(DEFAULTS))
def test_float64_defaults_match_optax(cases, x64):
    _family.assert_cases_match_optax(cases, dtype=jnp.float64, extra_args=VALUE)


def test_complex64_matches_optax():
    _family.assert_cases_match_optax(COMPLEX, dtype=jnp.complex64)


# The optimizer whose default case runs each block with the block's defaults.
RUN_INSIDE = {
    "scale_by_lion": "lion",
    "scale_by_radam": "radam",
    "scale_by_yogi": "yogi",
    "scale_by_belief": "adabelief",
    "scale_by_trust_ratio": "lamb",
    "scale_by_factored_rms": "adafactor",
    "scale_by_param_block_rms": "adafactor",
    "clip_by_block_rms": "adafactor",
    "scale_by_novograd": "novograd",
    "scale_by_sm3": "sm3",
    "scale_by_sign": "sign_sgd",
    "add_noise": "noisy_sgd",
    "scale_by_adan": "adan",
    "scale_by_adadelta": "adadelta",
    "scale_by_polyak": "polyak_sgd",
    "scale_by_optimistic_gradient": "optimistic_gradient_descent",
}


def test_every_function_of_the_family_has_a_case():
    import jaxopt_lessons as jol

    family = {
        "lion", "radam", "yogi", "adabelief", "lamb", "lars", "adafactor",
        "novograd", "sm3", "sign_sgd", "signum", "noisy_sgd", "fromage", "adan",
        "adadelta", "polyak_sgd", "optimistic_gradient_descent",
        "optimistic_adam_v2", "scale_by_lion", "scale_by_radam", "scale_by_yogi",
        "scale_by_belief", "scale_by_trust_ratio", "scale_by_factored_rms",
        "scale_by_novograd", "scale_by_sm3", "scale_by_sign", "add_noise",
        "scale_by_adan", "scale_by_adadelta", "scale_by_polyak",
        "scale_by_optimistic_gradient", "clip", "clip_by_global_norm",
        "clip_by_block_rms", "adaptive_grad_clip", "scale_by_param_block_rms",
    }  # fmt: skip
    defaults = {c.name for c in DEFAULT_OPTIMIZERS}
    assert set(RUN_INSIDE.values()) <= defaults
    covered = {c.name for c in GRID} | set(RUN_INSIDE)
    # rprop's parity (same states, updates one step earlier) is in test_rprop.py.
    assert family - covered == set()
    assert all(hasattr(jol, name) for name in family | {"rprop", "scale_by_rprop"})
