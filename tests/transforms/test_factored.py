"""Adafactor's blocks and `adafactor`: steps by hand, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol


def _decay(t, exponent=0.8):
    return 1 - (t + 1.0) ** -exponent


def test_factored_matrix_two_steps_by_hand():
    eps = 1e-3
    g1 = jnp.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])  # (2, 3): rows over axis 1
    g2 = jnp.array([[0.5, 1.0, -1.5], [2.0, -0.5, 0.25]])
    tx = jol.scale_by_factored_rms(min_dim_size_to_factor=2, epsilon=eps)
    state = tx.init(g1)
    assert state.v_row.shape == (2,) and state.v_col.shape == (3,)
    assert state.v.shape == (1,)
    r, c = np.zeros(2), np.zeros(3)
    for t, g in enumerate([g1, g2]):
        u, state = tx.update(g, state, g)
        g = np.asarray(g, np.float64)
        d = _decay(t)
        r = d * r + (1 - d) * np.mean(g**2 + eps, axis=1)
        c = d * c + (1 - d) * np.mean(g**2 + eps, axis=0)
        v_hat = np.outer(r, c) / np.mean(r)  # the rank-one fit of v
        np.testing.assert_allclose(u, g / np.sqrt(v_hat), rtol=1e-5)
    np.testing.assert_allclose(state.v_row, r, rtol=1e-6)
    assert int(state.count) == 2


def test_unfactored_leaves_keep_a_full_second_moment():
    eps, g = 1e-3, jnp.array([1.0, -2.0, 0.0])
    tx = jol.scale_by_factored_rms(decay_rate=0.5, epsilon=eps)
    state = tx.init(g)
    u, state = tx.update(g, state, g)  # β̂(0) = 0: v = g² + ε
    np.testing.assert_allclose(u, g / np.sqrt(np.asarray(g) ** 2 + eps), rtol=1e-6)
    u, state = tx.update(2 * g, state, g)  # β̂(1) = 1 − 2^−0.5
    d = _decay(1, 0.5)
    v = d * (np.asarray(g) ** 2 + eps) + (1 - d) * (4 * np.asarray(g) ** 2 + eps)
    np.testing.assert_allclose(u, 2 * np.asarray(g) / np.sqrt(v), rtol=1e-6)


def test_param_block_rms_and_adafactor_by_hand():
    params = jnp.array([3.0, -4.0])  # RMS = √12.5
    g = jnp.array([1.0, 1.0])
    tx = jol.scale_by_param_block_rms()
    u, _ = tx.update(g, tx.init(params), params)
    np.testing.assert_allclose(u, np.sqrt(12.5) * np.ones(2), rtol=1e-6)
    # adafactor's first step: g / √(g² + ε) = ±1, clipped to RMS 1, times
    # the learning rate and the parameters' RMS, downhill.
    opt = jol.adafactor(0.1)
    u, _ = opt.update(jnp.array([2.0, -0.5]), opt.init(params), params)
    np.testing.assert_allclose(
        u, -0.1 * np.sqrt(12.5) * np.array([1.0, -1.0]), rtol=1e-5
    )


def test_validation():
    fn = "scale_by_factored_rms"
    with pytest.raises(TypeError, match=f"{fn}: `factored` must be True or False"):
        jol.scale_by_factored_rms(factored=1)
    with pytest.raises(ValueError, match=f"{fn}: `decay_rate` must lie"):
        jol.scale_by_factored_rms(decay_rate=-0.8)
    with pytest.raises(ValueError, match=f"{fn}: `step_offset` must lie"):
        jol.scale_by_factored_rms(step_offset=-1)
    with pytest.raises(
        TypeError, match="`min_dim_size_to_factor` must be a Python int"
    ):
        jol.scale_by_factored_rms(min_dim_size_to_factor=2.5)
    with pytest.raises(ValueError, match="`min_dim_size_to_factor` must lie"):
        jol.scale_by_factored_rms(min_dim_size_to_factor=-1)
    with pytest.raises(ValueError, match=f"{fn}: `epsilon` must be positive"):
        jol.scale_by_factored_rms(epsilon=0.0)
    with pytest.raises(TypeError, match="`decay_rate_fn` must be callable"):
        jol.scale_by_factored_rms(decay_rate_fn=0.8)
    with pytest.raises(ValueError, match=f"{fn}: `update` needs the current `params`"):
        tx = jol.scale_by_factored_rms()
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
    with pytest.raises(ValueError, match="scale_by_param_block_rms: `min_scale` must"):
        jol.scale_by_param_block_rms(min_scale=-1.0)
    with pytest.raises(TypeError, match="`multiply_by_parameter_scale` must be True"):
        jol.adafactor(multiply_by_parameter_scale=None)
    with pytest.raises(ValueError, match="adafactor: `learning_rate` must lie"):
        jol.adafactor(-1.0)
    with pytest.raises(ValueError, match="adafactor: `clipping_threshold` must be"):
        jol.adafactor(clipping_threshold=0.0)
    with pytest.raises(ValueError, match=r"adafactor: `momentum` must lie in \[0, 1\)"):
        jol.adafactor(momentum=1.0)
