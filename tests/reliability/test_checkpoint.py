"""Checkpoints: resumed training is uninterrupted training, bit for bit.

Every optimizer trains a few steps, its params and state are saved (`.npz`
and orbax) and restored into a fresh template, and training continues; the
result must have the same bits as a run that never stopped. Restoring into
another optimizer, another tree or under another name fails with a message
that says what did not match.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_lessons import checkpoint as ckpt
from tests.reliability import rules, training

# Before the checkpoint: clean steps, a NaN (zeroed) and an inf (skipped), so
# that every counter of the guards is part of the saved state too.
BEFORE = [(0.0, False), (np.inf, True), (0.0, False), (np.nan, True), (0.0, False)]
AFTER = [(0.0, False)] * 3


def _template(tx):
    """What a new process would build before restoring: fresh params and state."""
    params = jax.tree.map(jnp.zeros_like, training.initial_params())
    return jax.device_put(
        {"params": params, "opt_state": tx.init(params)}, jax.devices()[0]
    )


@pytest.fixture(scope="module")
def runs():
    """Every optimizer (protected, as in test_nonfinite.py): the transforms,
    the compiled step, the params and states at the checkpoint and at the end."""
    txs, step_all = training.every_optimizer()
    middle = training.run(step_all, *training.start(txs), BEFORE)[:2]
    end = training.run(step_all, *middle, AFTER)[:2]
    return txs, step_all, middle, end


def _resume(runs, restored):
    """Continues every optimizer from restored checkpoints `{name: tree}`."""
    txs, step_all, _, _ = runs
    params = {name: restored[name]["params"] for name in txs}
    states = {name: restored[name]["opt_state"] for name in txs}
    return training.run(step_all, params, states, AFTER)[:2]


def _saved(runs):
    _, _, (params, states), _ = runs
    return {
        name: {"params": params[name], "opt_state": states[name]} for name in params
    }


@pytest.fixture(scope="module")
def npz_resumed(runs, tmp_path_factory):
    """Each optimizer saved to its own .npz, restored into a template, resumed."""
    txs = runs[0]
    directory = tmp_path_factory.mktemp("npz")
    restored = {}
    for name, tree in _saved(runs).items():
        path = ckpt.save_npz(directory / f"{name}.npz", tree, name=name)
        restored[name] = ckpt.restore_npz(path, _template(txs[name]), name=name)
    return restored, _resume(runs, restored)


@pytest.fixture(scope="module")
def orbax_resumed(runs, tmp_path_factory):
    """All optimizers in one orbax checkpoint, saved and restored once, resumed."""
    txs = runs[0]
    directory = ckpt.save_orbax(
        tmp_path_factory.mktemp("orbax") / "step_4", _saved(runs)
    )
    like = {name: _template(tx) for name, tx in txs.items()}
    restored = ckpt.restore_orbax(directory, like)
    return restored, _resume(runs, restored)


@pytest.mark.parametrize("kind", ["npz", "orbax"])
@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_resumed_training_is_bit_identical(factory, kind, runs, request):
    restored, (params, states) = request.getfixturevalue(f"{kind}_resumed")
    name = factory.id
    training.assert_bitwise_equal(restored[name], _saved(runs)[name], "restored")
    _, _, _, (end_params, end_states) = runs
    training.assert_bitwise_equal(params[name], end_params[name], "resumed params")
    training.assert_bitwise_equal(states[name], end_states[name], "resumed state")


def test_checkpoint_covers_every_optimizer(runs):
    assert set(runs[0]) == {f.id for f in training.OPTIMIZERS}
    assert len(runs[0]) >= 10


def _optimizer(name):
    factory = next(f for f in training.OPTIMIZERS if f.id == name)
    return training.make(factory)


@pytest.fixture(params=["npz", "orbax"])
def saved_adam(request, tmp_path):
    """An Adam state saved in each format, with the matching restore function."""
    tx = _optimizer("adam")
    state = tx.init(training.initial_params())
    if request.param == "npz":
        path = ckpt.save_npz(tmp_path / "adam.npz", state, name="adam")
        return path, ckpt.restore_npz, state
    path = ckpt.save_orbax(tmp_path / "adam", state, name="adam")
    return path, ckpt.restore_orbax, state


def test_restoring_into_another_optimizer_names_the_leaves(saved_adam):
    path, restore, _ = saved_adam
    sgd = rules.factories("optimizers")
    momentum = next(f for f in sgd if f.id == "sgd").fn(0.1, momentum=0.9)
    with pytest.raises(ckpt.CheckpointMismatchError) as info:
        restore(path, momentum.init(training.initial_params()))
    message = str(info.value)
    assert "only in the checkpoint: [0].count, [0].mu['b']" in message, message
    assert "only in the target:     [0].trace['b']" in message, message
    assert "ScaleByAdamState" in message and "TraceState" in message


def test_restoring_into_a_state_class_with_other_fields(saved_adam):
    path, restore, _ = saved_adam
    with pytest.raises(ckpt.CheckpointMismatchError, match=r"\[0\]\.nu_max\['b'\]"):
        restore(path, _optimizer("amsgrad").init(training.initial_params()))


def test_restoring_into_another_tree_names_shapes_and_dtypes(saved_adam):
    path, restore, _ = saved_adam
    params = training.initial_params()
    params["w"] = jnp.zeros((3, 3), jnp.bfloat16)
    with pytest.raises(ckpt.CheckpointMismatchError) as info:
        restore(path, _optimizer("adam").init(params))
    message = str(info.value)
    assert "[0].mu['w']: saved (8, 4) float32, expected (3, 3) bfloat16" in message
    params = training.initial_params()
    params["extra"] = jnp.zeros(2)
    with pytest.raises(
        ckpt.CheckpointMismatchError, match=r"only in the target: .*'extra'"
    ):
        restore(path, _optimizer("adam").init(params))


def test_same_layout_other_name_is_refused(saved_adam):
    """Adamax's state has Adam's layout; only the name tells them apart."""
    path, restore, state = saved_adam
    like = _optimizer("adamax").init(training.initial_params())
    assert jax.tree.structure(like) == jax.tree.structure(state)
    with pytest.raises(
        ckpt.CheckpointMismatchError, match="holds the state of 'adam', but .* 'adamax'"
    ):
        restore(path, like, name="adamax")
    restore(path, like)  # without names, a matching layout is all that is checked


def test_abstract_target_and_special_leaves(tmp_path):
    """eval_shape templates; bfloat16, float16, int8, bool and PRNG-key leaves."""
    tree = {
        "bf16": jnp.asarray([1.5, -0.0, jnp.inf], jnp.bfloat16),
        "f16": jnp.asarray([65504.0, np.nan], jnp.float16),
        "i8": jnp.asarray([-128, 127], jnp.int8),
        "flag": jnp.asarray(True),
        "key": jax.random.key(7),
        "count": jnp.asarray(3, jnp.int32),
    }
    like = jax.eval_shape(lambda: tree)
    back = ckpt.restore_npz(ckpt.save_npz(tmp_path / "t.npz", tree), like)
    training.assert_bitwise_equal(back, tree, "npz")
    assert back["key"].dtype == tree["key"].dtype
    back = ckpt.restore_orbax(ckpt.save_orbax(tmp_path / "t", tree), like)
    training.assert_bitwise_equal(back, tree, "orbax")


def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = ckpt.save_npz(tmp_path / "c.npz", {"a": jnp.ones(2)})
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_npz(path, {"a": jnp.zeros(2)})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npz"]


def test_a_file_that_is_not_ours_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ckpt.CheckpointMismatchError, match="not written by save_npz"):
        ckpt.restore_npz(tmp_path / "other.npz", {"a": jnp.ones(2)})
