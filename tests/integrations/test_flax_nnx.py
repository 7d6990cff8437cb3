"""jaxopt_lessons optimizers in a Flax NNX training loop.

The loop is NNX's usual one: a mutable `nnx.Module`, an
`nnx.Optimizer(model, tx, wrt=nnx.Param)` (`wrt` is required since Flax
0.11), and `nnx.jit` code that calls `optimizer.update(model, grads)`
(jitted apart from the gradient, which then compiles once for the file).
NNX wraps every leaf of the optimizer state in a variable; our states are
NamedTuples of arrays, as Optax's are, so they travel the same way.
"""

from __future__ import annotations

import pytest

from tests.integrations import common

pytest.importorskip("flax")
from flax import nnx  # noqa: E402


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(64, 32, rngs=rngs)
        self.out = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


def initial_model():
    """A fresh model laid out by `nnx.eval_shape`, filled with the shared weights."""
    model = nnx.eval_shape(lambda: MLP(nnx.Rngs(common.SEED)))
    w1, b1, w2, b2 = common.initial_weights()
    for variable, value in [
        (model.hidden.kernel, w1),
        (model.hidden.bias, b1),
        (model.out.kernel, w2),
        (model.out.bias, b2),
    ]:
        variable.set_value(value)
    return model


def loss_fn(model, x, y):
    return common.cross_entropy(model(x), y)


evaluate = nnx.jit(loss_fn)


# The step in two jitted halves. The gradient half does not depend on the
# optimizer, so it compiles once for every run of this file; only the
# optimizer half compiles per optimizer.
gradients = nnx.jit(nnx.value_and_grad(loss_fn))


@nnx.jit
def apply_gradients(model, optimizer, grads):
    before = nnx.as_pure(nnx.state(model, nnx.Param))  # values, not variables
    optimizer.update(model, grads)
    return common.changed(before, nnx.as_pure(nnx.state(model, nnx.Param)))


def train(tx, steps=common.STEPS, change_lr=False):
    """Trains from the shared weights; `change_lr`: cut the rate at LR_CHANGE_STEP."""
    model = initial_model()
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    # Flax's advice for loops: cache the traversal of model and optimizer.
    grad_step = nnx.cached_partial(gradients, model)
    update_step = nnx.cached_partial(apply_gradients, model, optimizer)
    first = float(evaluate(model, *common.full_data()))
    moved = []
    for step in range(steps):
        if change_lr and step == common.LR_CHANGE_STEP:
            # Each leaf of the state is an NNX variable: assign in place.
            hyperparams = optimizer.opt_state.hyperparams
            hyperparams["learning_rate"][...] = common.new_learning_rate()
        _, grads = grad_step(*common.batch(step))
        moved.append(update_step(grads))
    final = float(evaluate(model, *common.full_data()))
    params = nnx.as_pure(nnx.state(model, nnx.Param))
    opt_state = nnx.as_pure(optimizer.opt_state)
    return common.Run(common.flat(params), first, final, moved), params, opt_state


class TestFlaxNNX(common.TrainingLoopTests):
    train = staticmethod(train)
