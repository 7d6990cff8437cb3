"""`add_decayed_weights`: by hand, masks, schedules and validation."""

import chex
import jax.numpy as jnp
import pytest

import jaxopt_lessons as jol

PARAMS = {"kernel": jnp.array([[1.0, -2.0]]), "bias": jnp.array([4.0])}
GRADS = {"kernel": jnp.array([[0.5, 0.5]]), "bias": jnp.array([1.0])}


def test_decayed_weights_by_hand():
    tx = jol.add_decayed_weights(0.25)
    u, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    chex.assert_trees_all_equal(
        u, {"kernel": jnp.array([[0.75, 0.0]]), "bias": jnp.array([2.0])}
    )


def test_decayed_weights_mask_leaves_unmasked_leaves_alone():
    tx = jol.add_decayed_weights(0.25, mask={"kernel": True, "bias": False})
    u, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    chex.assert_trees_all_equal(u["bias"], GRADS["bias"])
    chex.assert_trees_all_equal(u["kernel"], jnp.array([[0.75, 0.0]]))


def test_decayed_weights_schedule_counts_steps():
    tx = jol.add_decayed_weights(lambda count: 0.5 * count)
    state = tx.init(PARAMS)
    u0, state = tx.update(GRADS, state, PARAMS)
    u1, state = tx.update(GRADS, state, PARAMS)
    chex.assert_trees_all_equal(u0, GRADS)  # weight decay 0 at step 0
    chex.assert_trees_all_equal(u1["bias"], jnp.array([3.0]))
    assert int(state.count) == 2


def test_decayed_weights_needs_params():
    tx = jol.add_decayed_weights(0.1)
    with pytest.raises(
        ValueError, match="add_decayed_weights: `update` needs the current `params`"
    ):
        tx.update(GRADS, tx.init(PARAMS))


def test_decayed_weights_rejects_negative_decay():
    with pytest.raises(
        ValueError, match="add_decayed_weights: `weight_decay` must lie in"
    ):
        jol.add_decayed_weights(-0.1)
