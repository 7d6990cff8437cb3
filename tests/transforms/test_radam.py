"""`scale_by_radam`: the momentum phase, the rectified phase, and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol

G = [
    jnp.array([0.5, -1.0, 2.0]),
    jnp.array([1.5, 0.25, -2.0]),
    jnp.array([-0.5, 0.75, 0.0]),
]


def test_both_phases_by_hand():
    # With β₂ = 0.9, ρ_t = 1, 1.95, 2.86, 3.71, 4.51, 5.25, ...: the first five
    # steps are momentum steps, the rectified ones start at t = 6.
    b1, b2, eps = 0.8, 0.9, 1e-3
    tx = jol.scale_by_radam(b1, b2, eps)
    state = tx.init(G[0])
    m = v = np.zeros(3)
    rho_inf = 2 / (1 - b2) - 1
    phases = []
    for t in range(1, 9):
        g = G[t % 3]
        u, state = tx.update(g, state)
        g = np.asarray(g, np.float64)
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        phases.append(rho >= 5)
        if rho >= 5:
            r = np.sqrt(
                (rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)
            )
            want = r * m_hat / (np.sqrt(v_hat) + eps)
        else:
            want = m_hat
        np.testing.assert_allclose(u, want, rtol=1e-4, atol=1e-7)
    assert phases == [False] * 5 + [True] * 3


def test_first_steps_are_plain_momentum_with_default_b2():
    # ρ_t < 5 for t <= 5 when β₂ = 0.999: u_t = m̂_t, exactly the gradient at t = 1.
    tx = jol.scale_by_radam()
    g = jnp.array([1e3, -1e-3])
    u, _ = tx.update(g, tx.init(g))
    np.testing.assert_allclose(u, g, rtol=1e-6)


def test_validation():
    with pytest.raises(ValueError, match=r"scale_by_radam: `b2` must lie in \[0, 1\)"):
        jol.scale_by_radam(b2=1.0)
    with pytest.raises(ValueError, match=r"scale_by_radam: `b1` must lie in"):
        jol.scale_by_radam(b1=-0.1)
    with pytest.raises(ValueError, match="`eps` and `eps_root` cannot both be 0"):
        jol.scale_by_radam(eps=0.0)
    with pytest.raises(ValueError, match="`threshold` must lie in"):
        jol.scale_by_radam(threshold=float("nan"))
    with pytest.raises(TypeError, match="`nesterov` must be True or False"):
        jol.scale_by_radam(nesterov=1)
    with pytest.raises(ValueError, match=r"radam: `learning_rate` must lie in"):
        jol.radam(-1.0)
