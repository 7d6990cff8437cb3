"""MADGRAD and COCOB against `optax.contrib`, every step.

Both move towards a point computed from the start x₀ (their state keeps
it), so they need the parameters; the harness passes them and applies every
update. 60 steps of random gradients, updates, every state leaf and the
parameters compared at every step (`_against_optax`): jitted in float32 with
options, schedules and `inject_hyperparams`; the defaults also eagerly and in
float64.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol
from tests.contrib import _against_optax as A

DEFAULTS = [
    A.call("madgrad", learning_rate=0.01),
    A.call("cocob"),
    A.call("scale_by_madgrad", learning_rate=0.01),
    A.call("scale_by_cocob"),
]

GRID = DEFAULTS + [
    A.call("madgrad", learning_rate=A.lr_schedule, momentum=0.0,
           weight_decay=0.01, eps=1e-4),
    A.call("madgrad", learning_rate=0.05, momentum=0.5),
    A.call("cocob", learning_rate=A.lr_schedule, alpha=10.0, eps=1e-4,
           weight_decay=A.wd_schedule, mask=A.matrices),
    A.call("cocob", learning_rate=0.5, alpha=0.0),
    A.injected("madgrad", learning_rate=A.lr_schedule, momentum=0.8),
    A.injected("cocob", learning_rate=0.5, alpha=50.0, weight_decay=0.01),
]  # fmt: skip


def test_float32_grid_matches_optax():
    A.assert_cases_match_optax(GRID)


def test_float32_eager_defaults_match_optax():
    A.assert_cases_match_optax(DEFAULTS[:2], jit=False, steps=50)


def test_float64_defaults_match_optax(x64):
    A.assert_cases_match_optax(DEFAULTS, dtype=jnp.float64)


def test_cocob_first_step_follows_the_paper():
    """Step 1 from x₀ (R = 0, θ = −g, L = max(ε, |g|), G = |g|):
    x₂ − x₀ = −g / (L · max(G + L, α·L)) · L = −g / max(2|g|, α|g|)."""
    tx = jol.contrib.scale_by_cocob(alpha=3.0, eps=1e-8)
    x = jnp.asarray([1.0, -2.0])
    g = jnp.asarray([0.5, -4.0])
    u, _ = tx.update(g, tx.init(x), x)
    np.testing.assert_allclose(
        u, -np.asarray(g) / (3.0 * np.abs(np.asarray(g))), rtol=1e-6
    )


def test_madgrad_with_no_momentum_jumps_to_the_dual_average():
    """momentum = 0: x₁ = x₀ − λ₀g / (∛(λ₀g²) + ε), λ₀ = η + ε."""
    tx = jol.contrib.scale_by_madgrad(0.1, momentum=0.0, eps=1e-6)
    x, g = jnp.asarray([1.0, -2.0]), jnp.asarray([0.5, -4.0])
    u, _ = tx.update(g, tx.init(x), x)
    lam = 0.1 + 1e-6
    want = -lam * np.asarray(g) / (np.cbrt(lam * np.asarray(g) ** 2) + 1e-6)
    np.testing.assert_allclose(u, want, rtol=1e-5)


@pytest.mark.parametrize(
    "factory, kwargs, error, message",
    [
        ("madgrad", {"learning_rate": 0.1, "momentum": 1.0}, ValueError,
         "`momentum` must lie in [0, 1)"),
        ("madgrad", {"learning_rate": 0.1, "eps": 0.0}, ValueError,
         "`eps` must be positive"),
        ("cocob", {"alpha": -1.0}, ValueError, "`alpha` must lie in [0, inf)"),
        ("cocob", {"eps": 0.0}, ValueError, "`eps` must be positive"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_are_refused_at_construction(
    factory, kwargs, error, message
):
    with pytest.raises(error, match=r"^" + factory + ":") as info:
        getattr(jol.contrib, factory)(**kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("factory", ["scale_by_madgrad", "scale_by_cocob"])
def test_update_without_params_is_refused(factory):
    kwargs = {"learning_rate": 0.1} if factory == "scale_by_madgrad" else {}
    tx = getattr(jol.contrib, factory)(**kwargs)
    x = jnp.ones(2)
    with pytest.raises(ValueError, match=f"^{factory}: `update` needs `params`"):
        tx.update(x, tx.init(x))
