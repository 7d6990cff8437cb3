"""`clip`, `clip_by_global_norm`, `clip_by_block_rms`, `adaptive_grad_clip`."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol


def _apply(tx, updates, params=None):
    return tx.update(updates, tx.init(updates), params)[0]


def test_clip_by_hand():
    u = _apply(jol.clip(1.5), jnp.array([-3.0, 0.5, 2.0]))
    np.testing.assert_array_equal(u, [-1.5, 0.5, 1.5])


def test_clip_by_global_norm_keeps_the_direction():
    updates = {"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}  # norm 5
    out = _apply(jol.clip_by_global_norm(1.0), updates)
    np.testing.assert_allclose(out["a"], [0.6], rtol=1e-6)
    np.testing.assert_allclose(out["b"], [[0.8]], rtol=1e-6)
    out = _apply(jol.clip_by_global_norm(5.5), updates)  # under the cap
    np.testing.assert_array_equal(out["a"], [3.0])


def test_clip_by_block_rms_is_per_leaf():
    updates = {"big": jnp.array([3.0, -3.0]), "small": jnp.array([0.1, 0.0])}
    out = _apply(jol.clip_by_block_rms(1.0), updates)
    np.testing.assert_allclose(out["big"], [1.0, -1.0], rtol=1e-6)
    np.testing.assert_array_equal(out["small"], np.float32([0.1, 0.0]))


def test_adaptive_grad_clip_by_hand():
    params = {"w": jnp.array([[3.0, 0.0], [4.0, 1.0]]), "b": jnp.zeros(2)}
    updates = {"w": jnp.array([[1.0, 1.0], [0.0, 0.0]]), "b": jnp.array([1.0, 0.0])}
    out = _apply(jol.adaptive_grad_clip(0.1, eps=0.5), updates, params)
    # Column 0 of w has ‖θ‖ = 5, ‖u‖ = 1 > 0.5: scaled to norm 0.5.
    np.testing.assert_allclose(out["w"][:, 0], [0.5, 0.0], rtol=1e-6)
    # Column 1: ‖θ‖ = 1, cap 0.1.
    np.testing.assert_allclose(out["w"][:, 1], [0.1, 0.0], rtol=1e-6)
    # b is zero: the cap is 0.1 · ε = 0.05.
    np.testing.assert_allclose(out["b"], [0.05, 0.0], rtol=1e-6)


def test_validation():
    with pytest.raises(ValueError, match="clip: `max_delta` must lie"):
        jol.clip(-1.0)
    with pytest.raises(
        ValueError, match="clip_by_global_norm: `max_norm` must be positive"
    ):
        jol.clip_by_global_norm(0.0)
    with pytest.raises(
        ValueError, match="clip_by_block_rms: `threshold` must be positive"
    ):
        jol.clip_by_block_rms(float("inf"))
    with pytest.raises(ValueError, match="adaptive_grad_clip: `clipping` must lie"):
        jol.adaptive_grad_clip(-0.1)
    with pytest.raises(ValueError, match="adaptive_grad_clip: `eps` must lie"):
        jol.adaptive_grad_clip(0.1, eps=-1.0)
    with pytest.raises(TypeError, match="`axis` must be None, an int or a tuple"):
        jol.adaptive_grad_clip(0.1, axis=1.0)
    tx = jol.adaptive_grad_clip(0.1)
    with pytest.raises(ValueError, match="`update` needs the current `params`"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
    with pytest.raises(ValueError, match="cannot tell the units of a leaf of shape"):
        x = jnp.ones((2,) * 6)
        tx.update(x, tx.init(x), x)
