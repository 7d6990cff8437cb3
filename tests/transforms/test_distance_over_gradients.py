"""`scale_by_distance_over_gradients` (layer-wise DoG): Optax's parity, by hand,
and the two deliberate differences (0-d leaves, dtypes)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.optimizers import _family


def test_matches_optax_float32():
    helpers.assert_same_trajectory(
        jol.scale_by_distance_over_gradients(global_scale=-1.0),
        optax.scale_by_distance_over_gradients(global_scale=-1.0),
        _family.small_tree_without_scalars(),
        steps=30,
    )


def test_matches_optax_float64(x64):
    kwargs = dict(reps_rel=1e-4, param_dtype=jnp.float64, global_scale=-0.5)
    helpers.assert_same_trajectory(
        jol.scale_by_distance_over_gradients(**kwargs),
        optax.scale_by_distance_over_gradients(**kwargs),
        _family.small_tree_without_scalars(jnp.float64),
        steps=30,
    )


def test_by_hand():
    """Two steps: r₀ = r_rel (1 + ‖x₀‖), then r = max(r, ‖x − x₀‖)."""
    x0 = jnp.array([3.0, 4.0])
    tx = jol.scale_by_distance_over_gradients(reps_rel=0.1, eps=0.0 + 1e-8)
    state = tx.init(x0)
    g1 = jnp.array([1.0, 0.0])
    u1, state = tx.update(g1, state, x0)
    r0 = 0.1 * (1 + 5.0)
    np.testing.assert_allclose(u1, r0 / np.sqrt(1.0 + 1e-8) * np.asarray(g1), rtol=1e-6)
    x1 = x0 - jnp.array([2.0, 0.0])  # moved 2 > r0
    g2 = jnp.array([0.0, 2.0])
    u2, state = tx.update(g2, state, x1)
    np.testing.assert_allclose(
        u2, 2.0 / np.sqrt(5.0 + 1e-8) * np.asarray(g2), rtol=1e-6
    )
    assert state.grad_sum_of_squares.shape == (1,)  # Optax's layout


def test_scalar_parameters_keep_their_shape():
    """Optax returns a (1,)-shaped update for a 0-d parameter, which
    `apply_updates` broadcasts into a parameter of shape (1,)."""
    params = {"s": jnp.asarray(2.0), "v": jnp.ones(3)}
    grads = {"s": jnp.asarray(0.5), "v": jnp.ones(3)}
    ours = jol.scale_by_distance_over_gradients()
    u, _ = ours.update(grads, ours.init(params), params)
    assert u["s"].shape == ()
    theirs = optax.scale_by_distance_over_gradients()
    v, _ = theirs.update(grads, theirs.init(params), params)
    assert v["s"].shape == (1,)
    np.testing.assert_allclose(u["s"], v["s"][0], rtol=1e-6)


def test_bfloat16_updates_stay_bfloat16():
    params = jax.tree.map(lambda x: x.astype(jnp.bfloat16), {"v": jnp.ones(4)})
    tx = jol.scale_by_distance_over_gradients()
    u, _ = tx.update(params, tx.init(params), params)
    assert u["v"].dtype == jnp.bfloat16


def test_validation():
    with pytest.raises(ValueError, match="`reps_rel` must be positive"):
        jol.scale_by_distance_over_gradients(reps_rel=0.0)
    with pytest.raises(ValueError, match="`param_dtype` must be a floating"):
        jol.scale_by_distance_over_gradients(param_dtype=jnp.int32)
    tx = jol.scale_by_distance_over_gradients()
    with pytest.raises(TypeError, match="`update` needs `params`"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
