"""`scale_by_sm3`: covers by hand, scalars, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol


def test_matrix_two_steps_by_hand():
    b1, b2, eps = 0.5, 1.0, 1e-3
    g1 = jnp.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    g2 = jnp.array([[0.5, 1.0, -1.5], [2.0, -0.5, 0.25]])
    tx = jol.scale_by_sm3(b1, b2, eps)
    state = tx.init(g1)
    rows, cols, m = np.zeros(2), np.zeros(3), np.zeros((2, 3))
    for g in (g1, g2):
        u, state = tx.update(g, state)
        g = np.asarray(g, np.float64)
        nu = g**2 + np.minimum(rows[:, None], cols[None, :])  # β₂ = 1: a sum
        rows, cols = nu.max(axis=1), nu.max(axis=0)
        d = np.where(nu > 0, g / np.sqrt(nu + eps), 0.0)
        m = b1 * m + (1 - b1) * d
        np.testing.assert_allclose(u, m, rtol=1e-6)
    np.testing.assert_allclose(state.mu[0], rows, rtol=1e-6)
    np.testing.assert_allclose(state.mu[1], cols, rtol=1e-6)


def test_vectors_and_scalars_keep_a_full_accumulator():
    b2 = 0.5
    tx = jol.scale_by_sm3(b1=0.0, b2=b2, eps=0.0)
    params = {"v": jnp.array([1.0, 2.0]), "s": jnp.array(3.0)}
    state = tx.init(params)
    assert state.mu["s"][0].shape == () and state.mu["v"][0].shape == (2,)
    u, state = tx.update(params, state)
    u, state = tx.update(params, state)
    # ν = (1 − β₂) g² + β₂ ν_prev: after two steps 0.75 g², so u = g / √(0.75 g²).
    np.testing.assert_allclose(u["s"], 1 / np.sqrt(0.75), rtol=1e-6)
    np.testing.assert_allclose(state.mu["v"][0], 0.75 * np.array([1.0, 4.0]), rtol=1e-6)


def test_validation():
    with pytest.raises(ValueError, match=r"scale_by_sm3: `b1` must lie in \[0, 1\)"):
        jol.scale_by_sm3(b1=1.0)
    with pytest.raises(ValueError, match=r"scale_by_sm3: `b2` must lie in \[0, 1\]"):
        jol.scale_by_sm3(b2=1.5)
    with pytest.raises(ValueError, match="scale_by_sm3: `eps` must lie"):
        jol.scale_by_sm3(eps=-1.0)
    with pytest.raises(
        TypeError, match=r"complex parameters are not supported.*\['z'\]"
    ):
        jol.scale_by_sm3().init({"z": jnp.ones(2, jnp.complex64)})
    with pytest.raises(TypeError, match="sm3: `learning_rate` must be a number"):
        jol.sm3(lambda count: 0.1)
    with pytest.raises(ValueError, match="sm3: `learning_rate` must lie"):
        jol.sm3(-0.1)
