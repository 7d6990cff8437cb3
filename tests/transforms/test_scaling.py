"""`scale`, `scale_by_schedule` and `scale_by_learning_rate`."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol

G = {"a": jnp.array([1.0, -2.0]), "b": jnp.array(4.0)}


def test_scale_by_hand():
    u, state = jol.scale(-0.5).update(G, jol.scale(-0.5).init(G))
    chex.assert_trees_all_equal(u, {"a": jnp.array([-0.5, 1.0]), "b": jnp.array(-2.0)})
    assert state == optax.EmptyState()


def test_learning_rate_flips_the_sign():
    tx = jol.scale_by_learning_rate(0.25)
    u, _ = tx.update(G, tx.init(G))
    chex.assert_trees_all_equal(u, jax.tree.map(lambda g: -0.25 * g, G))
    tx = jol.scale_by_learning_rate(0.25, flip_sign=False)
    u, _ = tx.update(G, tx.init(G))
    chex.assert_trees_all_equal(u, jax.tree.map(lambda g: 0.25 * g, G))


def test_learning_rate_none_is_identity():
    tx = jol.scale_by_learning_rate(None)
    u, _ = tx.update(G, tx.init(G))
    chex.assert_trees_all_equal(u, G)


def test_learning_rate_array_is_accepted():
    tx = jol.scale_by_learning_rate(jnp.asarray(0.5))
    u, _ = tx.update(G, tx.init(G))
    chex.assert_trees_all_equal(u["b"], jnp.array(-2.0))


def test_schedule_is_read_at_each_step():
    schedule = lambda count: 1.0 / (count + 1.0)
    tx = jol.scale_by_learning_rate(schedule)
    state = tx.init(G)
    for t in range(4):
        u, state = tx.update(G, state)
        np.testing.assert_allclose(u["b"], -4.0 / (t + 1), rtol=1e-6)
    assert int(state.count) == 4


def test_schedule_keeps_gradient_dtype():
    tx = jol.scale_by_schedule(lambda count: 0.5)
    g = {"w": jnp.ones(3, jnp.bfloat16)}
    u, _ = tx.update(g, tx.init(g))
    assert u["w"].dtype == jnp.bfloat16


@pytest.mark.parametrize(
    "lr", [-1e-3, float("nan"), float("inf"), jnp.array([0.1, -0.1])]
)
def test_rejects_bad_learning_rate(lr):
    with pytest.raises(
        ValueError, match="scale_by_learning_rate: `learning_rate` must lie in"
    ):
        jol.scale_by_learning_rate(lr)


@pytest.mark.parametrize("lr", ["0.1", True, [0.1], 1 + 2j])
def test_rejects_learning_rate_of_wrong_type(lr):
    with pytest.raises(TypeError, match="`learning_rate` must be a real number"):
        jol.scale_by_learning_rate(lr)


def test_scale_rejects_non_finite():
    with pytest.raises(ValueError, match="scale: `step_size` must lie"):
        jol.scale(float("nan"))
    with pytest.raises(
        TypeError, match="scale_by_schedule: `step_size_fn` must be callable"
    ):
        jol.scale_by_schedule(0.1)
