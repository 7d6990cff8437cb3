"""`scale_by_belief`: AdaBelief by hand, its lesson, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol

G = [
    jnp.array([0.5, -1.0, 2.0]),
    jnp.array([1.5, 0.25, -2.0]),
    jnp.array([-0.5, 0.75, 0.0]),
]


@pytest.mark.parametrize("nesterov", [False, True])
def test_three_steps_by_hand(nesterov):
    b1, b2, eps, eps_root = 0.8, 0.5, 1e-3, 1e-4
    tx = jol.scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov)
    state = tx.init(G[0])
    m = s = np.zeros(3)
    for t, g in enumerate(G, start=1):
        u, state = tx.update(g, state)
        g = np.asarray(g, np.float64)
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps_root
        if nesterov:
            m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        else:
            m_hat = m / (1 - b1**t)
        want = m_hat / (np.sqrt(s / (1 - b2**t)) + eps)
        np.testing.assert_allclose(u, want, rtol=1e-4)
    np.testing.assert_allclose(state.nu, s, rtol=1e-5)


def test_a_steady_gradient_gets_a_larger_step_than_a_noisy_one():
    # Same gradient size; one coordinate steady, the other flipping sign.
    tx = jol.scale_by_belief(eps=1e-8)
    state = tx.init(jnp.zeros(2))
    for t in range(20):
        u, state = tx.update(jnp.array([1.0, (-1.0) ** t]), state)
    assert abs(float(u[0])) > 10 * abs(float(u[1]))


def test_validation():
    with pytest.raises(ValueError, match=r"scale_by_belief: `b1` must lie in"):
        jol.scale_by_belief(b1=1.0)
    with pytest.raises(ValueError, match=r"scale_by_belief: `b2` must lie in"):
        jol.scale_by_belief(b2=-0.1)
    with pytest.raises(ValueError, match="`eps` and `eps_root` cannot both be 0"):
        jol.scale_by_belief(eps=0.0, eps_root=0.0)
    with pytest.raises(TypeError, match="`nesterov` must be True or False"):
        jol.adabelief(0.1, nesterov="no")
