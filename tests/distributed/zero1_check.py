"""ZeRO-1 sharded state, run in a process that sees 8 CPU devices.

Started by `conftest.py` as ``python -m tests.distributed.zero1_check OUT``
with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the device count
is fixed when JAX starts). It writes ``OUT.json`` (a report) and two `.npz`
files of results, which `test_zero1.py` compares with the same runs made on
one device in the test process:

1. ``apply``: every optimizer of `jol.OPTIMIZERS` (and grouped ones), one
   program, three `make_sharded_apply_step` steps on fixed gradients, on a
   mesh with Explicit axes (`jax.make_mesh`'s default). The report holds each
   state leaf's planned and actual sharding and the compiled module's memory.
2. ``train``: a few optimizers trained by `make_sharded_train_step` on a
   mesh with Auto axes, the batch split over the 8 devices, and the
   compiled module's memory.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons import checkpoint, sharding
from tests.distributed import problem

#: The value given to polyak_sgd (the other optimizers ignore it).
VALUE = 0.5
STEPS = 3
TRAINED = ("sgd", "adam", "grouped_adam", "lamb", "adafactor", "sm3")


def _memory(compiled) -> dict:
    stats = compiled.memory_analysis()
    return {
        "argument": int(stats.argument_size_in_bytes),
        "output": int(stats.output_size_in_bytes),
        "alias": int(stats.alias_size_in_bytes),
        "temp": int(stats.temp_size_in_bytes),
    }


def _leaves(state, plans) -> list[dict]:
    out = []
    for plan, leaf in zip(plans, jax.tree.leaves(state), strict=True):
        shard = leaf.addressable_shards[0].data
        out.append(
            {
                "path": plan.path,
                "shape": list(plan.shape),
                "planned": str(plan.spec),
                "actual": str(leaf.sharding.spec),
                "devices": len(leaf.sharding.device_set),
                "nbytes": plan.nbytes,
                "planned_per_device": plan.nbytes_per_device,
                "actual_per_device": math.prod(shard.shape) * leaf.dtype.itemsize,
                "note": plan.note,
            }
        )
    return out


def apply_part(out: str) -> dict:
    mesh = jax.make_mesh((8,), ("data",))  # Explicit axes
    txs, params0 = problem.every_optimizer(mesh)
    tx = problem.by_name(txs)
    params = sharding.replicate(params0, mesh)
    plans = sharding.plan_state(tx, params, mesh)
    state = sharding.init_state(tx, params, mesh)
    init_layout = _leaves(state, plans)
    grads = []
    for g in problem.gradients(problem.initial_params(), STEPS):
        tree = {
            name: p.regroup(g) if hasattr(p, "regroup") else g
            for name, p in params0.items()
        }
        grads.append(sharding.replicate(tree, mesh))
    value = jnp.float32(VALUE)
    step = sharding.make_sharded_apply_step(tx, mesh)
    start = time.perf_counter()
    compiled = step.compile(params, state, grads[0], value=value)
    compile_s = time.perf_counter() - start
    for g in grads:
        params, state = step(params, state, g, value=value)
    checkpoint.save_npz(out + ".apply.npz", {"params": params, "opt_state": state})
    return {
        "names": list(txs),
        "explicit_axes": str(mesh.axis_types),
        "init": init_layout,
        "after": _leaves(state, plans),
        "memory": _memory(compiled),
        "compile_s": compile_s,
    }


def train_part(out: str) -> dict:
    mesh = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    txs, params0 = problem.every_optimizer(mesh)
    txs = {name: txs[name] for name in TRAINED}
    tx = problem.by_name(txs)
    params = sharding.replicate({name: params0[name] for name in TRAINED}, mesh)
    batch = sharding.shard_batch(problem.batch(), mesh)
    state = sharding.init_state(tx, params, mesh)
    step = sharding.make_sharded_train_step(problem.total_loss, tx, mesh)
    compiled = step.compile(params, state, *batch)
    report = {
        "names": list(txs),
        "memory": _memory(compiled),
        "state_bytes": sharding.state_bytes(state),
    }
    losses = []
    for _ in range(STEPS):
        params, state, loss = step(params, state, *batch)
        losses.append(float(loss))
    report["losses"] = losses
    report["batch_per_device"] = sum(
        math.prod(x.addressable_shards[0].data.shape) * x.dtype.itemsize for x in batch
    )
    checkpoint.save_npz(out + ".train.npz", {"params": params, "opt_state": state})
    return report


def main(out: str) -> None:
    assert len(jax.devices()) == 8, f"expected 8 devices, got {jax.devices()}"
    start = time.perf_counter()
    report = {"devices": len(jax.devices())}
    report["apply"] = apply_part(out)
    report["train"] = train_part(out)
    report["seconds"] = time.perf_counter() - start
    with open(out + ".json", "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    if "xla_force_host_platform_device_count=8" not in os.environ.get("XLA_FLAGS", ""):
        raise SystemExit("run with XLA_FLAGS=--xla_force_host_platform_device_count=8")
    np.set_printoptions(precision=3)
    main(sys.argv[1])
