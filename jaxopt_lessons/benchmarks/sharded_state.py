"""Sharded against replicated optimizer state: memory per device and step time.

Run as ``python -m jaxopt_lessons.benchmarks.sharded_state`` (``--help`` for
the options). It starts JAX with 8 simulated CPU devices (`main` sets
``--xla_force_host_platform_device_count=8`` itself, before JAX starts its
backend; in a process that has used JAX already it says so and stops), builds one data-parallel MLP and, for each optimizer, the same
`make_sharded_train_step` twice: state laid out like the replicated params
(plain data parallelism) and state split over the 8 devices (ZeRO-1).

- Memory: read from each compiled step's `memory_analysis()`: the state's
  bytes per device are the module's argument bytes less the params' and
  the batch's (which both layouts share).
- Time: the cases run in interleaved rounds (every case in every round, so
  a burst of foreign load hits all alike); each round times single steps
  (`block_until_ready`) and keeps their median. The table gives the median
  over rounds and the ratio sharded / replicated as the median of the
  per-round ratios, with their range.

On a host, the 8 "devices" share the machine's cores: the replicated step
does the optimizer's work 8 times (once per device), the sharded one once
plus an all-gather of the params. Times on real accelerators differ; the
memory figures do not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sharding
from jaxopt_lessons.benchmarks.timing import timed_steps

_FLAG = "--xla_force_host_platform_device_count=8"


def _ask_for_8_devices() -> None:
    """Sets the device count for JAX's CPU backend, which reads it when it
    starts (at the first use of a device, not at ``import jax``)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {_FLAG}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")


__all__ = ["OPTIMIZERS", "main", "measure", "model"]

LEARNING_RATE = 1e-3

#: (label, factory, grouped): the optimizers compared.
OPTIMIZERS: tuple[tuple[str, Callable[[], Any], bool], ...] = (
    ("sgd (momentum 0.9)", lambda: jol.sgd(LEARNING_RATE, momentum=0.9), False),
    ("adam", lambda: jol.adam(LEARNING_RATE), False),
    ("adamw", lambda: jol.adamw(LEARNING_RATE), False),
    ("lion", lambda: jol.lion(LEARNING_RATE), False),
    ("lamb", lambda: jol.lamb(LEARNING_RATE), False),
    ("adafactor", lambda: jol.adafactor(LEARNING_RATE), False),
    ("grouped adam", lambda: jol.grouped(jol.adam(LEARNING_RATE)), True),
)


def model(width: int, depth: int, batch: int) -> tuple[dict, tuple, Callable]:
    """A tanh MLP of `depth` square layers of `width`, its batch and its loss."""
    rng = np.random.default_rng(0)
    params = {
        f"layer{i}": {
            "w": (rng.standard_normal((width, width)) / np.sqrt(width)).astype(
                np.float32
            ),
            "b": np.zeros(width, np.float32),
        }
        for i in range(depth)
    }
    x = rng.standard_normal((batch, width)).astype(np.float32)
    y = rng.standard_normal((batch, width)).astype(np.float32)

    def loss_fn(params, x, y):
        h = x
        for i in range(depth):
            layer = params[f"layer{i}"]
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        return jnp.mean((h - y) ** 2)

    return params, (x, y), loss_fn


def _nbytes(tree: Any) -> int:
    return sum(x.nbytes for x in jax.tree.leaves(tree))


class _Case:
    """One optimizer, one state layout, one kind of step: compiled, measured.

    `kind` "train" is the whole data-parallel step (forward, backward,
    update); "update" is the update alone on given (replicated) gradients,
    which isolates the optimizer's share of the step.
    """

    def __init__(self, label, factory, is_grouped, shard, kind, problem, mesh):
        params, batch, loss_fn = problem
        self.label, self.shard, self.kind = label, shard, kind
        tx = factory()
        if is_grouped:
            params = sharding.group_for_mesh(params, mesh)
        self.params = sharding.replicate(params, mesh)
        self.state = sharding.init_state(tx, self.params, mesh, shard=shard)
        if kind == "train":
            self.args = sharding.shard_batch(batch, mesh)
            self.step_fn = sharding.make_sharded_train_step(
                loss_fn, tx, mesh, shard_state=shard
            )
        else:
            rng = np.random.default_rng(1)
            grads = jax.tree.map(
                lambda p: (rng.standard_normal(p.shape) * 1e-3).astype(p.dtype),
                self.params,
            )
            self.args = (sharding.replicate(grads, mesh),)
            self.step_fn = sharding.make_sharded_apply_step(tx, mesh, shard_state=shard)
        start = time.perf_counter()
        compiled = self.step_fn.compile(self.params, self.state, *self.args)
        self.compile_s = time.perf_counter() - start
        stats = compiled.memory_analysis()
        args_per_device = sum(
            x.addressable_shards[0].data.nbytes for x in jax.tree.leaves(self.args)
        )
        self.state_per_device = (
            stats.argument_size_in_bytes - _nbytes(self.params) - args_per_device
        )
        self.state_total = _nbytes(self.state)
        self.round_medians: list[float] = []
        self.step()  # the first call, outside the timing

    def step(self) -> None:
        out = self.step_fn(self.params, self.state, *self.args)
        self.params, self.state = out[0], out[1]
        jax.block_until_ready(out)


def measure(cases: list[_Case], rounds: int, steps: int, log) -> None:
    """Interleaved rounds: each round, every case runs `steps` timed steps."""
    for r in range(rounds):
        for case in cases:
            case.step()  # warm-up
            times = timed_steps(case.step, steps)
            case.round_medians.append(statistics.median(times))
        log(f"  round {r + 1}/{rounds} done")


def _kib(n: float) -> str:
    return f"{n / 1024:,.0f} KiB" if n < 1024**2 else f"{n / 1024**2:,.2f} MiB"


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f} ms"


def table(pairs: list[tuple[_Case, _Case]]) -> str:
    """One row per optimizer: state bytes per device and step times."""
    lines = [
        "| optimizer | state / device, replicated | sharded | share "
        "| step, replicated | sharded | sharded / replicated (per-round range) |",
        "|---|---|---|---|---|---|---|",
    ]
    for rep, sh in pairs:
        ratios = [s / r for s, r in zip(sh.round_medians, rep.round_medians)]
        lines.append(
            f"| {rep.label} | {_kib(rep.state_per_device)} "
            f"| {_kib(sh.state_per_device)} "
            f"| {sh.state_per_device / max(rep.state_per_device, 1):.3f} "
            f"| {_ms(statistics.median(rep.round_medians))} "
            f"| {_ms(statistics.median(sh.round_medians))} "
            f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jaxopt_lessons.benchmarks.sharded_state",
        description="Sharded (ZeRO-1) against replicated optimizer state on 8 "
        "simulated CPU devices: state bytes per device and step time.",
    )
    parser.add_argument("--width", type=int, default=1024, help="layer width")
    parser.add_argument("--depth", type=int, default=4, help="number of layers")
    parser.add_argument("--batch", type=int, default=64, help="global batch size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument(
        "--only", default="", help="comma list of optimizer labels (default: all)"
    )
    parser.add_argument(
        "--no-update",
        dest="update",
        action="store_false",
        help="time only the whole train step, not the update alone",
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, 2 rounds")
    parser.add_argument("--json", default="", help="also write the numbers here")
    args = parser.parse_args(argv)
    _ask_for_8_devices()
    if args.quick:
        args.width, args.depth, args.batch, args.rounds, args.steps = 64, 2, 16, 2, 2

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if jax.device_count() != 8:
        log(
            f"expected 8 devices, JAX sees {jax.device_count()}: run this module "
            "in a fresh process (it sets the device count before JAX starts)."
        )
        return 2
    mesh = jax.make_mesh((8,), ("data",))
    params, batch, loss_fn = model(args.width, args.depth, args.batch)
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    chosen = [o for o in OPTIMIZERS if not wanted or o[0] in wanted]
    problem = (params, batch, loss_fn)
    kinds = ("train", "update") if args.update else ("train",)
    pairs: dict[str, list] = {kind: [] for kind in kinds}
    for label, factory, is_grouped in chosen:
        log(f"compiling {label}")
        for kind in kinds:
            pairs[kind].append(
                tuple(
                    _Case(label, factory, is_grouped, shard, kind, problem, mesh)
                    for shard in (False, True)
                )
            )
    cases = [c for kind in kinds for pair in pairs[kind] for c in pair]
    measure(cases, args.rounds, args.steps, log)
    print(
        f"jax {jax.__version__}, 8 simulated CPU devices on {os.cpu_count()} cores, "
        f"MLP {args.depth} x {args.width}^2 ({_kib(_nbytes(params))} of float32 "
        f"params), global batch {args.batch}; {args.rounds} interleaved rounds of "
        f"{args.steps} steps, medians\n"
    )
    print("Whole train step (forward, backward, update):\n")
    print(table(pairs["train"]))
    if args.update:
        print("\nUpdate alone (given replicated gradients):\n")
        print(table(pairs["update"]))
    if args.json:
        rows = [
            {
                "optimizer": case.label,
                "kind": case.kind,
                "sharded": case.shard,
                "state_bytes": case.state_total,
                "state_bytes_per_device": case.state_per_device,
                "compile_s": case.compile_s,
                "round_medians_s": case.round_medians,
            }
            for case in cases
        ]
        settings = {k: getattr(args, k) for k in ("width", "depth", "batch")}
        with open(args.json, "w") as file:
            json.dump({"settings": settings, "rows": rows}, file, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
