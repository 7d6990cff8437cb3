"""The muon claim's experiment (the claim and its verdict: `lessons.muon`).

SGD with momentum, AdamW and Muon (`optimizer`) train a 64-128-128-10 ReLU
MLP on the digits at every learning rate of `LEARNING_RATES`, from the same
He-initialised weights and on the same batches. One compiled program
(`program`) serves the three methods: the method's index and the learning
rates are traced settings, and `sweeps.switch` runs the chosen method only
(``lax.switch``); `train_grid` runs it with `sweeps.sweep`. The program
records the whole training loss every `EVERY` steps and the update of the
128x128 hidden matrix at `RECORD_STEPS`; `spectrum_stats` reads an update's
singular values (largest / median, effective rank).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons import contrib, sweeps
from jaxopt_lessons.problems import datasets, mlp

METHODS = ("SGD+momentum", "AdamW", "Muon")
SIZES = (64, 128, 128, 10)
HIDDEN = 1  # the layer whose 128x128 matrix's updates are recorded
LEARNING_RATES = np.logspace(-3.5, 0, 8)
SPACING = 0.5  # decades between neighbouring learning rates
STEPS = 300  # as in lr_sensitivity: about 14 epochs
BATCH = 64
EVERY = 20  # steps between two evaluations of the whole training loss
RECORD_STEPS = (10, 100, STEPS)


def optimizer(name: str, lr, adam_lr) -> optax.GradientTransformation:
    """The method called `name` (one of `METHODS`) at a traceable `lr`.

    `adam_lr` is the learning rate of Muon's Adam part (the biases).
    """
    if name == "SGD+momentum":
        return jol.sgd(lr, momentum=0.9)
    if name == "AdamW":
        return jol.adamw(lr)
    if name == "Muon":
        return contrib.muon(lr, adam_learning_rate=adam_lr)
    raise ValueError(f"muon.optimizer: `name` must be one of {METHODS}, got {name!r}.")


def program(setting: dict, params0, data: dict, key: jax.Array) -> dict:
    """Trains the digits MLP with one method at one setting, all traced.

    Args:
        setting: ``method`` (index into `METHODS`), ``lr``, ``adam_lr``.
        params0: the starting parameters.
        data: ``x_train``, ``y_train``, ``x_test``, ``y_test``.
        key: the key of the batch sequence.

    Returns:
        ``curve`` (the whole training loss at steps 0, EVERY, ..., STEPS),
        ``test_acc`` (after training) and ``updates`` (the hidden matrix's
        update at each of RECORD_STEPS).
    """
    lr, adam_lr = setting["lr"], setting["adam_lr"]
    opt = sweeps.switch([optimizer(n, lr, adam_lr) for n in METHODS], setting["method"])
    x, y = data["x_train"], data["y_train"]
    batches = jax.random.randint(key, (STEPS // EVERY, EVERY, BATCH), 0, x.shape[0])
    record = jnp.asarray(RECORD_STEPS)

    def step(carry, batch):
        params, state, kept, k = carry
        grads = jax.grad(mlp.loss)(params, x[batch], y[batch])
        updates, state = opt.update(grads, state, params)
        k = k + 1
        kept = jnp.where((k == record)[:, None, None], updates[HIDDEN]["w"], kept)
        return (optax.apply_updates(params, updates), state, kept, k), None

    def chunk(carry, batch_chunk):
        carry, _ = jax.lax.scan(step, carry, batch_chunk)
        return carry, mlp.loss(carry[0], x, y)

    kept = jnp.zeros((len(RECORD_STEPS), *params0[HIDDEN]["w"].shape))
    start = (params0, opt.init(params0), kept, jnp.int32(0))
    (params, _, kept, _), curve = jax.lax.scan(chunk, start, batches)
    return {
        "curve": jnp.concatenate([mlp.loss(params0, x, y)[None], curve]),
        "test_acc": mlp.accuracy(params, data["x_test"], data["y_test"]),
        "updates": kept,
    }


def train_grid(seed: int) -> dict:
    """Every method at every grid lr on seed `seed`: curves, accuracies, updates.

    One compiled program (`program`) serves the three methods. Muon's Adam
    part runs at AdamW's best lr, so SGD and AdamW run first.
    """
    d = datasets.load_digits(seed)
    data = {"x_train": d.x_train, "y_train": d.y_train}
    data |= {"x_test": d.x_test, "y_test": d.y_test}
    init_key, batch_key = jax.random.split(jax.random.PRNGKey(seed))
    params0 = mlp.init(init_key, SIZES)
    n = LEARNING_RATES.size
    first = {"method": np.repeat([0, 1], n), "lr": np.tile(LEARNING_RATES, 2)}
    res = sweeps.sweep(
        program, first | {"adam_lr": np.ones(2 * n)}, params0, data, batch_key
    )
    adam_lr = float(LEARNING_RATES[np.argmin(res.outputs["curve"][n:, -1])])
    muon_rows = {
        "method": np.full(n, 2),
        "lr": LEARNING_RATES,
        "adam_lr": np.full(n, adam_lr),
    }
    rows = [
        res.outputs,
        sweeps.sweep(program, muon_rows, params0, data, batch_key).outputs,
    ]
    both = jax.tree.map(lambda a, b: np.concatenate([a, b]), *rows)
    both["curve"] = np.where(np.isfinite(both["curve"]), both["curve"], np.inf)
    out = {
        name: jax.tree.map(lambda a, i=i: a[i * n : (i + 1) * n], both)
        for i, name in enumerate(METHODS)
    }
    out["method"] = res.method
    return out


def spectrum_stats(singular_values) -> tuple[float, float]:
    """``(σ_max / σ_median, effective rank)`` of one update's singular values.

    The effective rank is exp(−Σ pᵢ log pᵢ) with pᵢ = σᵢ / Σσ (Roy and
    Vetterli, 2007): n for n equal singular values, 1 for a rank-one matrix.
    """
    s = np.asarray(singular_values, np.float64)
    p = s[s > 0] / s.sum()
    median = np.median(s)
    ratio = s.max() / median if median > 0 else np.inf
    return float(ratio), float(np.exp(-np.sum(p * np.log(p))))
