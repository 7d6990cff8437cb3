"""Sharded state: every optimizer's state follows its parameters over a mesh.

The check runs in a separate process with 8 simulated CPU devices
(`sharding_check.py`); it is started as soon as the tests are collected (see
`conftest.py`), so it runs while the other files' tests do. Here its report
is read, and the params and state it saved after one jitted, sharded step are
compared with the same step run unsharded in this process.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from jaxopt_lessons import checkpoint
from tests import helpers
from tests.reliability import training


@pytest.fixture(scope="module")
def unsharded():
    """One step of every optimizer on one device: the program the other test
    files compiled, from the same start."""
    txs, step_all = training.every_optimizer()
    params, states, _ = training.run(step_all, *training.start(txs), [(0.0, False)])
    return {name: {"params": params[name], "opt_state": states[name]} for name in txs}


@pytest.fixture(scope="module")
def sharded(sharding_check, unsharded):
    """(report, results): the subprocess's report and its results after one step."""
    report, npz = sharding_check
    like = {
        name: tree
        for name, tree in unsharded.items()
        if report["optimizers"].get(name, {}).get("errors") == []
    }
    return report, checkpoint.restore_npz(npz, like)


def test_the_check_saw_8_devices_and_every_optimizer(sharded):
    report, _ = sharded
    assert report["devices"] == 8
    assert set(report["optimizers"]) == {f.id for f in training.OPTIMIZERS}


@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_state_follows_the_params_sharding_after_init(factory, sharded):
    mine = sharded[0]["optimizers"][factory.id]
    assert not mine["errors"], mine["errors"]
    assert mine["abstract_init"], "jax.eval_shape(opt.init) disagrees with opt.init"
    assert not mine["init"], "\n".join(mine["init"])


@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_jitted_update_keeps_the_sharding_and_the_numbers(factory, sharded, unsharded):
    report, results = sharded
    mine = report["optimizers"][factory.id]
    assert not mine["errors"], mine["errors"]
    assert not mine["update"], "\n".join(mine["update"])
    # Sharded and unsharded runs do the same arithmetic; only reductions
    # (norms, trust ratios) add partial sums in another order across devices.
    got, want = results[factory.id], unsharded[factory.id]
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for path, a, b in zip(
        [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(got)],
        training.numeric_leaves(got),
        training.numeric_leaves(want),
    ):
        np.testing.assert_allclose(
            a, b, rtol=helpers.F32.rtol, atol=helpers.F32.atol, err_msg=path
        )
