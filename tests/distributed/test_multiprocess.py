"""Data-parallel training over 2 processes (`jax.distributed`, gloo on CPU).

`multiprocess_worker.py` runs as two processes with 2 CPU devices each (see
`conftest.py`, which starts them when the tests are collected). Here the same
training runs in this process on one device, and the results are compared:
plain Adam (state replicated), Adam with its state split over the 4 devices
of both processes, and grouped Adam with split state; each saved with orbax
mid-run by both processes and resumed from the checkpoint.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
import pytest
from jax.sharding import AbstractMesh

import jaxopt_lessons as jol
from jaxopt_lessons import checkpoint, sharding
from tests.distributed import conftest, multiprocess_worker, problem
from tests.distributed.test_zero1 import DATA_PARALLEL

MESH = AbstractMesh((4,), ("data",))  # 2 processes x 2 devices


def _setup(variant: str):
    tx = problem.make("adam")
    params = problem.initial_params()
    if variant == "grouped":
        tx = jol.grouped(tx)
        params = sharding.group_for_mesh(params, MESH)
    return tx, params


@pytest.fixture(scope="module")
def one_process():
    """Each variant trained on this process's one device, on the whole batch."""
    x, y = problem.batch()
    out = {}
    for variant in multiprocess_worker.VARIANTS:
        tx, params = _setup(variant)
        state = tx.init(params)

        @jax.jit
        def step(params, state, tx=tx):
            loss, grads = jax.value_and_grad(
                lambda p: problem.loss_fn(
                    p.ungroup() if jol.grouping.is_grouped(p) else p, x, y
                )
            )(params)
            updates, state = tx.update(grads, state, params)
            return optax.apply_updates(params, updates), state, loss

        losses = []
        for _ in range(multiprocess_worker.STEPS):
            params, state, loss = step(params, state)
            losses.append(float(loss))
        out[variant] = ({"params": params, "opt_state": state}, losses, tx)
    return out


def test_two_processes_with_cpu_collectives(multiprocess_run):
    report, _, seconds = multiprocess_run
    assert report["processes"] == 2
    assert report["devices"] == 4
    assert report["local_devices"] == 2
    assert report["collectives"] == "gloo"
    conftest.SUMMARY["multiprocess"] = (
        f"2 processes x 2 devices: {report['seconds']:.1f} s in process 0 "
        f"(connect {report['connect_s']:.1f} s); {seconds:.1f} s from start to "
        "the first test waiting for them"
    )


@pytest.fixture(scope="module")
def gathered(multiprocess_run, one_process):
    """The final params and state of every variant, as process 0 gathered them."""
    _, out, _ = multiprocess_run
    like = {
        variant: jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), results[0]
        )
        for variant, results in one_process.items()
    }
    return checkpoint.restore_npz(out + ".npz", like)


@pytest.mark.parametrize("variant", multiprocess_worker.VARIANTS)
def test_training_over_processes_equals_one_process(
    variant, multiprocess_run, one_process, gathered
):
    """Equal up to the order of the gradient's sum over devices (see
    `test_zero1.DATA_PARALLEL`)."""
    report, _, _ = multiprocess_run
    want, losses, _ = one_process[variant]
    got = gathered[variant]
    assert jax.tree.structure(got) == jax.tree.structure(want)
    worst = 0.0
    for a, b in zip(problem.numeric(got), problem.numeric(want), strict=True):
        scale = float(np.max(np.abs(b), initial=0.0))
        np.testing.assert_allclose(
            a, b, rtol=DATA_PARALLEL.rtol, atol=DATA_PARALLEL.atol * scale
        )
        worst = max(worst, float(np.max(np.abs(a - b) / max(scale, 1e-30), initial=0)))
    np.testing.assert_allclose(
        report[variant]["losses"], losses, rtol=DATA_PARALLEL.rtol
    )
    conftest.SUMMARY[f"multiprocess {variant}"] = (
        f"{variant}: params and state after {len(losses)} steps differ from one "
        f"process by at most {worst:.1e} of each leaf's largest entry; losses "
        f"{'bitwise equal' if report[variant]['losses'] == losses else 'within rounding'}"
    )


@pytest.mark.parametrize("variant", multiprocess_worker.VARIANTS)
def test_orbax_checkpoint_resumes_across_processes(variant, multiprocess_run):
    """Saved by both processes mid-run, restored into the same shardings, the
    remaining steps give the uninterrupted run's bits."""
    report, out, _ = multiprocess_run
    mine = report[variant]
    assert mine["restored_shardings_match"]
    assert mine["resumed_bitwise"]


@pytest.mark.parametrize("variant", multiprocess_worker.VARIANTS)
def test_state_per_device_over_processes(variant, multiprocess_run, one_process):
    """Split state: each device holds `plan_state`'s share (a quarter of the
    split leaves); plain: the whole state."""
    report, _, _ = multiprocess_run
    want, _, tx = one_process[variant]
    total = sum(x.nbytes for x in jax.tree.leaves(want["opt_state"]))
    if variant == "plain":
        assert report[variant]["state_bytes_per_device"] == total
        return
    plans = sharding.plan_state(tx, want["params"], MESH)
    assert report[variant]["state_bytes_per_device"] == sum(
        p.nbytes_per_device for p in plans
    )
    replicated = sum(p.nbytes for p in plans if p.note.startswith("replicated"))
    assert (
        report[variant]["state_bytes_per_device"]
        == (total - replicated) // 4 + replicated
    )
