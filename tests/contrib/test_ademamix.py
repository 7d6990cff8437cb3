"""AdEMAMix and Simplified AdEMAMix against `optax.contrib`, every step.

Each table runs 60 steps of random gradients and compares updates, every
state leaf and the parameters (`_against_optax`): jitted in float32 with
options, schedules (learning rate, weight decay, β₃ and α) and
`inject_hyperparams`; the defaults also eagerly and in float64.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests.contrib import _against_optax as A


def b3_warmup(count):
    return optax.linear_schedule(0.9, 0.999, transition_steps=30)(count)


def alpha_warmup(count):
    return optax.linear_schedule(0.0, 4.0, transition_steps=40)(count)


DEFAULTS = [
    A.call("ademamix", learning_rate=0.01),
    A.call("simplified_ademamix", learning_rate=0.01),
    A.call("scale_by_ademamix"),
    A.call("scale_by_simplified_ademamix"),
]

GRID = DEFAULTS + [
    A.call("ademamix", learning_rate=A.lr_schedule, b1=0.5, b2=0.9, b3=0.99,
           alpha=2.0, eps_root=1e-8, weight_decay=0.1, mask=A.matrices),
    A.call("ademamix", learning_rate=0.01, b3=b3_warmup, alpha=alpha_warmup,
           weight_decay=A.wd_schedule),
    A.call("simplified_ademamix", learning_rate=A.lr_schedule, b1=0.9, b2=0.99,
           alpha=2.0, eps=1e-6, eps_root=1e-10, weight_decay=0.05,
           mask=A.matrices),
    A.call("simplified_ademamix", learning_rate=0.01, alpha=alpha_warmup),
    A.injected("ademamix", learning_rate=0.01, b1=0.8, alpha=3.0,
               weight_decay=0.01),
    A.injected("simplified_ademamix", learning_rate=A.lr_schedule, alpha=1.0),
]  # fmt: skip


def test_float32_grid_matches_optax():
    A.assert_cases_match_optax(GRID)


def test_float32_eager_defaults_match_optax():
    A.assert_cases_match_optax(DEFAULTS[:2], jit=False, steps=50)


def test_float64_defaults_match_optax(x64):
    A.assert_cases_match_optax(DEFAULTS, dtype=jnp.float64)


@pytest.mark.parametrize(
    "factory, kwargs, message",
    [
        ("ademamix", {"b3": 1.0}, "`b3` must lie in [0, 1)"),
        ("ademamix", {"alpha": -1.0}, "`alpha` must lie in [0, inf)"),
        ("scale_by_ademamix", {"eps": 0.0}, "cannot both be 0"),
        ("simplified_ademamix", {"b1": 1.5}, "`b1` must lie in [0, 1)"),
        ("scale_by_simplified_ademamix", {"alpha": float("nan")}, "`alpha`"),
    ],
)
def test_bad_hyperparameters_are_refused_at_construction(factory, kwargs, message):
    fn = getattr(jol.contrib, factory)
    args = {"learning_rate": 0.1} if not factory.startswith("scale_by") else {}
    with pytest.raises(ValueError, match=r"^" + factory + ":") as info:
        fn(**args, **kwargs)
    assert message in str(info.value)


def test_mu_dtype_is_kept_where_optax_lets_it_drift():
    """Optax 0.2.8 does not cast the moments back to `mu_dtype`: after one
    step its bfloat16 state is float32, so its state cannot be a `lax.scan`
    carry. Ours keeps the dtype; its first update agrees with Optax's to
    bfloat16 rounding."""
    params = jnp.linspace(-1.0, 1.0, 5)
    grads = jnp.linspace(0.5, -2.0, 5)
    ours = jol.contrib.ademamix(0.1, mu_dtype=jnp.bfloat16)
    ref = optax.contrib.ademamix(0.1, mu_dtype=jnp.bfloat16)
    u, state = ours.update(grads, ours.init(params), params)
    u_ref, state_ref = ref.update(grads, ref.init(params), params)
    assert {state[0].m1.dtype, state[0].m2.dtype, state[0].nu.dtype} == {
        jnp.dtype(jnp.bfloat16)
    }
    assert state_ref[0].m1.dtype == jnp.float32
    np.testing.assert_allclose(u, u_ref, rtol=2e-2)

    def step(s, g):
        return ours.update(g, s, params)[1], None

    final, _ = jax.lax.scan(step, ours.init(params), jnp.stack([grads] * 3))
    assert final[0].m1.dtype == jnp.bfloat16
