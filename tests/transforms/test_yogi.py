"""`scale_by_yogi`: the additive second moment by hand, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol

G = [
    jnp.array([0.5, -1.0, 2.0]),
    jnp.array([1.5, 0.25, -2.0]),
    jnp.array([-0.5, 0.75, 0.0]),
]


def test_three_steps_by_hand():
    b1, b2, eps, v0 = 0.8, 0.5, 1e-3, 0.3
    tx = jol.scale_by_yogi(b1, b2, eps, initial_accumulator_value=v0)
    state = tx.init(G[0])
    m = v = np.full(3, v0)
    for t, g in enumerate(G, start=1):
        u, state = tx.update(g, state)
        g = np.asarray(g, np.float64)
        m = b1 * m + (1 - b1) * g
        v = v - (1 - b2) * np.sign(v - g**2) * g**2
        want = m / (1 - b1**t) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(u, want, rtol=1e-5)
    np.testing.assert_allclose(state.nu, v, rtol=1e-6)


def test_second_moment_falls_slowly_after_a_burst():
    # After large gradients (v = 100), one small gradient g = 1: Adam's v would
    # fall to 0.5 * 100 + 0.5 * 1 = 50.5; Yogi's falls by (1 − β₂) g² = 0.5.
    tx = jol.scale_by_yogi(b2=0.5, initial_accumulator_value=100.0)
    g = jnp.array([1.0])
    _, state = tx.update(g, tx.init(g))
    np.testing.assert_allclose(state.nu, [100.0 - 0.5 * 1.0])


def test_validation():
    with pytest.raises(ValueError, match=r"scale_by_yogi: `b1` must lie in \[0, 1\)"):
        jol.scale_by_yogi(b1=1.0)
    with pytest.raises(ValueError, match=r"scale_by_yogi: `b2` must lie in"):
        jol.scale_by_yogi(b2=2.0)
    with pytest.raises(ValueError, match="`eps` must lie in"):
        jol.scale_by_yogi(eps=-1e-3)
    with pytest.raises(ValueError, match="`eps_root` must lie in"):
        jol.scale_by_yogi(eps_root=-1e-3)
    with pytest.raises(
        ValueError, match="`initial_accumulator_value` must be positive"
    ):
        jol.scale_by_yogi(initial_accumulator_value=0.0)
    with pytest.raises(TypeError, match=r"yogi: `learning_rate` must be a number"):
        jol.yogi(None)
