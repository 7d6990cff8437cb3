"""ADOPT against `optax.contrib.adopt`, every step.

60 steps of random gradients, updates, every state leaf and the parameters
compared at every step (`_against_optax`): jitted in float32 with every
option, a learning-rate schedule and `inject_hyperparams`; the defaults also
eagerly and in float64. A separate check follows the paper's first two steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.contrib import _against_optax as A


def clip_at_2(count):
    return 2.0 + 0.0 * count


DEFAULTS = [A.call("adopt", learning_rate=0.01), A.call("scale_by_adopt")]

GRID = DEFAULTS + [
    A.call("adopt", learning_rate=A.lr_schedule, b1=0.5, b2=0.9, eps=1e-3,
           nesterov=True),
    A.call("adopt", learning_rate=0.01, use_clipping=False),
    A.call("adopt", learning_rate=0.01, b2=0.99, clip_value_fn=clip_at_2,
           mu_dtype=jnp.bfloat16),
    A.call("scale_by_adopt", nesterov=True, use_clipping=False),
    A.injected("adopt", ("clip_value_fn",), learning_rate=A.lr_schedule, b1=0.8,
               b2=0.999),
]  # fmt: skip


def test_float32_grid_matches_optax():
    A.assert_cases_match_optax(GRID)


def test_float32_eager_defaults_match_optax():
    A.assert_cases_match_optax(DEFAULTS[:1], jit=False, steps=50)


def test_float64_defaults_match_optax(x64):
    A.assert_cases_match_optax(DEFAULTS, dtype=jnp.float64)


def test_first_steps_follow_the_paper():
    """Step 0 only measures v (u = 0); step 1 divides by √v_0 = |g_0| and clips
    to ±1 (= 1^¼), then averages with β₁."""
    tx = jol.contrib.scale_by_adopt(b1=0.9, b2=0.5)
    g0, g1 = jnp.asarray([2.0, -0.5, 0.0]), jnp.asarray([1.0, 3.0, -4.0])
    (u0, u1), state = helpers.run_updates(tx, [g0, g1])
    np.testing.assert_array_equal(u0, 0.0)
    normed = np.clip(np.asarray(g1) / np.maximum(np.abs(np.asarray(g0)), 1e-6), -1, 1)
    np.testing.assert_allclose(u1, 0.1 * normed, rtol=1e-6)
    np.testing.assert_allclose(
        state.nu, 0.5 * np.asarray(g0) ** 2 + 0.5 * np.asarray(g1) ** 2
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"eps": 0.0}, ValueError, "`eps` must be positive"),
        ({"b2": 1.0}, ValueError, "`b2` must lie in [0, 1)"),
        ({"use_clipping": 1}, TypeError, "`use_clipping` must be True or False"),
        ({"clip_value_fn": 2.0}, TypeError, "`clip_value_fn` must be a function"),
    ],
)
def test_bad_hyperparameters_are_refused_at_construction(kwargs, error, message):
    with pytest.raises(error, match=r"^adopt:") as info:
        jol.contrib.adopt(0.1, **kwargs)
    assert message in str(info.value)


def test_state_dtypes_are_stable_under_scan():
    tx = jol.contrib.adopt(0.1, mu_dtype=jnp.bfloat16)
    params = jnp.ones(3)

    def step(state, g):
        return tx.update(g, state, params)[1], None

    state, _ = jax.lax.scan(step, tx.init(params), jnp.ones((4, 3)))
    assert state[0].mu.dtype == jnp.bfloat16 and state[0].nu.dtype == jnp.float32


def test_complex_parameters_need_use_clipping_false():
    params = jnp.ones(2, jnp.complex64)
    with pytest.raises(TypeError, match="^adopt: complex parameters are not supported"):
        jol.contrib.adopt(0.1).init(params)
    tx = jol.contrib.adopt(0.1, use_clipping=False)
    u, _ = tx.update(params, tx.init(params), params)
    assert u.dtype == jnp.complex64
