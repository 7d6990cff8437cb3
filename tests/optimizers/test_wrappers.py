"""Our transforms inside Optax's wrappers give the numbers Optax gives in the same wrapper."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers

STEPS = 50


@pytest.mark.parametrize(
    "name, hyperparams",
    [
        ("sgd", dict(learning_rate=0.05, momentum=0.9)),
        ("rmsprop", dict(learning_rate=0.01, decay=0.95)),
        ("adam", dict(learning_rate=0.01, b1=0.8, b2=0.99)),
        ("adamw", dict(learning_rate=0.01, b1=0.8, b2=0.99, weight_decay=0.1)),
        ("nadam", dict(learning_rate=0.01, b1=0.8, b2=0.99)),
        ("adamax", dict(learning_rate=0.01, b1=0.8, b2=0.99)),
        ("amsgrad", dict(learning_rate=0.01, b1=0.8, b2=0.99)),
        ("adagrad", dict(learning_rate=0.1, initial_accumulator_value=0.2)),
    ],
)
def test_inject_hyperparams(name, hyperparams, jit):
    ours = optax.inject_hyperparams(getattr(jol, name))(**hyperparams)
    ref = optax.inject_hyperparams(getattr(optax, name))(**hyperparams)
    helpers.assert_same_trajectory(
        ours, ref, helpers.mixed_tree(), steps=STEPS, jit=jit
    )


def test_injected_learning_rate_can_be_changed_mid_run():
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.ones(3)}
    results = []
    for module in (jol, optax):
        opt = optax.inject_hyperparams(module.adam)(learning_rate=0.1)
        state = opt.init(params)
        _, state = opt.update(grads, state, params)
        state.hyperparams["learning_rate"] = jnp.asarray(0.01)
        updates, state = opt.update(grads, state, params)
        results.append(updates["w"])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    np.testing.assert_allclose(results[0], -0.01, rtol=1e-4)


def test_inside_chain_with_optax_blocks(jit):
    def build(module):
        return optax.chain(
            optax.clip_by_global_norm(1.0),
            module.scale_by_adam(b1=0.9),
            module.add_decayed_weights(1e-2),
            module.scale_by_learning_rate(optax.cosine_decay_schedule(0.1, 100)),
        )

    helpers.assert_same_trajectory(
        build(jol), build(optax), helpers.mixed_tree(), jit=jit
    )


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_multi_steps(name):
    kwargs = dict(momentum=0.9) if name == "sgd" else {}
    ours = optax.MultiSteps(getattr(jol, name)(0.05, **kwargs), every_k_schedule=4)
    ref = optax.MultiSteps(getattr(optax, name)(0.05, **kwargs), every_k_schedule=4)
    helpers.assert_same_trajectory(ours, ref, helpers.mixed_tree(), steps=40, jit=True)


def test_multi_steps_emits_zero_until_the_kth_step():
    opt = optax.MultiSteps(jol.adam(0.1), every_k_schedule=4)
    params = {"w": jnp.ones(2)}
    state = opt.init(params)
    for k in range(4):
        updates, state = opt.update({"w": jnp.ones(2)}, state, params)
        if k < 3:
            assert float(jnp.abs(updates["w"]).sum()) == 0.0
    assert float(jnp.abs(updates["w"]).sum()) > 0.0


def test_masked_and_partition():
    params = helpers.mixed_tree()
    labels = jax.tree.map(lambda p: "matrix" if jnp.ndim(p) >= 2 else "other", params)

    def build(module):
        return optax.partition(
            {
                "matrix": module.adamw(0.01, weight_decay=0.1),
                "other": module.sgd(0.05, 0.9),
            },
            labels,
        )

    helpers.assert_same_trajectory(build(jol), build(optax), params, steps=STEPS)
    mask = jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)
    helpers.assert_same_trajectory(
        optax.masked(jol.adam(0.01), mask), optax.masked(optax.adam(0.01), mask), params
    )


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adamw"])
def test_vmap_over_learning_rates(name):
    """A batch of learning rates as one program: the same numbers as Optax."""
    learning_rates = jnp.array([1e-3, 1e-2, 1e-1])
    params = helpers.mixed_tree()
    grads = helpers.random_grads(params, 20)

    def train(module, lr):
        opt = getattr(module, name)(lr)

        def step(carry, g):
            p, s = carry
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        (p, _), _ = jax.lax.scan(step, (params, opt.init(params)), grads)
        return p

    ours = jax.jit(jax.vmap(lambda lr: train(jol, lr)))(learning_rates)
    ref = jax.jit(jax.vmap(lambda lr: train(optax, lr)))(learning_rates)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The lanes really are different runs.
    first = jax.tree.leaves(ours)[0]
    assert not np.allclose(first[0], first[2])


def test_vmap_over_momentum_and_betas():
    params = {"w": jnp.ones(4)}
    grads = {"w": jnp.linspace(-1, 1, 4)}

    def one(module, b1):
        opt = module.adam(0.1, b1=b1)
        u, _ = opt.update(grads, opt.init(params), params)
        return u["w"]

    b1s = jnp.array([0.0, 0.5, 0.9])
    np.testing.assert_allclose(
        jax.vmap(lambda b: one(jol, b))(b1s),
        jax.vmap(lambda b: one(optax, b))(b1s),
        rtol=1e-6,
    )
