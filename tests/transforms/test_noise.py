"""`add_noise` and `noisy_sgd`: Optax's keys and noise, the variance, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol


def _updates(tx, grads, steps):
    state = tx.init(grads)
    update = jax.jit(tx.update)
    out = []
    for _ in range(steps):
        u, state = update(grads, state)
        out.append(u)
    return out, state


@pytest.mark.parametrize(
    "key", [0, 7, np.int32(3), jax.random.key(11)], ids=["0", "7", "np", "typed"]
)
def test_same_noise_as_optax_for_the_same_key(key):
    grads = {"a": jnp.zeros((3, 2)), "b": [jnp.zeros(4), jnp.zeros(())]}
    ours, state = _updates(jol.add_noise(0.5, 0.55, key), grads, 3)
    ref, ref_state = _updates(optax.add_noise(0.5, 0.55, key), grads, 3)
    for a, b in zip(ours, ref):
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(
        jax.random.key_data(state.rng_key), jax.random.key_data(ref_state.rng_key)
    )


def test_seed_is_the_deprecated_name_of_key():
    grads = jnp.zeros(5)
    with pytest.warns(DeprecationWarning, match="`seed` is deprecated"):
        ours = jol.noisy_sgd(1.0, seed=4)
    with pytest.warns(DeprecationWarning):
        ref = optax.noisy_sgd(1.0, seed=4)
    np.testing.assert_array_equal(
        _updates(ours, grads, 2)[0][1], _updates(ref, grads, 2)[0][1]
    )
    with pytest.warns(UserWarning, match="no `key` given; using seed 0"):
        default = jol.add_noise(1.0, 0.0)
    np.testing.assert_array_equal(
        _updates(default, grads, 1)[0][0],
        _updates(jol.add_noise(1.0, 0.0, 0), grads, 1)[0][0],
    )


def test_noise_variance_decays_as_eta_over_t_to_the_gamma():
    eta, gamma, t = 4.0, 0.5, 9
    tx = jol.add_noise(eta, gamma, key=1)
    u = _updates(tx, jnp.zeros(200_000), t)[0][-1]
    np.testing.assert_allclose(np.std(u), np.sqrt(eta / t**gamma), rtol=1e-2)


def test_validation():
    with pytest.raises(ValueError, match="add_noise: `eta` must lie"):
        jol.add_noise(-1.0, 0.5, key=0)
    with pytest.raises(ValueError, match="add_noise: `gamma` must lie"):
        jol.add_noise(1.0, float("nan"), key=0)
    with pytest.raises(ValueError, match="give `key` or `seed`, not both"):
        with pytest.warns(DeprecationWarning):
            jol.add_noise(1.0, 0.5, key=0, seed=1)
    with pytest.raises(TypeError, match="`key` must be a key from jax.random.key"):
        jol.add_noise(1.0, 0.5, key="0")
    with pytest.raises(TypeError, match="`key` must be a key"):
        jol.add_noise(1.0, 0.5, key=1.5)
    with pytest.raises(ValueError, match="noisy_sgd: `learning_rate` must lie"):
        jol.noisy_sgd(-0.1, key=0)
