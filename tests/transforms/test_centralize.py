"""`centralize`: Optax's parity and the rule by hand."""

import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from tests import helpers


def test_matches_optax():
    helpers.assert_same_trajectory(
        optax.chain(jol.centralize(), jol.scale(-0.1)),
        optax.chain(optax.centralize(), optax.scale(-0.1)),
        helpers.mixed_tree(),
        steps=10,
    )


def test_by_hand():
    """Each row (leading index) loses its own mean; vectors and scalars stay."""
    tx = jol.centralize()
    g = {"m": jnp.array([[1.0, 2.0, 6.0], [4.0, 4.0, 4.0]]), "v": jnp.array([1.0, 3.0])}
    u, state = tx.update(g, tx.init(g))
    np.testing.assert_allclose(u["m"], [[-2.0, -1.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(u["v"], g["v"])
    assert state == optax.EmptyState()
    t = jnp.arange(12.0).reshape(2, 3, 2)
    u, _ = tx.update(t, tx.init(t))
    np.testing.assert_allclose(u.reshape(2, -1).mean(axis=1), [0.0, 0.0], atol=1e-6)
