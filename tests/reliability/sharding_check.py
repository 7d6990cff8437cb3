"""Sharded optimizer state, checked in a process that sees 8 CPU devices.

Run by `test_sharding.py` as ``python -m tests.reliability.sharding_check OUT``
with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``: the device count
is fixed when JAX starts, and the pytest process has already started it with
one. For every optimizer it records every state leaf whose sharding differs
from its parameter's after `init` and after one jitted `update`, and whether
`jax.eval_shape(opt.init, params)` agrees with the real state; it writes that
report to ``OUT.json`` and the params and state after the step to ``OUT.npz``
(with `jaxopt_lessons.checkpoint`), for the test to compare with the same step
run unsharded.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxopt_lessons import checkpoint
from tests.reliability import rules, training

#: How each parameter of `training.initial_params()` is laid out over the mesh.
LAYOUT = {"w": P("x"), "v": P(None, "x"), "b": P()}


def mismatches(state, params) -> list[str]:
    """Every per-parameter state leaf whose sharding is not its parameter's."""
    by_shape = {p.shape: p for p in params.values()}
    bad = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        param = by_shape.get(np.shape(leaf))
        if param is None or np.ndim(leaf) == 0:
            continue
        if getattr(path[-1], "name", None) in rules.HYPERPARAMETER_STATE:
            continue  # a hyperparameter (Muon's), not a per-parameter tensor
        if not leaf.sharding.is_equivalent_to(param.sharding, leaf.ndim):
            bad.append(
                f"{jax.tree_util.keystr(path)}: {leaf.sharding} "
                f"(its parameter: {param.sharding.spec})"
            )
    return bad


def main(out: str) -> None:
    assert len(jax.devices()) == 8, f"expected 8 devices, got {jax.devices()}"
    mesh = Mesh(np.array(jax.devices()), ("x",))
    params = {
        k: jax.device_put(v, NamedSharding(mesh, LAYOUT[k]))
        for k, v in training.initial_params().items()
    }
    # The transforms of the other tests (behind zero_nans and apply_if_finite),
    # so that the test process can compare with the step it has compiled already.
    txs = {f.id: training.protected(training.make(f)) for f in training.OPTIMIZERS}
    report = {name: {"errors": []} for name in txs}

    states = {}
    for name, tx in txs.items():
        try:
            states[name] = tx.init(params)
            report[name]["init"] = mismatches(states[name], params)
            abstract = jax.eval_shape(tx.init, params)
            same = jax.tree.map(
                lambda a, s: a.shape == s.shape and a.dtype == s.dtype,
                abstract,
                states[name],
            )
            report[name]["abstract_init"] = all(jax.tree.leaves(same))
            report[name]["sharded_leaves"] = sum(
                len(leaf.sharding.device_set) == 8
                for leaf in jax.tree.leaves(states[name])
            )
        except Exception:
            report[name]["errors"].append(traceback.format_exc(limit=4))

    live = [name for name in txs if name in states]

    @functools.partial(jax.jit, compiler_options=training.FAST_COMPILE)
    def step_all(params, states):
        out = {}
        for name in live:
            grads = training.grads_of(params)
            out[name] = training.step(txs[name], params, states[name], grads)
        return out

    # One compiled step of every optimizer (one program: a third of the
    # compile time of one program each).
    stepped = step_all(params, {name: states[name] for name in live})
    results = {}
    for name in live:
        new_params, new_state = stepped[name]
        report[name]["update"] = mismatches(new_state, params) + mismatches(
            new_params, params
        )
        results[name] = {"params": new_params, "opt_state": new_state}
    checkpoint.save_npz(out + ".npz", results)
    with open(out + ".json", "w") as file:
        json.dump({"devices": len(jax.devices()), "optimizers": report}, file)


if __name__ == "__main__":
    if "xla_force_host_platform_device_count=8" not in os.environ.get("XLA_FLAGS", ""):
        raise SystemExit("run with XLA_FLAGS=--xla_force_host_platform_device_count=8")
    main(sys.argv[1])
