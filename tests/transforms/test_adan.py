"""`scale_by_adan`: three steps by hand, and validation."""

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
    b1, b2, b3, eps = 0.8, 0.6, 0.5, 1e-3
    tx = jol.scale_by_adan(b1, b2, b3, eps)
    state = tx.init(G[0])
    m = v = n = prev = np.zeros(3)
    for t, g in enumerate(G, start=1):
        u, state = tx.update(g, state)
        g = np.asarray(g, np.float64)
        change = g - prev if t > 1 else np.zeros(3)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * change
        n = b3 * n + (1 - b3) * (g + (1 - b2) * change) ** 2
        m_hat, v_hat, n_hat = m / (1 - b1**t), v / (1 - b2**t), n / (1 - b3**t)
        want = (m_hat + (1 - b2) * v_hat) / (np.sqrt(n_hat) + eps)
        np.testing.assert_allclose(u, want, rtol=1e-4)  # float32 vs float64 maths
        prev = g
    np.testing.assert_allclose(state.g, G[-1])
    assert int(state.t) == 3


def test_validation():
    for arg in ("b1", "b2", "b3"):
        with pytest.raises(ValueError, match=rf"scale_by_adan: `{arg}` must lie in"):
            jol.scale_by_adan(**{arg: 1.0})
    with pytest.raises(ValueError, match="`eps` and `eps_root` cannot both be 0"):
        jol.adan(0.1, eps=0.0, eps_root=0.0)
    with pytest.raises(ValueError, match="adan: `eps_root` must lie"):
        jol.adan(0.1, eps_root=-1.0)
    with pytest.raises(ValueError, match="adan: `weight_decay` must"):
        jol.adan(0.1, weight_decay=-1.0)
