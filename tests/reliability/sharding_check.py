"""Sharded optimizer state, checked in a process that sees 8 CPU devices.

Run by `test_sharding.py` as ``python -m tests.reliability.sharding_check``
with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` (the device count
is fixed when JAX starts, and the pytest process has already started it with
one). Prints one JSON object: for every optimizer, every state leaf whose
sharding differs from its parameter's after `init` and after a jitted
`update`, the largest difference from the same steps run unsharded, and
whether `jax.eval_shape(opt.init, params)` agrees with the real state.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from tests.reliability import training

STEPS = 3

# One parameter per layout, each with a shape no other has, so that a state
# leaf's shape says which parameter it belongs to.
LAYOUT = {
    "rows": ((16, 3), P("x")),  # split along the first axis
    "cols": ((3, 24), P(None, "x")),  # split along the second axis
    "vec": ((32,), P("x")),
    "replicated": ((5,), P()),
}


def _params(mesh):
    rng = np.random.default_rng(0)
    host = {
        k: rng.standard_normal(shape).astype(np.float32)
        for k, (shape, _) in LAYOUT.items()
    }
    sharded = {
        k: jax.device_put(v, NamedSharding(mesh, LAYOUT[k][1])) for k, v in host.items()
    }
    single = {k: jax.device_put(v, jax.devices()[0]) for k, v in host.items()}
    return sharded, single


def _mismatches(state, params):
    """Every per-parameter state leaf whose sharding is not its parameter's."""
    by_shape = {p.shape: p for p in params.values()}
    bad = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        param = by_shape.get(jnp.shape(leaf))
        if param is None or jnp.ndim(leaf) == 0:
            continue
        if not leaf.sharding.is_equivalent_to(param.sharding, leaf.ndim):
            bad.append(
                f"{jax.tree_util.keystr(path)}: {leaf.sharding} (param: {param.sharding.spec})"
            )
    return bad


def main():
    assert len(jax.devices()) == 8, f"expected 8 devices, got {jax.devices()}"
    mesh = Mesh(np.array(jax.devices()), ("x",))
    sharded, single = _params(mesh)
    # grads_of in training.py uses the bowl's tree; here the gradient is 2p.
    txs = {f.id: training.make(f) for f in training.OPTIMIZERS}
    report = {name: {"errors": []} for name in txs}

    states = {}
    for name, tx in txs.items():
        try:
            states[name] = tx.init(sharded)
            report[name]["init"] = _mismatches(states[name], sharded)
            abstract = jax.eval_shape(tx.init, sharded)
            same = jax.tree.map(
                lambda a, s: a.shape == s.shape and a.dtype == s.dtype,
                abstract,
                states[name],
            )
            report[name]["abstract_init"] = all(jax.tree.leaves(same))
        except Exception:
            report[name]["errors"].append(traceback.format_exc(limit=3))

    live = [name for name in txs if name in states]

    def step_all(params, states):
        out_p, out_s = {}, {}
        for name in live:
            grads = jax.tree.map(lambda p: 2 * p, params[name])
            updates, out_s[name] = txs[name].update(grads, states[name], params[name])
            out_p[name] = jax.tree.map(lambda p, u: p + u, params[name], updates)
        return out_p, out_s

    step = jax.jit(step_all)
    # Counters made by `init` live on one device, and the compiled step
    # returns them replicated; placing them replicated from the start keeps
    # the second call from compiling again. The unsharded run is committed to
    # device 0 for the same reason.
    replicated = NamedSharding(mesh, P())
    p_sh = {name: sharded for name in live}
    s_sh = jax.tree.map(
        lambda x: (
            x if len(x.sharding.device_set) > 1 else jax.device_put(x, replicated)
        ),
        {name: states[name] for name in live},
    )
    p_one = {name: single for name in live}
    s_one = jax.device_put(
        {name: txs[name].init(single) for name in live}, jax.devices()[0]
    )
    for _ in range(STEPS):
        p_sh, s_sh = step(p_sh, s_sh)
        p_one, s_one = step(p_one, s_one)
    for name in live:
        report[name]["update"] = _mismatches(s_sh[name], sharded) + _mismatches(
            p_sh[name], sharded
        )
        diffs = [
            float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
            if np.size(a)
            else 0.0
            for a, b in zip(
                jax.tree.leaves((p_sh[name], s_sh[name])),
                jax.tree.leaves((p_one[name], s_one[name])),
            )
        ]
        report[name]["max_abs_diff"] = max(diffs)
        report[name]["bit_equal"] = training.bits(
            (p_sh[name], s_sh[name])
        ) == training.bits((p_one[name], s_one[name]))
        report[name]["sharded_leaves"] = sum(
            1
            for leaf in jax.tree.leaves(s_sh[name])
            if len(leaf.sharding.device_set) > 1
        )
    json.dump({"devices": len(jax.devices()), "optimizers": report}, sys.stdout)


if __name__ == "__main__":
    if "xla_force_host_platform_device_count=8" not in os.environ.get("XLA_FLAGS", ""):
        raise SystemExit("run with XLA_FLAGS=--xla_force_host_platform_device_count=8")
    main()
