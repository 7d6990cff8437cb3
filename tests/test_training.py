"""The train-step helpers: the same numbers as a hand-written loop, with donation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import training
from jaxopt_lessons.grouping import group, grouped
from tests import helpers


def _problem():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((32, 4)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((32, 1)), jnp.float32)
    params = {
        "w": jnp.asarray(rng.standard_normal((4, 1)), jnp.float32),
        "b": jnp.zeros(1),
    }

    def loss_fn(params, x, y):
        return jnp.mean((x @ params["w"] + params["b"] - y) ** 2)

    return params, loss_fn, x, y


def _reference(params, loss_fn, x, y, steps):
    tx = optax.adam(1e-2)
    state = tx.init(params)
    losses = []
    for _ in range(steps):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        losses.append(float(loss))
    return params, losses


def _close(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=helpers.F32.rtol, atol=helpers.F32.atol)


@pytest.mark.parametrize("use_groups", [False, True], ids=["per-leaf", "grouped"])
def test_train_step_matches_a_hand_written_loop(use_groups):
    params, loss_fn, x, y = _problem()
    ref_params, ref_losses = _reference(params, loss_fn, x, y, 5)
    tx = jol.adam(1e-2)
    if use_groups:
        params, tx = group(params), grouped(tx)
    step = training.make_train_step(loss_fn, tx)
    state = tx.init(params)
    losses = []
    for _ in range(5):
        old = jax.tree.leaves(params)[0]
        params, state, loss = step(params, state, x, y)
        assert old.is_deleted()  # the params were donated
        losses.append(float(loss))
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5)
    _close(params.ungroup() if use_groups else params, ref_params)


def test_train_step_with_aux_and_without_donation_or_jit():
    params, loss_fn, x, y = _problem()
    tx = jol.sgd(0.1, momentum=0.9)

    def with_aux(p, x, y):
        return loss_fn(p, x, y), {"scale": jnp.abs(p["w"]).sum()}

    state = tx.init(params)
    kept = params["w"]
    step = training.make_train_step(with_aux, tx, has_aux=True, donate=False)
    out = step(params, state, x, y)
    assert len(out) == 4 and "scale" in out[3]
    assert not kept.is_deleted()
    eager = training.make_train_step(with_aux, tx, has_aux=True, jit=False)
    _close(eager(params, state, x, y)[0], out[0])


def test_apply_step_matches_update_then_apply():
    params = helpers.mixed_tree()
    grads = jax.tree.map(lambda x: x[0], helpers.random_grads(params, 1))
    tx = jol.rmsprop(1e-2)
    updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
    expected = optax.apply_updates(params, updates)
    step = training.make_apply_step(tx, donate=False)
    new, _ = step(params, tx.init(params), grads)
    _close(new, expected)


def test_bad_arguments():
    with pytest.raises(TypeError, match="make_train_step: `loss_fn` must be callable"):
        training.make_train_step(3, jol.sgd(0.1))
    with pytest.raises(TypeError, match="make_train_step: `tx` must be"):
        training.make_train_step(lambda p: 0.0, "sgd")
    with pytest.raises(
        TypeError, match="make_apply_step: `donate` must be True or False"
    ):
        training.make_apply_step(jol.sgd(0.1), donate=1)


@pytest.mark.parametrize("maker", ["train", "apply"])
def test_reusing_donated_arrays_says_what_happened_and_what_to_do(maker):
    params, loss_fn, x, y = _problem()
    tx = jol.adam(1e-2)
    state = tx.init(params)
    if maker == "train":
        step, args = training.make_train_step(loss_fn, tx), (x, y)
    else:
        step = training.make_apply_step(tx)
        args = (jax.grad(loss_fn)(params, x, y),)
    step(params, state, *args)  # donates params and state
    with pytest.raises(RuntimeError, match="donated") as info:
        step(params, state, *args)  # the old, deleted arrays again
    message = str(info.value)
    assert message.startswith(f"make_{maker}_step: ")
    assert "jnp.copy" in message and "donate=False" in message
    # the wrapped step is still a jitted function
    assert hasattr(step, "lower")


def test_the_loss_reaches_an_optimizer_that_needs_it():
    """Polyak's step size needs the loss: `make_train_step` passes it as `value=`."""
    params, loss_fn, x, y = _problem()
    tx = jol.polyak_sgd(max_learning_rate=1.0)
    step = training.make_train_step(loss_fn, tx, donate=False)
    new, _, loss = step(params, tx.init(params), x, y)
    grads = jax.grad(loss_fn)(params, x, y)
    expected, _ = tx.update(grads, tx.init(params), params, value=loss)
    _close(new, optax.apply_updates(params, expected))
    # ... also to a grouped one, and with `has_aux`
    aux_step = training.make_train_step(
        lambda p, x, y: (loss_fn(p, x, y), 0.0), grouped(tx), has_aux=True, donate=False
    )
    grouped_new, _, _, _ = aux_step(params, grouped(tx).init(params), x, y)
    _close(grouped_new, new)


def test_lbfgs_trains_with_the_loss_function_it_needs():
    """L-BFGS's line search evaluates the loss along the update: the step
    passes `value=`, `grad=` and `value_fn=` (the loss on the batch), and
    follows a hand-written `optax.lbfgs` loop."""
    params, loss_fn, x, y = _problem()
    tx, ref_tx = jol.lbfgs(), optax.lbfgs()
    step = training.make_train_step(loss_fn, tx, donate=False)
    bound = lambda p: loss_fn(p, x, y)  # noqa: E731

    @jax.jit
    def ref_step(p, s):
        value, grads = jax.value_and_grad(bound)(p)
        u, s = ref_tx.update(grads, s, p, value=value, grad=grads, value_fn=bound)
        return optax.apply_updates(p, u), s

    state, ref_params, ref_state = tx.init(params), params, ref_tx.init(params)
    for _ in range(3):
        params, state, _ = step(params, state, x, y)
        ref_params, ref_state = ref_step(ref_params, ref_state)
        _close(params, ref_params)
    assert float(bound(params)) < 0.5 * float(bound(_problem()[0]))
    # with `has_aux`, value_fn is the loss alone
    aux_step = training.make_train_step(
        lambda p, x, y: (loss_fn(p, x, y), {"n": 0}), tx, has_aux=True, donate=False
    )
    start = _problem()[0]
    aux_params, _, _, _ = aux_step(start, tx.init(start), x, y)
    first, _ = ref_step(start, ref_tx.init(start))
    _close(aux_params, first)
