"""Notebook 07, the optimizers in Flax linen, Flax NNX and Equinox training code.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import code, md

CELLS = [
    md("""
# 7. Using jaxopt_lessons in your training code

An optimizer from `jaxopt_lessons` is an `optax.GradientTransformation`: two
pure functions, `init(params)` and `update(grads, state, params)`. Training
libraries never look further than that pair, so our optimizers go wherever an
Optax optimizer goes. This notebook trains one small network three times, in
**Flax linen**, **Flax NNX** and **Equinox**, with one optimizer built from
`jaxopt_lessons`: AdamW whose learning rate warms up and then follows a
cosine, with weight decay on the weight matrices only.

The three runs start from the same weights and see the same minibatches, so
if the optimizer behaves the same in every framework, the three loss curves
lie on top of each other.

Where the optimizer goes in each framework:

| framework | create the optimizer state | one training step |
|---|---|---|
| Flax linen | `TrainState.create(apply_fn=..., params=..., tx=tx)` | `state.apply_gradients(grads=grads)` |
| Flax NNX | `nnx.Optimizer(model, tx, wrt=nnx.Param)` | `optimizer.update(model, grads)` |
| Equinox | `tx.init(eqx.filter(model, eqx.is_array))` | `tx.update(grads, opt_state, params)`, then `eqx.apply_updates(model, updates)` |
"""),
    code("""
import tempfile
from pathlib import Path

import equinox as eqx
import flax
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import linen as nn
from flax import nnx
from flax.training.train_state import TrainState
from IPython.display import Image, display
from sklearn.datasets import load_digits

import jaxopt_lessons as jol

print(f"jax {jax.__version__}, optax {optax.__version__}, flax {flax.__version__}, equinox {eqx.__version__}")
OUT = Path(tempfile.mkdtemp(prefix="jaxopt-lessons-"))  # plots go to a scratch folder"""),
    md("""
## 7.1 Data, schedule, optimizer, starting weights

The 1,797 handwritten digits bundled with scikit-learn (8×8 pixels, ten
classes), in minibatches of 128 drawn in one fixed shuffled order. The network
is 64 → 32 → 10 with a ReLU, trained with softmax cross-entropy.
"""),
    code("""
images, labels = load_digits(return_X_y=True)
images = np.asarray(images / 16.0, np.float32)  # pixels 0..16 -> 0..1
labels = np.asarray(labels, np.int32)

BATCH, STEPS = 128, 200
order = np.random.default_rng(0).permutation(len(images))
n_batches = len(images) // BATCH
batches = [
    (jnp.asarray(images[idx]), jnp.asarray(labels[idx]))
    for idx in np.split(order[: n_batches * BATCH], n_batches)
]


def batch(step):
    return batches[step % n_batches]


def cross_entropy(logits, y):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
"""),
    md("""
The learning rate climbs linearly from a tenth of its peak to the peak over
the first 20 steps, then falls along a half cosine back to a tenth at the last
step. A schedule is a function of the step count, and the optimizer keeps that
count in its own state, so no framework needs to know a schedule is there.

Weight decay goes on the matrices only: biases set offsets, and pulling them
towards zero does not limit what the network can fit the way shrinking its
weights does. `mask` takes a function of the parameters that marks the leaves
to decay; here, every 2-D leaf. (`jol.adamw` applies it with `optax.masked`.)

One more wrapper makes the loops easier to watch: `optax.inject_hyperparams`
moves the hyperparameters into the optimizer state, where a loop can log them
or overwrite them. A schedule given as `learning_rate` is evaluated at every
step and the value used is stored. The mask is a function too, so it is named
in `static_args`; otherwise it would be taken for a schedule and called with
the step count.
"""),
    code("""
schedule = optax.warmup_cosine_decay_schedule(
    init_value=1e-3, peak_value=1e-2, warmup_steps=20, decay_steps=STEPS, end_value=1e-3
)


def is_matrix(params):
    return jax.tree.map(lambda p: p.ndim == 2, params)


def make_optimizer():
    return optax.inject_hyperparams(jol.adamw, static_args="mask")(
        learning_rate=schedule, weight_decay=0.05, mask=is_matrix
    )


for step in (0, 10, 20, 100, STEPS - 1):
    print(f"learning rate at step {step:3d}: {float(schedule(step)):.2e}")
"""),
    md("""
One set of starting weights, drawn once with NumPy and copied into each
framework. Linen and NNX store a dense layer's kernel as (inputs, outputs);
Equinox stores the transpose, (outputs, inputs). The NNX and Equinox models
are first laid out with `eval_shape`, which builds their structure without
drawing any random numbers; our weights then fill it.
"""),
    code("""
rng = np.random.default_rng(1)


def glorot(fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)


W1, b1 = glorot(64, 32), np.zeros(32, np.float32)
W2, b2 = glorot(32, 10), np.zeros(10, np.float32)
"""),
    md("""
## 7.2 The same loop three times

Each loop is written the way its framework's documentation writes one: a
jitted step computes the loss and its gradient and hands the gradient to the
optimizer. Nothing in the three cells is specific to `jaxopt_lessons` except
`make_optimizer()`. Each loop also logs the learning rate that the optimizer
state reports.

**Flax linen.** Parameters are a nested dict; `TrainState` holds them with
the optimizer and its state, and `apply_gradients` calls `tx.update` and
`optax.apply_updates`.
"""),
    code("""
class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(32, name="hidden")(x))
        return nn.Dense(10, name="out")(x)


linen_model = LinenMLP()
params = {"hidden": {"kernel": W1, "bias": b1}, "out": {"kernel": W2, "bias": b2}}
params = jax.tree.map(jnp.asarray, params)
# The hand-made tree has the layout that init would have produced.
shapes = jax.eval_shape(linen_model.init, jax.random.key(0), images[:1])["params"]
assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, shapes)

state = TrainState.create(apply_fn=linen_model.apply, params=params, tx=make_optimizer())


@jax.jit
def linen_step(state, x, y):
    def loss_fn(params):
        return cross_entropy(state.apply_fn({"params": params}, x), y)

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    return state.apply_gradients(grads=grads), loss


linen_log = []
for step in range(STEPS):
    state, loss = linen_step(state, *batch(step))
    linen_log.append((loss, state.opt_state.hyperparams["learning_rate"]))
linen_losses, linen_lrs = np.asarray(jax.device_get(linen_log)).T
print(f"linen:   loss {linen_losses[0]:.4f} -> {linen_losses[-1]:.4f}")
"""),
    md("""
**Flax NNX.** The model is a mutable object; `nnx.Optimizer` wraps the
optimizer state (`wrt=nnx.Param` says which variables it trains, and is
required since Flax 0.11), and `optimizer.update(model, grads)` changes the
model in place. Every leaf of the optimizer state becomes an NNX variable,
read with `[...]`.
"""),
    code("""
class NnxMLP(nnx.Module):
    def __init__(self, rngs):
        self.hidden = nnx.Linear(64, 32, rngs=rngs)
        self.out = nnx.Linear(32, 10, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))


nnx_model = nnx.eval_shape(lambda: NnxMLP(nnx.Rngs(0)))  # shapes only
for variable, value in [
    (nnx_model.hidden.kernel, W1), (nnx_model.hidden.bias, b1),
    (nnx_model.out.kernel, W2), (nnx_model.out.bias, b2),
]:
    variable.set_value(jnp.asarray(value))
optimizer = nnx.Optimizer(nnx_model, make_optimizer(), wrt=nnx.Param)


@nnx.jit
def nnx_step(model, optimizer, x, y):
    def loss_fn(model):
        return cross_entropy(model(x), y)

    loss, grads = nnx.value_and_grad(loss_fn)(model)
    optimizer.update(model, grads)
    return loss


nnx_log = []
for step in range(STEPS):
    loss = nnx_step(nnx_model, optimizer, *batch(step))
    nnx_log.append((loss, optimizer.opt_state.hyperparams["learning_rate"][...]))
nnx_losses, nnx_lrs = np.asarray(jax.device_get(nnx_log)).T
print(f"NNX:     loss {nnx_losses[0]:.4f} -> {nnx_losses[-1]:.4f}")
"""),
    md("""
**Equinox.** The model is itself a pytree that mixes arrays with other
things (activation functions, sizes). `eqx.filter` keeps the arrays, which
are what the optimizer sees; `eqx.apply_updates` adds the step back into the
model. The optimizer is passed to the step as an argument: `filter_jit`
treats anything that is not an array as static.
"""),
    code("""
eqx_model = eqx.filter_eval_shape(  # shapes only
    eqx.nn.MLP, 64, 10, width_size=32, depth=1, key=jax.random.key(0)
)
eqx_model = eqx.tree_at(
    lambda m: (m.layers[0].weight, m.layers[0].bias, m.layers[1].weight, m.layers[1].bias),
    eqx_model,
    tuple(map(jnp.asarray, (W1.T, b1, W2.T, b2))),
)
tx = make_optimizer()
opt_state = tx.init(eqx.filter(eqx_model, eqx.is_array))


@eqx.filter_jit
def eqx_step(model, opt_state, tx, x, y):
    def loss_fn(model):
        return cross_entropy(jax.vmap(model)(x), y)

    loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
    params = eqx.filter(model, eqx.is_array)
    updates, opt_state = tx.update(grads, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state, loss


eqx_log = []
for step in range(STEPS):
    eqx_model, opt_state, loss = eqx_step(eqx_model, opt_state, tx, *batch(step))
    eqx_log.append((loss, opt_state.hyperparams["learning_rate"]))
eqx_losses, eqx_lrs = np.asarray(jax.device_get(eqx_log)).T
print(f"Equinox: loss {eqx_losses[0]:.4f} -> {eqx_losses[-1]:.4f}")
"""),
    md("""
## 7.3 Three frameworks, one trajectory

If the optimizer does the same thing in all three places, the runs agree up
to float32 rounding: the frameworks multiply the matrices in slightly
different ways (Equinox maps a matrix-vector product over the batch), which
can change the last bits of a step.
"""),
    code("""
curves = {"Flax linen": linen_losses, "Flax NNX": nnx_losses, "Equinox": eqx_losses}
lrs = {"Flax linen": linen_lrs, "Flax NNX": nnx_lrs, "Equinox": eqx_lrs}
expected_lrs = np.array([schedule(s) for s in range(STEPS)], np.float32)
gap = max(np.max(np.abs(c - linen_losses)) for c in curves.values())
lr_gap = max(np.max(np.abs(r - expected_lrs)) for r in lrs.values())
print(f"largest gap between the loss curves over {STEPS} steps: {gap:.1e}")
print(f"largest gap between a logged learning rate and the schedule: {lr_gap:.1e}")

final_W1 = {
    "Flax linen": np.asarray(state.params["hidden"]["kernel"]),
    "Flax NNX": np.asarray(nnx_model.hidden.kernel[...]),
    "Equinox": np.asarray(eqx_model.layers[0].weight).T,
}
for name, w in final_W1.items():
    gap = np.max(np.abs(w - final_W1["Flax linen"]))
    print(f"{name:>10}: final first-layer weights differ from linen's by at most {gap:.1e}")

fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.6))
steps = np.arange(STEPS)
ax_lr.plot(steps, expected_lrs, color="0.8", lw=6, label="schedule")
for (name, lr), style in zip(lrs.items(), ["-", "--", ":"]):
    ax_lr.plot(steps, lr, style, label=f"{name} state")
ax_lr.set(xlabel="step", ylabel="learning rate", title="warmup, then cosine decay")
ax_lr.legend()
for (name, curve), style in zip(curves.items(), ["-", "--", ":"]):
    ax_loss.plot(steps, curve, style, lw=2, label=name)
ax_loss.set(xlabel="step", ylabel="minibatch loss", yscale="log", title="jol.adamw in three frameworks")
ax_loss.legend()
fig.tight_layout()
fig.savefig(OUT / "training_code.png", dpi=80)
plt.close(fig)
display(Image(OUT / "training_code.png"))
"""),
    md("""
The curves cannot be told apart: the gaps printed above are at the level of
float32 rounding, while the loss itself falls more than tenfold. Each
framework's optimizer state also reports the learning rate the schedule
prescribes at every step.

## 7.4 Gradient accumulation, and changing a hyperparameter mid-run

Our optimizers are ordinary `GradientTransformation`s, so Optax's wrappers
take them as they take Optax's own; two are already in use above
(`optax.masked` inside `jol.adamw`, and `optax.inject_hyperparams`).
`optax.MultiSteps` accumulates gradients: the wrapped optimizer steps once
every `k` calls, on the mean of the `k` gradients, and leaves the parameters
alone in between. The inner optimizer's step count, and so the schedule,
advances once per real update: write the schedule in updates, not in
minibatches. In linen the wrapper simply goes in as `tx`.
"""),
    code("""
accumulate = optax.MultiSteps(make_optimizer(), every_k_schedule=4)
state = TrainState.create(apply_fn=linen_model.apply, params=params, tx=accumulate)
moved = []
for step in range(12):
    before = state.params["hidden"]["kernel"]
    state, _ = linen_step(state, *batch(step))
    moved.append(bool(jnp.any(state.params["hidden"]["kernel"] != before)))
print("parameters changed at steps:", [s for s, m in enumerate(moved) if m])
print("real updates so far:", int(state.opt_state.gradient_step))
"""),
    md("""
With the hyperparameters in the state, a loop can also change them: for
example, switch weight decay off for the rest of a run. `optax.tree.set`
finds the entry by name, wherever it sits in the state. The new value keeps
the stored dtype (float32): a value of another dtype would make the jitted
step compile again.
"""),
    code("""
opt_state = optax.tree.set(opt_state, weight_decay=jnp.float32(0.0))
print("weight decay in the Equinox state:", float(opt_state.hyperparams["weight_decay"]))
eqx_model, opt_state, loss = eqx_step(eqx_model, opt_state, tx, *batch(STEPS))
print(f"one more step without decay: loss {float(loss):.4f}")
"""),
    md("""
The test suite runs all of this as checks: in each of the three frameworks,
our `sgd` with momentum, `adam` and `adamw` end a few hundred steps of
training at the same weights as Optax's, and so do ours inside
`inject_hyperparams` (with a learning-rate change mid-run), `MultiSteps` and
`masked` weight decay (`tests/integrations/`).
"""),
]
