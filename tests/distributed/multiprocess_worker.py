"""One process of a data-parallel run over several processes (`jax.distributed`).

Started by `conftest.py`, once per process, as::

    python -m tests.distributed.multiprocess_worker OUT PORT NUM_PROCESSES PROCESS_ID

with ``XLA_FLAGS=--xla_force_host_platform_device_count=2`` (two CPU devices
per process) and ``JAX_PLATFORMS=cpu``. The processes meet at the
coordinator on ``localhost:PORT`` (process 0 runs it) and exchange data
through gloo, JAX's CPU collectives over TCP.

Each process feeds its own share of the global batch. Three runs of Adam,
each `STEPS` steps of `make_sharded_train_step` on the global mesh of all
devices: ``plain`` (state laid out like the replicated params), ``sharded``
(state split over the devices of both processes) and ``grouped`` (grouped
Adam on padded flat buffers, state split). After `SAVE_AT` steps each run
saves params and state with orbax (every process writes its shards), goes
on to the end, then restores the checkpoint into the arrays' shardings and
runs the remaining steps again, which must give the same bits.

Process 0 writes ``OUT.json`` (timings, losses, resume checks) and
``OUT.npz`` (the final params and state, gathered from every process) for
`test_multiprocess.py` to compare with one process on one device. A
platform that cannot start the processes or run a collective makes process
0 write ``{"skip": reason}`` instead.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import jax

START = time.perf_counter()

STEPS = 4
SAVE_AT = 2
VARIANTS = ("plain", "sharded", "grouped")


def connect(port: int, num_processes: int, process_id: int) -> None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"localhost:{port}",
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=60,
    )
    # One collective, so that a platform without working CPU collectives
    # is told apart from a failure of the code under test.
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices("jaxopt_lessons: connected")


def run(out: str, process_id: int) -> dict:
    import numpy as np
    from jax.experimental import multihost_utils

    import jaxopt_lessons as jol
    from jaxopt_lessons import checkpoint, sharding
    from tests.distributed import problem

    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    x, y = problem.batch()
    share = problem.BATCH // jax.process_count()
    rows = slice(process_id * share, (process_id + 1) * share)
    batch = sharding.shard_batch((x[rows], y[rows]), mesh)
    report = {
        "processes": jax.process_count(),
        "devices": jax.device_count(),
        "local_devices": jax.local_device_count(),
        "collectives": jax.config.jax_cpu_collectives_implementation,
        "connect_s": time.perf_counter() - START,
    }
    results = {}
    for variant in VARIANTS:
        t0 = time.perf_counter()
        tx = problem.make("adam")
        tree = problem.initial_params()
        if variant == "grouped":
            tx = jol.grouped(tx)
            tree = sharding.group_for_mesh(tree, mesh)
        shard = variant != "plain"
        params = sharding.replicate(tree, mesh)
        state = sharding.init_state(tx, params, mesh, shard=shard)
        step = sharding.make_sharded_train_step(
            problem.loss_fn, tx, mesh, shard_state=shard
        )
        losses, save_s = [], 0.0
        directory = os.path.join(out + ".orbax", variant)
        for i in range(STEPS):
            if i == SAVE_AT:
                t_save = time.perf_counter()
                checkpoint.save_orbax(
                    directory, {"params": params, "opt_state": state}, name=variant
                )
                save_s = time.perf_counter() - t_save
            params, state, loss = step(params, state, *batch)
            losses.append(float(loss))
        train_s = time.perf_counter() - t0 - save_s
        t_restore = time.perf_counter()
        like = {"params": params, "opt_state": state}
        restored = checkpoint.restore_orbax(directory, like, name=variant)
        restore_s = time.perf_counter() - t_restore
        same_layout = all(
            a.sharding == b.sharding
            for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(like))
        )
        again_params, again_state = restored["params"], restored["opt_state"]
        for _ in range(SAVE_AT, STEPS):
            again_params, again_state, _ = step(again_params, again_state, *batch)
        final = {"params": params, "opt_state": state}
        again = {"params": again_params, "opt_state": again_state}
        gathered = multihost_utils.process_allgather(final, tiled=True)
        gathered_again = multihost_utils.process_allgather(again, tiled=True)
        resumed_bitwise = all(
            np.array_equal(a, b)
            for a, b in zip(jax.tree.leaves(gathered), jax.tree.leaves(gathered_again))
        )
        _, per_device = sharding.state_bytes(state)
        total = sum(np.asarray(leaf).nbytes for leaf in jax.tree.leaves(gathered))
        results[variant] = gathered
        report[variant] = {
            "losses": losses,
            "train_s": train_s,
            "save_s": save_s,
            "restore_s": restore_s,
            "restored_shardings_match": same_layout,
            "resumed_bitwise": resumed_bitwise,
            "state_bytes_per_device": per_device,
            "params_and_state_bytes": total,
        }
    if process_id == 0:
        checkpoint.save_npz(out + ".npz", results)
    report["seconds"] = time.perf_counter() - START
    return report


def main(out: str, port: int, num_processes: int, process_id: int) -> None:
    try:
        connect(port, num_processes, process_id)
    except Exception as error:  # the platform, not the code under test
        if process_id == 0:
            reason = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
            with open(out + ".json", "w") as file:
                json.dump(
                    {"skip": f"cannot start {num_processes} processes: {reason}"}, file
                )
        traceback.print_exc()
        return
    report = run(out, process_id)
    jax.distributed.shutdown()
    if process_id == 0:
        with open(out + ".json", "w") as file:
            json.dump(report, file)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
