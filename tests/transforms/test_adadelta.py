"""`scale_by_adadelta` and `adadelta`: no learning rate means η = 1, downhill.

`optax.adadelta()` (0.2.8) with its default `learning_rate=None` adds +Δ and
climbs the loss (optax issue #1242 reported the older crash of the same
default). Ours descends. Shown here: steps by hand, torch.optim.Adadelta's
trajectory (whose default lr is 1.0) in float64, Optax's ascent as a strict
xfail, and parity with Optax whenever the learning rate is given (in
tests/optimizers/test_family_parity.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.optimizers import _family


def test_three_steps_by_hand():
    rho, eps = 0.5, 1e-2
    grads = [jnp.array([1.0, -2.0]), jnp.array([0.5, 0.0]), jnp.array([-1.0, 3.0])]
    tx = jol.scale_by_adadelta(rho, eps)
    state = tx.init(grads[0])
    e_g = e_x = np.zeros(2)
    for g in grads:
        u, state = tx.update(g, state)
        g = np.asarray(g, np.float64)
        e_g = rho * e_g + (1 - rho) * g**2
        step = np.sqrt(e_x + eps) / np.sqrt(e_g + eps) * g
        e_x = rho * e_x + (1 - rho) * step**2
        np.testing.assert_allclose(u, step, rtol=1e-6)
    np.testing.assert_allclose(state.e_x, e_x, rtol=1e-6)


def test_default_descends_like_learning_rate_one():
    g = jnp.array([2.0, -1.0])
    default, one = jol.adadelta(), jol.adadelta(1.0)
    u_default, _ = default.update(g, default.init(g), g)
    u_one, _ = one.update(g, one.init(g), g)
    np.testing.assert_array_equal(u_default, u_one)
    assert np.all(np.sign(u_default) == -np.sign(g))
    ref = optax.adadelta()
    u_optax, _ = ref.update(g, ref.init(g), g)
    np.testing.assert_allclose(u_optax, -u_default, rtol=1e-6)  # Optax climbs


def test_matches_torch_adadelta(x64):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    target = rng.standard_normal(5)
    opt = jol.adadelta(rho=0.8, eps=1e-4, weight_decay=0.01)
    params = jnp.zeros(5, jnp.float64)
    state = opt.init(params)
    update = jax.jit(opt.update)
    weight = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    ref = torch.optim.Adadelta([weight], rho=0.8, eps=1e-4, weight_decay=0.01)
    for _ in range(60):
        grad = np.asarray(params) - target  # gradient of ½‖θ − target‖²
        u, state = update(jnp.asarray(grad), state, params)
        params = optax.apply_updates(params, u)
        weight.grad = weight.detach() - torch.from_numpy(target)
        ref.step()
        np.testing.assert_allclose(
            params, weight.detach().numpy(), rtol=1e-12, atol=1e-14
        )


@pytest.mark.xfail(
    strict=True, reason="optax 0.2.8 adadelta(learning_rate=None) ascends (#1242)"
)
def test_optax_default_adadelta_ascends():
    helpers.assert_same_trajectory(
        jol.adadelta(), optax.adadelta(), _family.small_tree(), steps=3, jit=False
    )


def test_validation():
    with pytest.raises(ValueError, match=r"adadelta: `rho` must lie in \[0, 1\)"):
        jol.adadelta(rho=1.0)
    with pytest.raises(ValueError, match="adadelta: `eps` must be positive"):
        jol.adadelta(eps=0.0)
    with pytest.raises(ValueError, match="adadelta: `learning_rate` must lie"):
        jol.adadelta(-1.0)
    with pytest.raises(ValueError, match="adadelta: `weight_decay` must"):
        jol.adadelta(weight_decay=-0.1)
