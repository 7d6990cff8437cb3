"""`apply_every`: Optax's parity, the rule by hand, and NaN kept within its cycle."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.optimizers import _family


@pytest.mark.parametrize("k", [1, 3])
def test_matches_optax_float32(k):
    helpers.assert_same_trajectory(
        jol.apply_every(k), optax.apply_every(k), _family.small_tree(), steps=30
    )


def test_matches_optax_float64(x64):
    helpers.assert_same_trajectory(
        optax.chain(jol.apply_every(4), jol.scale(-0.1)),
        optax.chain(optax.apply_every(4), optax.scale(-0.1)),
        _family.small_tree(jnp.float64),
        steps=30,
    )


def test_by_hand():
    tx = jol.apply_every(3)
    grads = [jnp.array([1.0, -2.0]) * (t + 1) for t in range(6)]
    updates, state = helpers.run_updates(tx, grads)
    zero = np.zeros(2)
    for t, want in enumerate([zero, zero, [6.0, -12.0], zero, zero, [15.0, -30.0]]):
        np.testing.assert_array_equal(updates[t], want)
    assert int(state.count) == 0 and isinstance(state, jol.ApplyEvery)


def test_a_nan_stays_in_its_cycle():
    """Optax multiplies the old sum by 0 at a new cycle (0 · NaN = NaN); here
    the sum restarts, so one bad batch costs one emitted update, not all."""
    grads = [jnp.array([jnp.nan]), jnp.array([1.0]), jnp.array([2.0]), jnp.array([3.0])]
    ours, _ = helpers.run_updates(jol.apply_every(2), grads)
    theirs, _ = helpers.run_updates(optax.apply_every(2), grads)
    assert np.isnan(ours[1]) and np.isnan(theirs[1])  # the cycle with the NaN
    np.testing.assert_array_equal(ours[3], [5.0])
    assert np.isnan(theirs[3])


def test_validation():
    with pytest.raises(ValueError, match="apply_every: `k` must be >= 1, got 0"):
        jol.apply_every(0)
    with pytest.raises(TypeError, match="apply_every: `k` must be an int"):
        jol.apply_every(2.0)
