"""jaxopt_lessons optimizers in an Equinox training loop.

The loop is Equinox's usual one: the model is a pytree, `eqx.filter` keeps
its arrays, `eqx.filter_value_and_grad` differentiates with respect to them,
the optimizer sees the filtered tree, and `eqx.apply_updates` writes the
step back into the model, all under `eqx.filter_jit` (the gradient jitted
apart from the update, so that it compiles once for the file).
"""

from __future__ import annotations

import functools

import jax
import optax
import pytest

from tests.integrations import common

eqx = pytest.importorskip("equinox")


@functools.cache
def initial_model():
    """The MLP's structure from `filter_eval_shape`, filled with the shared weights."""
    key = jax.random.key(common.SEED)
    shape = eqx.filter_eval_shape(eqx.nn.MLP, 64, 10, width_size=32, depth=1, key=key)
    w1, b1, w2, b2 = common.initial_weights()
    return eqx.tree_at(
        lambda m: (
            m.layers[0].weight,
            m.layers[0].bias,
            m.layers[1].weight,
            m.layers[1].bias,
        ),
        shape,
        (w1.T, b1, w2.T, b2),  # Equinox stores (outputs, inputs)
    )


def loss_fn(model, x, y):
    return common.cross_entropy(jax.vmap(model)(x), y)


evaluate = eqx.filter_jit(loss_fn)


# The step in two jitted halves. The gradient half does not depend on the
# optimizer, so it compiles once for every run of this file; only the
# optimizer half compiles per optimizer.
gradients = eqx.filter_jit(eqx.filter_value_and_grad(loss_fn))


@eqx.filter_jit
def apply_gradients(model, opt_state, tx, grads):
    params = eqx.filter(model, eqx.is_array)
    updates, opt_state = tx.update(grads, opt_state, params)
    model = eqx.apply_updates(model, updates)
    moved = common.changed(params, eqx.filter(model, eqx.is_array))
    return model, opt_state, moved


def train(tx, steps=common.STEPS, change_lr=False):
    """Trains from the shared weights; `change_lr`: cut the rate at LR_CHANGE_STEP."""
    model = initial_model()  # immutable: every run may start from it
    opt_state = tx.init(eqx.filter(model, eqx.is_array))
    first = float(evaluate(model, *common.full_data()))
    moved = []
    for step in range(steps):
        if change_lr and step == common.LR_CHANGE_STEP:
            opt_state = optax.tree.set(
                opt_state, learning_rate=common.new_learning_rate()
            )
        _, grads = gradients(model, *common.batch(step))
        model, opt_state, step_moved = apply_gradients(model, opt_state, tx, grads)
        moved.append(step_moved)
    final = float(evaluate(model, *common.full_data()))
    params = eqx.filter(model, eqx.is_array)
    return common.Run(common.flat(params), first, final, moved), params, opt_state


class TestEquinox(common.TrainingLoopTests):
    train = staticmethod(train)
