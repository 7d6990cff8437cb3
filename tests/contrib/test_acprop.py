"""ACProp: the update rule of the paper, and exactly where Optax 0.2.8 differs.

Optax 0.2.8 centres the gradient on the previous momentum (g_t − m_{t-1})
where the method's rule, Optax's own docstring and AdaBelief use the new one
(g_t − m_t) (Optax pull request #1716). Both rules are written out below in
NumPy, float64, with a switch for the centring: ours must follow the rule
with m_t, and Optax must follow the same NumPy code with m_{t-1}. The second
comparison shows the reference is Optax's arithmetic in everything else
(first step, bias correction of the past scale, ε placement, weight decay,
learning rate). 60 steps, every update and state leaf, jit and eager,
float32 and float64, with a learning-rate schedule, weight decay and
`inject_hyperparams`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.contrib import _against_optax as A
from tests.optimizers import _family


def reference(
    grads,
    params,
    *,
    lr,
    b1=0.9,
    b2=0.999,
    eps=1e-16,
    eps_root=1e-16,
    weight_decay=0.0,
    centre_on_new=True,
):
    """ACProp, Zhuang et al. 2021, Algorithm 2, as Optax's docstring states it:
    one leaf, float64. Returns the updates and (mu, nu) of every step."""
    g_all = np.asarray(grads, np.float64)
    x = np.asarray(params, np.float64)
    m, s = np.zeros_like(x), np.zeros_like(x)
    updates, mus, nus = [], [], []
    for t, g in enumerate(g_all, start=1):
        m_new = b1 * m + (1 - b1) * g
        centre = m_new if centre_on_new else m
        s_new = b2 * s + (1 - b2) * (g - centre) ** 2 + eps_root
        past = 1.0 if t == 1 else s / (1 - b2 ** (t - 1))
        eta = lr(t - 1) if callable(lr) else lr
        u = -eta * (g / (np.sqrt(past) + eps) + weight_decay * x)
        x = x + u
        m, s = m_new, s_new
        updates.append(u), mus.append(m), nus.append(s)
    return np.stack(updates), np.stack(mus), np.stack(nus)


def schedule(count):
    """Two constant pieces: the same number in float32 and float64 code."""
    return (
        jnp.where(count < 20, 0.02, 0.005)
        if not isinstance(count, int)
        else (0.02 if count < 20 else 0.005)
    )


SETTINGS = [
    dict(lr=0.01),
    dict(lr=schedule, b1=0.5, b2=0.9, eps=1e-6, eps_root=1e-10, weight_decay=0.1),
]


def _run(tx, dtype, jit, steps=60):
    params = jnp.asarray(np.linspace(-1.0, 1.0, 6), dtype)
    grads = helpers.random_grads(params, steps)
    updates, leaves, _ = helpers.run_trajectory(tx, params, grads, jit=jit)
    return params, grads, updates, leaves


def _factory_kwargs(setting):
    names = {"lr": "learning_rate"}
    return {names.get(k, k): v for k, v in setting.items()}


def _assert_follows(tx, setting, dtype, jit, centre_on_new):
    params, grads, updates, leaves = _run(tx, dtype, jit)
    want_u, want_mu, want_nu = reference(
        grads, params, centre_on_new=centre_on_new, **setting
    )
    # leaves: count, mu, nu of scale_by_acprop (and add_decayed_weights's
    # state, which holds no arrays for a constant decay).
    count, mu, nu = leaves[:3]
    tol = helpers.tolerance_for(dtype)
    # Float32 loses about 1e-7 per step relative to the float64 reference.
    rtol = 1e-4 if dtype == jnp.float32 else tol.rtol
    atol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_array_equal(count, np.arange(1, len(grads) + 1))
    np.testing.assert_allclose(mu, want_mu, rtol=rtol, atol=atol, err_msg="mu")
    np.testing.assert_allclose(nu, want_nu, rtol=rtol, atol=atol, err_msg="nu")
    np.testing.assert_allclose(updates, want_u, rtol=rtol, atol=atol, err_msg="updates")


@pytest.mark.parametrize("setting", SETTINGS, ids=["defaults", "options"])
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "eager"])
def test_ours_follows_the_rule_float32(setting, jit):
    _assert_follows(
        jol.contrib.acprop(**_factory_kwargs(setting)),
        setting,
        jnp.float32,
        jit,
        centre_on_new=True,
    )


@pytest.mark.parametrize("setting", SETTINGS, ids=["defaults", "options"])
def test_ours_follows_the_rule_float64(setting, x64):
    _assert_follows(
        jol.contrib.acprop(**_factory_kwargs(setting)),
        setting,
        jnp.float64,
        True,
        centre_on_new=True,
    )


@pytest.mark.parametrize("setting", SETTINGS, ids=["defaults", "options"])
def test_optax_follows_the_same_code_centred_on_the_old_momentum(setting, x64):
    _assert_follows(
        optax.contrib.acprop(**_factory_kwargs(setting)),
        setting,
        jnp.float64,
        True,
        centre_on_new=False,
    )


def test_the_difference_on_the_second_moment_of_step_one():
    """PR #1716's example: g = 1 with β₁ = 0.9, β₂ = 0.999, ε_root = 0 gives
    s_1 = 0.001 · (1 − 0.1)² = 0.00081 (Optax 0.2.8: 0.001 · 1² = 0.001)."""
    g = jnp.ones(1)
    for module, want in ((jol.contrib, 0.00081), (optax.contrib, 0.001)):
        tx = module.scale_by_acprop(eps_root=0.0, eps=1e-8)
        _, state = tx.update(g, tx.init(g))
        np.testing.assert_allclose(state.nu, want, rtol=1e-6, err_msg=module.__name__)


def test_inject_hyperparams_gives_the_same_trajectory():
    kwargs = dict(learning_rate=A.lr_schedule, b1=0.8, weight_decay=0.01)
    ours = _family.side_by_side(
        {
            "plain": jol.contrib.acprop(**kwargs),
            "injected": optax.inject_hyperparams(jol.contrib.acprop)(**kwargs),
        }
    )
    params = A.two_leaves()
    one = helpers.random_grads(params, 60)
    grads = {"plain": one, "injected": one}
    updates, _, _ = helpers.run_trajectory(
        ours, {"plain": params, "injected": params}, grads, jit=True
    )
    helpers.assert_close_every_step(
        updates["injected"], updates["plain"], helpers.F32, "injected"
    )


def test_state_class_is_optax_s():
    state = jol.contrib.acprop(0.1).init({"w": jnp.ones(2)})
    ref = optax.contrib.acprop(0.1).init({"w": jnp.ones(2)})
    assert jax.tree.structure(state) == jax.tree.structure(ref)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"b1": 1.0}, "`b1` must lie in [0, 1)"),
     ({"eps": 0.0, "eps_root": 0.0}, "cannot both be 0"),
     ({"learning_rate": -0.1}, "`learning_rate` must lie in [0, inf)")],
)  # fmt: skip
def test_bad_hyperparameters_are_refused_at_construction(kwargs, message):
    kwargs = {"learning_rate": 0.1, **kwargs}
    with pytest.raises(ValueError, match=r"^acprop:") as info:
        jol.contrib.acprop(**kwargs)
    assert message in str(info.value)
