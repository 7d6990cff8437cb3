"""jaxopt_lessons optimizers in a Flax linen training loop.

The loop is linen's usual one: a parameter dict laid out as `Module.init`
lays it out, a `flax.training.train_state.TrainState` holding it with the
optimizer and its state, and jitted code that calls `state.apply_gradients`,
which runs `tx.update` and `optax.apply_updates` on our transforms unchanged.
(The step is jitted in two halves, gradient and update, only so that the
gradient half compiles once for the whole file; notebook 07 shows the usual
single jitted step.)
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax
import pytest

from tests.integrations import common

pytest.importorskip("flax")
from flax import linen as nn  # noqa: E402
from flax.training.train_state import TrainState  # noqa: E402


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(32, name="hidden")(x))
        return nn.Dense(10, name="out")(x)


# One module object for every run: `apply_fn` is part of the jitted step's
# cache key, so a fresh `MLP().apply` per run would compile the step again.
model = MLP()


@functools.cache
def initial_params():
    w1, b1, w2, b2 = common.initial_weights()
    params = {"hidden": {"kernel": w1, "bias": b1}, "out": {"kernel": w2, "bias": b2}}
    # The same layout as `model.init` would give (traced only, nothing drawn).
    x = jnp.zeros((1, 64), jnp.float32)
    layout = jax.eval_shape(model.init, jax.random.key(common.SEED), x)["params"]
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, layout)
    return params


def loss_fn(params, x, y):
    return common.cross_entropy(model.apply({"params": params}, x), y)


evaluate = jax.jit(loss_fn)


# The step in two jitted halves. The gradient half does not depend on the
# optimizer, so it compiles once for every run of this file; only the
# optimizer half, `TrainState.apply_gradients`, compiles per optimizer.
gradients = jax.jit(jax.value_and_grad(loss_fn))


@jax.jit
def apply_gradients(state, grads):
    new_state = state.apply_gradients(grads=grads)
    return new_state, common.changed(state.params, new_state.params)


def train(tx, steps=common.STEPS, change_lr=False):
    """Trains from the fixed initial weights; `change_lr`: cut it at LR_CHANGE_STEP."""
    state = TrainState.create(apply_fn=model.apply, params=initial_params(), tx=tx)
    x_all, y_all = common.full_data()
    first = float(evaluate(state.params, x_all, y_all))
    moved = []
    for step in range(steps):
        if change_lr and step == common.LR_CHANGE_STEP:
            opt_state = optax.tree.set(
                state.opt_state, learning_rate=common.new_learning_rate()
            )
            state = state.replace(opt_state=opt_state)
        _, grads = gradients(state.params, *common.batch(step))
        state, step_moved = apply_gradients(state, grads)
        moved.append(step_moved)
    final = float(evaluate(state.params, x_all, y_all))
    run = common.Run(common.flat(state.params), first, final, moved)
    return run, state.params, state.opt_state


class TestFlaxLinen(common.TrainingLoopTests):
    train = staticmethod(train)
