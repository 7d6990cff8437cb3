"""`scale_by_sign`, `sign_sgd` and `signum`: by hand and validation."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol


def test_sign_by_hand():
    g = jnp.array([-3.0, 0.0, 1e-6, 5e3])
    tx = jol.scale_by_sign()
    u, _ = tx.update(g, tx.init(g))
    np.testing.assert_array_equal(u, [-1.0, 0.0, 1.0, 1.0])


def test_signum_follows_the_sign_of_the_average():
    opt = jol.signum(0.1, beta=0.5)
    state = opt.init(jnp.zeros(2))
    grads = [jnp.array([4.0, 1.0]), jnp.array([-1.0, 1.0])]
    m = np.zeros(2)
    for g in grads:
        u, state = opt.update(g, state)
        m = 0.5 * m + 0.5 * np.asarray(g)
        np.testing.assert_array_equal(u, np.float32(-0.1) * np.sign(m))
    # The second gradient was negative in the first coordinate, but the
    # average (1.5) is not: Signum keeps going.
    assert float(u[0]) == pytest.approx(-0.1)


def test_validation():
    with pytest.raises(ValueError, match="sign_sgd: `learning_rate` must lie"):
        jol.sign_sgd(-1.0)
    with pytest.raises(ValueError, match=r"signum: `beta` must lie in \[0, 1\)"):
        jol.signum(0.1, beta=1.0)
    with pytest.raises(ValueError, match="`accumulator_dtype` must be a floating"):
        jol.signum(0.1, accumulator_dtype=jnp.int32)
