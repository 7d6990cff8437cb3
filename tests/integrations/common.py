"""What the Flax and Equinox training-loop tests share.

Each framework file trains the same small network, 64 → 32 → 10 with a ReLU,
on the 8×8 digit images bundled with scikit-learn (nothing is downloaded), in
minibatches of 128, for STEPS steps, with that framework's own containers and
jit. Every run starts from the same weights (`initial_weights`, drawn once
with NumPy and copied into each framework's model), so two runs that differ
only in the optimizer's implementation must end at the same weights.

A run is summarised by a `Run`: the final parameters as a flat
`{path: array}` dict (so that a mismatch names its leaf), the full-data loss
before and after training, and which steps moved the parameters at all.

The tests themselves are written once, in `TrainingLoopTests`; each framework
file defines its `train` and a ``Test<Framework>`` subclass.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers

STEPS = 200
BATCH = 128
SEED = 0

# Ours and Optax do the same float32 algebra, possibly in a different order,
# so each step may differ by an ulp or two, and training feeds such
# differences back through the gradients. Measured here (jax 0.10.2, CPU):
# no difference at all after STEPS jitted steps, in every test of this
# folder. The bound leaves room for another backend or compiler version
# fusing the two differently, not for a different rule.
TRAINED = helpers.Tolerance(
    1e-5, 1e-6, "float32, same algebra, rounding fed back through training"
)

# Training must have happened: the full-data loss ends below this share of
# where it started. Measured (same in all three frameworks): 0.043-0.072 for
# the plain optimizers, 0.13 with the learning-rate cut, 0.32 for MultiSteps
# (a quarter as many updates).
LOSS_DROP = 0.5

# Each entry builds one optimizer from either library (`m` is jol or optax).
OPTIMIZERS = {
    "sgd_momentum": lambda m: m.sgd(0.05, momentum=0.9),
    "adam": lambda m: m.adam(3e-3),
    "adamw": lambda m: m.adamw(3e-3, weight_decay=0.1),
    # The state in flat buffers while the framework keeps its own parameter
    # tree (NNX wraps each leaf in a variable at init, not at update).
    "grouped_adam": lambda m: jol.grouped(m.adam(3e-3)) if m is jol else m.adam(3e-3),
}

# inject_hyperparams: the learning rate is cut tenfold at this step.
LR_BEFORE, LR_AFTER, LR_CHANGE_STEP = 3e-3, 3e-4, STEPS // 2

# MultiSteps: one real update every K steps, on the mean of K minibatch gradients.
K = 4

# Masked weight decay.
DECAY_LR, WEIGHT_DECAY = 3e-3, 0.1


@dataclasses.dataclass
class Run:
    params: dict[str, np.ndarray]
    first_loss: float
    final_loss: float
    moved: np.ndarray  # moved[i]: step i changed at least one parameter

    def __post_init__(self):
        self.moved = np.asarray(jax.device_get(self.moved), bool)


def flat(tree) -> dict[str, np.ndarray]:
    """`{path: array}` for every array leaf of a framework's parameter tree."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


@functools.cache
def initial_weights() -> tuple[jax.Array, ...]:
    """(W1, b1, W2, b2): Glorot-uniform matrices stored (inputs, outputs), zero biases.

    Drawn with NumPy rather than by each framework's initialisers: the models
    then start alike, and no random-number kernels need compiling.
    """
    rng = np.random.default_rng(SEED)

    def glorot(fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)

    weights = glorot(64, 32), np.zeros(32, np.float32)
    weights += glorot(32, 10), np.zeros(10, np.float32)
    return tuple(jnp.asarray(w) for w in weights)


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 digit images scaled to [0, 1], float32, and int32 labels."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return np.asarray(x / 16.0, np.float32), np.asarray(y, np.int32)


@functools.cache
def batches() -> list[tuple[jax.Array, jax.Array]]:
    """The minibatches of one epoch, in a fixed shuffled order."""
    x, y = digits()
    order = np.random.default_rng(SEED).permutation(len(x))
    count = len(x) // BATCH
    return [
        (jnp.asarray(x[idx]), jnp.asarray(y[idx]))
        for idx in np.split(order[: count * BATCH], count)
    ]


@functools.cache
def full_data() -> tuple[jax.Array, jax.Array]:
    """Every image and label, for the loss before and after training."""
    x, y = digits()
    return jnp.asarray(x), jnp.asarray(y)


def batch(step: int) -> tuple[jax.Array, jax.Array]:
    """The minibatch used at `step` (epochs repeat the same order)."""
    all_batches = batches()
    return all_batches[step % len(all_batches)]


def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def changed(old, new) -> jax.Array:
    """True when any leaf of `new` differs from `old` (for use inside jit)."""
    flags = [
        jnp.any(a != b) for a, b in zip(jax.tree.leaves(old), jax.tree.leaves(new))
    ]
    return jnp.any(jnp.stack(flags))


def injected_adam(module):
    """Adam whose learning rate lives in the state, where a loop can change it."""
    return optax.inject_hyperparams(module.adam)(learning_rate=LR_BEFORE)


def multisteps_adam(module):
    """Adam that steps once per K calls, on the mean of the K gradients."""
    return optax.MultiSteps(module.adam(3e-3), every_k_schedule=K)


def new_learning_rate():
    """LR_AFTER as the float32 array that inject_hyperparams stores (no retrace)."""
    return jnp.asarray(LR_AFTER, jnp.float32)


def masked_decay(module, weight_decay: float = WEIGHT_DECAY):
    """AdamW written out: Adam, weight decay on matrices only, learning rate.

    `module` is `jaxopt_lessons` or `optax`; the mask keeps decay off biases
    (vectors), as is usual for normalisation and bias parameters.
    """
    return optax.chain(
        module.scale_by_adam(),
        optax.masked(module.add_decayed_weights(weight_decay), matrices),
        module.scale_by_learning_rate(DECAY_LR),
    )


def matrices(params):
    """The mask: True for 2-D leaves (kernels and weights), False otherwise."""
    return jax.tree.map(lambda p: p.ndim == 2, params)


def assert_trained(run: Run) -> None:
    assert run.final_loss < LOSS_DROP * run.first_loss, (
        f"loss went from {run.first_loss:.4f} to {run.final_loss:.4f}"
    )


def assert_same_params(ours: Run, ref: Run, tol=TRAINED) -> None:
    assert ours.params.keys() == ref.params.keys()
    for name, value in ours.params.items():
        np.testing.assert_allclose(
            value, ref.params[name], rtol=tol.rtol, atol=tol.atol, err_msg=name
        )
    np.testing.assert_allclose(ours.final_loss, ref.final_loss, rtol=tol.rtol)


def assert_params_differ(a: Run, b: Run, factor: float = 100.0) -> None:
    """Some leaf differs by far more than the parity tolerance."""
    gaps = [
        np.max(np.abs(a.params[k] - b.params[k]) / (np.abs(b.params[k]) + 1e-3))
        for k in a.params
    ]
    assert max(gaps) > factor * TRAINED.rtol, f"largest relative gap {max(gaps):.2e}"


def assert_moves_every_kth_step(run: Run, k: int = K) -> None:
    expected = (np.arange(len(run.moved)) + 1) % k == 0
    np.testing.assert_array_equal(run.moved, expected)


def check_decay_only_on_matrices(params, opt_state) -> None:
    """One more step of `masked_decay(jol)` from a trained state, taken apart.

    The state of `optax.chain` is a tuple, one entry per link, so the same
    step can be taken again without the decay link. The two updates must
    agree exactly on the biases, and differ by −lr · λ · W on each matrix W.
    `params` and `opt_state` are plain trees of arrays in the framework's own
    containers.
    """
    full, plain = _with_and_without_decay(params, opt_state)
    full, plain, weights = flat(full), flat(plain), flat(params)
    assert {w.ndim for w in weights.values()} == {1, 2}  # biases and matrices
    for name, w in weights.items():
        if w.ndim == 1:
            np.testing.assert_array_equal(full[name], plain[name], err_msg=name)
        else:
            decay = full[name] - plain[name]
            # The difference of two updates of size |u| carries their rounding.
            atol = 4 * np.finfo(np.float32).eps * np.max(np.abs(full[name]))
            np.testing.assert_allclose(
                decay, -DECAY_LR * WEIGHT_DECAY * w, rtol=0, atol=atol, err_msg=name
            )
            assert np.max(np.abs(DECAY_LR * WEIGHT_DECAY * w)) > 100 * atol, name


@jax.jit
def _with_and_without_decay(params, opt_state):
    grads = jax.tree.map(jnp.ones_like, params)  # any gradient will do
    with_decay = masked_decay(jol)
    without = optax.chain(jol.scale_by_adam(), jol.scale_by_learning_rate(DECAY_LR))
    adam_state, _, lr_state = opt_state
    full, _ = with_decay.update(grads, opt_state, params)
    plain, _ = without.update(grads, (adam_state, lr_state), params)
    return full, plain


class TrainingLoopTests:
    """The checks every framework's training loop passes, ours against Optax's.

    A framework's test file subclasses this as ``Test<Framework>`` with
    ``train = staticmethod(train)``, where ``train(tx, steps=STEPS,
    change_lr=False)`` trains from `initial_weights` (cutting the learning
    rate at LR_CHANGE_STEP when `change_lr`) and returns ``(Run, params,
    opt_state)``, the last two as that framework's plain trees of arrays.
    """

    train: Callable

    @pytest.mark.parametrize("name", list(OPTIMIZERS))
    def test_same_final_params_as_optax(self, name):
        build = OPTIMIZERS[name]
        ours, _, _ = self.train(build(jol))
        ref, _, _ = self.train(build(optax))
        assert_trained(ours)
        assert_same_params(ours, ref)

    def test_inject_hyperparams_changes_the_learning_rate_mid_run(self):
        tx = injected_adam(jol)
        ours, _, _ = self.train(tx, change_lr=True)
        ref, _, _ = self.train(injected_adam(optax), change_lr=True)
        unchanged, _, _ = self.train(tx)  # same tx object: the step is reused
        assert_trained(ours)
        assert_same_params(ours, ref)
        assert_params_differ(ours, unchanged)  # the change took effect

    def test_multisteps_accumulates_gradients(self):
        ours, _, _ = self.train(multisteps_adam(jol))
        ref, _, _ = self.train(multisteps_adam(optax))
        assert_trained(ours)
        assert_moves_every_kth_step(ours)
        assert_same_params(ours, ref)

    def test_masked_weight_decay_on_matrices_only(self):
        ours, params, opt_state = self.train(masked_decay(jol))
        ref, _, _ = self.train(masked_decay(optax))
        assert_trained(ours)
        assert_same_params(ours, ref)
        check_decay_only_on_matrices(params, opt_state)
