"""`scale_by_novograd`: layer-wise moments by hand, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol


def test_three_steps_by_hand():
    b1, b2, eps, wd = 0.8, 0.5, 1e-3, 0.1
    params = {"w": jnp.array([1.0, -2.0]), "s": jnp.array(0.5)}
    grads = [
        {"w": jnp.array([3.0, 4.0]), "s": jnp.array(-1.0)},
        {"w": jnp.array([0.0, 1.0]), "s": jnp.array(2.0)},
        {"w": jnp.array([1.0, 1.0]), "s": jnp.array(0.0)},
    ]
    tx = jol.scale_by_novograd(b1, b2, eps, weight_decay=wd)
    state = tx.init(params)
    for g in grads:
        u, state = tx.update(g, state, params)
    assert state.nu["w"].shape == ()  # one second moment per layer
    for key in params:
        m = v = 0.0
        for t, g in enumerate(grads, start=1):
            gk = np.asarray(g[key], np.float64)
            g_sq = float(np.sum(gk**2))
            v = g_sq if t == 1 else b2 * v + (1 - b2) * g_sq
            d = gk / (np.sqrt(v) + eps) + wd * np.asarray(params[key])
            m = d if t == 1 else b1 * m + d
        np.testing.assert_allclose(u[key], m, rtol=1e-5)
        np.testing.assert_allclose(state.nu[key], v, rtol=1e-6)


def test_step_does_not_depend_on_the_gradients_scale():
    tx = jol.scale_by_novograd(eps=0.0, eps_root=1e-30)
    g = jnp.array([3.0, -4.0])
    u_small, _ = tx.update(g, tx.init(g), g)
    u_large, _ = tx.update(1e4 * g, tx.init(g), g)
    np.testing.assert_allclose(u_small, u_large, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(u_small), 1.0, rtol=1e-6)


def test_validation():
    fn = "scale_by_novograd"
    with pytest.raises(ValueError, match=rf"{fn}: `b1` must lie in \[0, 1\)"):
        jol.scale_by_novograd(b1=1.0)
    with pytest.raises(ValueError, match=rf"{fn}: `b2` must lie in"):
        jol.scale_by_novograd(b2=-1.0)
    with pytest.raises(ValueError, match="`eps` and `eps_root` cannot both be 0"):
        jol.scale_by_novograd(eps=0.0)
    with pytest.raises(ValueError, match="novograd: `weight_decay` must lie"):
        jol.novograd(0.1, weight_decay=-0.1)
    with pytest.raises(TypeError, match="`weight_decay` must be a real number"):
        jol.novograd(0.1, weight_decay=lambda count: 0.1)
    with pytest.raises(ValueError, match="`mu_dtype` must be a floating"):
        jol.scale_by_novograd(mu_dtype=jnp.int8)
    with pytest.raises(ValueError, match=f"{fn}: `update` needs the current `params`"):
        tx = jol.scale_by_novograd()
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
