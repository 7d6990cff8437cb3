"""ZeRO-1: every optimizer's state split over 8 devices, with one device's numbers.

The sharded runs happen in `zero1_check.py` (8 simulated CPU devices, started
by `conftest.py` when the tests are collected); here the same runs are made
on the one device of this process and compared, and the layout and memory
the check recorded are checked against `sharding.plan_state`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.extend.core import Literal
from jax.sharding import AbstractMesh
from jax.sharding import PartitionSpec as P

import jaxopt_lessons as jol
from jaxopt_lessons import checkpoint, sharding
from tests import helpers
from tests.distributed import conftest, problem, zero1_check
from tests.reliability.training import FAST_COMPILE

MESH = AbstractMesh((8,), ("data",))
#: Data-parallel against one device: `atol` is relative to each leaf's largest entry.
DATA_PARALLEL = helpers.Tolerance(
    1e-5, 1e-4, "float32; the gradient's sum runs in another order over devices"
)
NAMES = [*jol.OPTIMIZERS, *(f"grouped_{n}" for n in problem.GROUPED)]


def _abstract(tree):
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype), tree)


def _step(tx):
    def step(params, state, grads, value):
        updates, state = tx.update(grads, state, params, value=value)
        return optax.apply_updates(params, updates), state

    return step


@pytest.fixture(scope="module")
def apply_one_device():
    """Every optimizer, three steps on the fixed gradients, one device."""
    txs, params = problem.every_optimizer(MESH)
    tx = problem.by_name(txs)
    state = tx.init(params)
    step = jax.jit(_step(tx), compiler_options=FAST_COMPILE)
    value = jnp.float32(zero1_check.VALUE)
    for g in problem.gradients(problem.initial_params(), zero1_check.STEPS):
        grads = {
            name: p.regroup(g) if hasattr(p, "regroup") else g
            for name, p in params.items()
        }
        params, state = step(params, state, grads, value)
    return {"params": params, "opt_state": state}, tx, grads


def _used_inputs(fn, *args) -> list[bool]:
    """For each flattened argument of `fn`, whether its result depends on it:
    `jit` leaves the others out of the compiled module."""
    closed = jax.make_jaxpr(fn)(*args)
    jaxpr = closed.jaxpr
    needed = {v for v in jaxpr.outvars if not isinstance(v, Literal)}
    for eqn in reversed(jaxpr.eqns):
        if eqn.effects or any(v in needed for v in eqn.outvars):
            needed |= {v for v in eqn.invars if not isinstance(v, Literal)}
    return [v in needed for v in jaxpr.invars]


@pytest.fixture(scope="module")
def apply_sharded(zero1_check, apply_one_device):
    report, out, seconds = zero1_check
    like, _, _ = apply_one_device
    return report, checkpoint.restore_npz(out + ".apply.npz", _abstract(like)), seconds


def _close_to_scale(got, want, what):
    """Equal up to the rounding of a data-parallel gradient: each device sums
    its share of the batch and the shares are then added, another order than
    one device's; the gradient then differs by ~1e-7 of the leaf's largest
    entry, and adaptive methods carry that error into an entry's update in
    units of the leaf's scale, not of the entry's own size."""
    assert jax.tree.structure(got) == jax.tree.structure(want), what
    paths = [
        jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(got)
    ]
    for path, a, b in zip(
        paths, problem.numeric(got), problem.numeric(want), strict=True
    ):
        scale = float(np.max(np.abs(b), initial=0.0))
        np.testing.assert_allclose(
            a,
            b,
            rtol=DATA_PARALLEL.rtol,
            atol=DATA_PARALLEL.atol * scale,
            err_msg=what + path,
        )


def _compare(got, want, what):
    assert jax.tree.structure(got) == jax.tree.structure(want), what
    paths = [
        jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(got)
    ]
    bitwise = True
    for path, a, b in zip(
        paths, problem.numeric(got), problem.numeric(want), strict=True
    ):
        np.testing.assert_allclose(
            a, b, rtol=helpers.F32.rtol, atol=helpers.F32.atol, err_msg=what + path
        )
        bitwise &= np.array_equal(a, b)
    return bitwise


def test_the_check_saw_8_devices_and_every_optimizer(apply_sharded):
    report, _, seconds = apply_sharded
    assert report["devices"] == 8
    assert report["apply"]["names"] == NAMES
    conftest.SUMMARY["zero1"] = (
        f"8-device ZeRO-1 check ran {report['seconds']:.1f} s in its process "
        f"({seconds:.1f} s from start to the first test waiting for it)"
    )


@pytest.mark.parametrize("when", ["init", "after"])
def test_every_state_leaf_is_laid_out_as_planned(apply_sharded, when):
    report, _, _ = apply_sharded
    leaves = report["apply"][when]
    assert leaves
    for leaf in leaves:
        assert leaf["actual"] == leaf["planned"], leaf
        assert leaf["actual_per_device"] == leaf["planned_per_device"], leaf


def test_the_plan_splits_every_leaf_that_can_split(apply_sharded):
    """Split 8 ways: every leaf with a dimension 8 divides; the rest are
    scalars or have no such dimension."""
    report, _, _ = apply_sharded
    for leaf in report["apply"]["init"]:
        divisible = any(d % 8 == 0 and d > 0 for d in leaf["shape"])
        if divisible:
            assert leaf["devices"] == 8, leaf
            assert leaf["actual_per_device"] * 8 == leaf["nbytes"], leaf
        else:
            assert leaf["note"].startswith("replicated"), leaf
            assert leaf["actual_per_device"] == leaf["nbytes"], leaf


def test_grouped_buffers_are_padded_and_split(apply_sharded):
    report, _, _ = apply_sharded
    grouped = [
        leaf
        for leaf in report["apply"]["init"]
        if leaf["path"].startswith("['grouped_") and leaf["shape"]
    ]
    assert grouped
    for leaf in grouped:
        assert leaf["shape"][0] % 8 == 0
        assert leaf["planned"] == str(P("data")), leaf


def test_compiled_step_holds_an_eighth_of_the_split_state(
    apply_sharded, apply_one_device
):
    """The compiled module's arguments per device are the replicated params
    and gradients, the polyak value and each state leaf's shard, as planned
    (less the few placeholder leaves no update reads, which `jit` leaves
    out: Adafactor's unused factors); the leaves that split hold an eighth
    of their bytes."""
    report, _, _ = apply_sharded
    results, tx, grads = apply_one_device
    params, state = results["params"], results["opt_state"]
    plans = sharding.plan_state(tx, _abstract(params), MESH)
    value = jnp.float32(0.0)
    per_arg = (
        [x.nbytes for x in jax.tree.leaves(params)]
        + [p.nbytes_per_device for p in plans]
        + [x.nbytes for x in jax.tree.leaves(grads)]
        + [value.nbytes]
    )
    used = _used_inputs(_step(tx), params, state, grads, value)
    assert len(used) == len(per_arg)
    assert report["apply"]["memory"]["argument"] == sum(
        n for n, u in zip(per_arg, used, strict=True) if u
    )
    unused_state = [
        p for p, u in zip(plans, used[len(jax.tree.leaves(params)) :]) if not u
    ]
    assert all(p.nbytes <= 4 for p in unused_state)
    split = [p for p in plans if not p.note.startswith("replicated")]
    assert sum(p.nbytes_per_device for p in split) * 8 == sum(p.nbytes for p in split)
    state_total = sum(p.nbytes for p in plans)
    replicated = sum(p.nbytes for p in plans if p.note.startswith("replicated"))
    assert replicated < state_total / 50  # scalars and the 3x7 leaf
    per_device = sum(p.nbytes_per_device for p in plans)
    assert per_device == (state_total - replicated) // 8 + replicated


@pytest.mark.parametrize("name", NAMES)
def test_sharded_update_gives_the_one_device_numbers(
    name, apply_sharded, apply_one_device
):
    _, got, _ = apply_sharded
    want, _, _ = apply_one_device
    mine = {k: got[k][name] for k in got}
    bitwise = _compare(mine, {k: want[k][name] for k in want}, f"{name}: ")
    _BITWISE[name] = bitwise


_BITWISE: dict[str, bool] = {}


def test_summary_of_bitwise_equality(apply_sharded, apply_one_device):
    """Says how many optimizers gave the same bits (the rest within float32
    rounding: reductions, or a fusion XLA makes differently)."""
    if len(_BITWISE) < len(NAMES):
        pytest.skip("needs every parametrization of the equality test")
    same = [n for n, b in _BITWISE.items() if b]
    differ = [n for n, b in _BITWISE.items() if not b]
    conftest.SUMMARY["bitwise"] = (
        f"{len(same)} of {len(NAMES)} optimizers bitwise equal sharded and on one "
        f"device; within float32 rounding: {', '.join(differ) or 'none'}"
    )
    assert same


@pytest.fixture(scope="module")
def train_one_device():
    """The trained optimizers of the check, on one device, whole batch."""
    txs, params = problem.every_optimizer(MESH)
    txs = {name: txs[name] for name in zero1_check.TRAINED}
    params = {name: params[name] for name in zero1_check.TRAINED}
    tx = problem.by_name(txs)
    state = tx.init(params)
    x, y = problem.batch()

    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(problem.total_loss)(params, x, y)
        updates, state = tx.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state, loss

    used = _used_inputs(step, params, state, x, y)
    step = jax.jit(step, compiler_options=FAST_COMPILE)
    losses = []
    for _ in range(zero1_check.STEPS):
        params, state, loss = step(params, state, x, y)
        losses.append(float(loss))
    return {"params": params, "opt_state": state}, losses, tx, used


def test_sharded_train_step_gives_the_one_device_numbers(zero1_check, train_one_device):
    """The batch split over 8 devices: the gradient is summed in another order,
    so equal within float32 rounding."""
    report, out, _ = zero1_check
    want, losses, _, _ = train_one_device
    got = checkpoint.restore_npz(out + ".train.npz", _abstract(want))
    _close_to_scale(got, want, "train: ")
    np.testing.assert_allclose(report["train"]["losses"], losses, rtol=helpers.F32.rtol)


def test_sharded_train_step_holds_an_eighth_of_the_split_state(
    zero1_check, train_one_device
):
    """The train step's module takes per device the replicated params, the
    state's shards and the batch's shards (less what no update reads)."""
    report, _, _ = zero1_check
    want, _, tx, used = train_one_device
    plans = sharding.plan_state(tx, _abstract(want["params"]), MESH)
    total, per_device = report["train"]["state_bytes"]
    assert total == sum(p.nbytes for p in plans)
    assert per_device == sum(p.nbytes_per_device for p in plans)
    x, y = problem.batch()
    per_arg = (
        [a.nbytes for a in jax.tree.leaves(want["params"])]
        + [p.nbytes_per_device for p in plans]
        + [x.nbytes // 8, y.nbytes // 8]
    )
    assert report["train"]["memory"]["argument"] == sum(
        n for n, u in zip(per_arg, used, strict=True) if u
    )
    replicated = sum(p.nbytes for p in plans if p.note.startswith("replicated"))
    assert per_device == (total - replicated) // 8 + replicated
