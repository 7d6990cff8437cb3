"""`scale_by_lion`: steps by hand, modes, dtypes and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol

G = [jnp.array([0.5, -1.0, 2.0, 0.0]), jnp.array([-1.5, 0.25, -2.0, 3.0])]


@pytest.mark.parametrize("mode", ["hard", "smooth", "refined"])
def test_two_steps_by_hand(mode):
    b1, b2, s = 0.5, 0.75, 2.0
    tx = jol.scale_by_lion(b1, b2, mode=mode, smooth_beta=s)
    state = tx.init(G[0])
    m = np.zeros(4)
    for g in G:
        u, state = tx.update(g, state)
        c = b1 * m + (1 - b1) * np.asarray(g, np.float64)
        want = {
            "hard": np.sign(c),
            "smooth": np.tanh(s * c),
            "refined": np.where(np.abs(c) < 1, c, np.sign(c)),
        }[mode]
        np.testing.assert_allclose(u, want, rtol=1e-6, atol=1e-7)
        m = b2 * m + (1 - b2) * np.asarray(g, np.float64)
        np.testing.assert_allclose(state.mu, m, rtol=1e-6)
    assert int(state.count) == 2


def test_every_coordinate_moves_by_the_same_amount():
    tx = jol.scale_by_lion()
    g = jnp.array([1e-4, -3.0, 1e4])
    u, _ = tx.update(g, tx.init(g))
    np.testing.assert_array_equal(u, np.sign(g))


def test_mu_dtype_is_honoured():
    params = jnp.ones(3, jnp.bfloat16)
    tx = jol.scale_by_lion(mu_dtype=jnp.float32)
    u, state = tx.update(params, tx.init(params))
    assert state.mu.dtype == jnp.float32 and u.dtype == jnp.float32
    u, state = jol.scale_by_lion().update(params, jol.scale_by_lion().init(params))
    assert state.mu.dtype == jnp.bfloat16 and u.dtype == jnp.bfloat16


def test_validation():
    with pytest.raises(ValueError, match=r"scale_by_lion: `b1` must lie in \[0, 1\]"):
        jol.scale_by_lion(b1=1.5)
    jol.scale_by_lion(b1=1.0)  # the step then follows the momentum alone
    with pytest.raises(ValueError, match=r"scale_by_lion: `b2` must lie in \[0, 1\)"):
        jol.scale_by_lion(b2=1.0)
    with pytest.raises(ValueError, match="scale_by_lion: `mode` must be one of"):
        jol.scale_by_lion(mode="soft")
    with pytest.raises(ValueError, match="`smooth_beta` must be positive"):
        jol.scale_by_lion(mode="smooth", smooth_beta=0.0)
    with pytest.raises(ValueError, match="`mu_dtype` must be a floating"):
        jol.scale_by_lion(mu_dtype=jnp.int32)
    with pytest.raises(TypeError, match=r"params\['n'\] has dtype int32"):
        jol.scale_by_lion().init({"n": jnp.arange(2)})
    with pytest.raises(ValueError, match="structure of `updates` does not match"):
        jol.scale_by_lion().update(
            {"a": jnp.ones(2)}, jol.scale_by_lion().init({"b": jnp.ones(2)})
        )
