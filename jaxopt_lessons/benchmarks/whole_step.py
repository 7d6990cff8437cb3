"""Whole training steps: forward, backward, optimizer update and new parameters.

Each case is one (model, implementation). Its runner owns the model's
parameters, optimizer state and batch, and `step()` runs one training step
as a user writes it. The first call (trace, compile, run) is timed apart;
`measure` in `core` then interleaves the cases round by round.

Implementations:

- ``optax``: `optax.adam` per leaf, in a jitted step with params and state
  donated (`jol.make_train_step`).
- ``ours``: `jol.adam` per leaf, the same step.
- ``ours grouped``: `jol.grouped(jol.adam)` on the ordinary tree, the same
  step: the path for code whose framework owns the parameters.
- ``ours fast``: the documented fast path, ``jol.group(params)`` with
  `jol.grouped(jol.adam)` in `jol.make_train_step`; the loss still sees the
  ordinary tree.
- ``forward+backward``: the loss and its gradient only, no update: the
  model's own work per step, which no optimizer path can go below.
- ``torch foreach`` / ``torch fused``: the same model and loss in torch,
  ``zero_grad``, ``backward`` and `torch.optim.Adam` with that mode.
- ``nnx ...``: a Flax NNX model through `nnx.Optimizer` (see `nnx_cases`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons.benchmarks.cases import Case
from jaxopt_lessons.benchmarks.models import Model
from jaxopt_lessons.grouping import group, is_grouped
from jaxopt_lessons.training import make_train_step

LR = 1e-3

# Instructions of the compiled entry computation that are not kernels.
_NOT_KERNELS = frozenset(
    "parameter constant tuple get-tuple-element bitcast copy-start copy-done".split()
)


def kernel_count(hlo_text: str) -> int:
    """Kernels the compiled step launches: the entry computation's instructions
    other than parameters, constants, tuples and bitcasts."""
    entry = hlo_text[hlo_text.index("ENTRY") :].split("\n}", 1)[0]
    ops = re.findall(r"= \S+ ([\w-]+)\(", entry)
    return sum(op not in _NOT_KERNELS for op in ops)


def _leaf_names(tree: Any) -> list[str]:
    return [
        jax.tree_util.keystr(path)
        for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]
    ]


def _first_leaf(tree: Any) -> Any:
    return jax.tree.leaves(tree)[0]


class JaxStepRunner:
    """One jitted whole step of `model` with `tx`, in one of four modes."""

    def __init__(self, model: Model, tx: Any, mode: str):
        params = jax.tree.map(jnp.asarray, model.params)
        batch = tuple(jnp.asarray(b) for b in model.batch)
        if mode == "fast":
            params = group(params)
        start, cpu = time.perf_counter(), time.process_time()
        if mode == "grad":
            jitted = jax.jit(jax.value_and_grad(model.loss))
            compiled = jitted.lower(params, *batch).compile()
            out = compiled(params, *batch)
            self._call = lambda: compiled(params, *batch)
            state = None
        else:
            state = tx.init(params)
            jitted = make_train_step(model.loss, tx)
            compiled = jitted.lower(params, state, *batch).compile()
            out = compiled(params, state, *batch)
            params, state = out[0], out[1]
        jax.block_until_ready(out)
        self.stats = {
            "compile_s": time.perf_counter() - start,
            "compile_cpu_s": time.process_time() - cpu,
            "kernels": kernel_count(compiled.as_text() or ""),
        }
        self.mode = mode
        self.leaf_names = _leaf_names(model.params)
        self._compiled = compiled
        self.params, self.state, self.batch = params, state, batch
        if mode != "grad":
            plain = params.ungroup() if is_grouped(params) else params
            self.first_step = [np.asarray(x) for x in jax.tree.leaves(plain)]

    def step(self) -> None:
        if self.mode == "grad":
            jax.block_until_ready(self._call())
            return
        self.params, self.state, loss = self._compiled(
            self.params, self.state, *self.batch
        )
        _first_leaf(self.params).block_until_ready()

    def final_params(self) -> list[np.ndarray]:
        plain = self.params.ungroup() if is_grouped(self.params) else self.params
        return [np.asarray(x) for x in jax.tree.leaves(plain)]


class TorchStepRunner:
    """zero_grad, forward, backward and `torch.optim.Adam.step` in one mode."""

    def __init__(self, model: Model, mode: str):
        import torch

        leaves, treedef = jax.tree.flatten(model.params)
        self.tensors = [torch.tensor(np.array(x), requires_grad=True) for x in leaves]
        self.tree = jax.tree.unflatten(treedef, self.tensors)
        self.leaf_names = _leaf_names(model.params)
        self.batch = tuple(torch.from_numpy(np.array(b)) for b in model.batch)
        self.loss = model.torch_loss
        start, cpu = time.perf_counter(), time.process_time()
        self.opt = torch.optim.Adam(self.tensors, lr=LR, **{mode: True})
        self.step()  # raises here if the mode is unsupported
        self.stats = {
            "compile_s": time.perf_counter() - start,
            "compile_cpu_s": time.process_time() - cpu,
        }
        self.first_step = [t.detach().numpy().copy() for t in self.tensors]

    def step(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        self.loss(self.tree, *self.batch).backward()
        self.opt.step()

    def final_params(self) -> list[np.ndarray]:
        return [t.detach().numpy().copy() for t in self.tensors]


# Memory mappings XLA:CPU keeps per leaf of a compiled step, summed over the
# five JAX cases of one model (measured: 9.5 for Optax's per-leaf step and
# 12.2 for the fast path, per leaf, on the probes model with jax 0.10.2).
MAPS_PER_LEAF = 55


def map_count_problem(model: Model) -> str | None:
    """Why the model's cases would not fit in the process's memory-map limit.

    Each compiled kernel is mapped on its own, so thousands of leaves, compiled
    five times and kept alive for interleaved timing, can exceed Linux's
    `vm.max_map_count` (65530 by default); LLVM then aborts the process.
    """
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            limit = int(f.read())
    except (OSError, ValueError):
        return None
    needed = MAPS_PER_LEAF * model.n_leaves
    if needed < 0.8 * limit:
        return None
    return (
        f"{model.n_leaves} leaves need about {needed} memory maps for the five "
        f"compiled steps, vm.max_map_count is {limit}; raise it "
        "(`sudo sysctl -w vm.max_map_count=262144`) or use --probe-leaves"
    )


def build_cases(model: Model, *, torch: bool) -> list[Case]:
    """Cases of one model: Optax, ours per leaf, grouped, fast path, floor, torch."""
    cases = [
        Case(
            model.name,
            "adam",
            "optax",
            lambda: JaxStepRunner(model, optax.adam(LR), "plain"),
        ),
        Case(
            model.name,
            "adam",
            "ours",
            lambda: JaxStepRunner(model, jol.adam(LR), "plain"),
            "optax",
        ),
        Case(
            model.name,
            "adam",
            "ours grouped",
            lambda: JaxStepRunner(model, jol.grouped(jol.adam(LR)), "plain"),
            "optax",
        ),
        Case(
            model.name,
            "adam",
            "ours fast",
            lambda: JaxStepRunner(model, jol.grouped(jol.adam(LR)), "fast"),
            "optax",
        ),
        Case(
            model.name,
            "adam",
            "forward+backward",
            lambda: JaxStepRunner(model, None, "grad"),
            "optax",
        ),
    ]
    if torch and model.torch_loss is not None:
        for mode in ("foreach", "fused"):
            cases.append(
                Case(
                    model.name,
                    "adam",
                    f"torch {mode}",
                    lambda m=mode: TorchStepRunner(model, m),
                    "optax",
                )
            )
    return cases


# ---------------------------------------------------------------------------
# Flax NNX: the framework owns the parameters
# ---------------------------------------------------------------------------


def nnx_available() -> bool:
    try:
        import flax.nnx  # noqa: F401
    except ImportError:
        return False
    return True


class NnxStepRunner:
    """A Flax NNX MLP on digits trained through `nnx.Optimizer` (`wrt=nnx.Param`).

    The step is NNX's usual one: `nnx.value_and_grad` of the loss and
    `optimizer.update(model, grads)` inside one `nnx.jit`, called through
    `nnx.cached_partial` as Flax advises for loops.
    """

    def __init__(self, tx: Any, depth: int, width: int, batch: int):
        from flax import nnx

        from jaxopt_lessons.benchmarks.models import _digits_batch

        class Block(nnx.Module):
            def __init__(self, rngs):
                self.norm = nnx.LayerNorm(width, rngs=rngs)
                self.dense = nnx.Linear(width, width, rngs=rngs)

            def __call__(self, h):
                return h + nnx.relu(self.dense(self.norm(h))) / depth**0.5

        class Net(nnx.Module):
            def __init__(self, rngs):
                self.inp = nnx.Linear(64, width, rngs=rngs)
                self.blocks = nnx.List([Block(rngs) for _ in range(depth)])
                self.out = nnx.Linear(width, 10, rngs=rngs)

            def __call__(self, x):
                h = self.inp(x)
                for block in self.blocks:
                    h = block(h)
                return self.out(h)

        def loss_fn(model, x, y):
            log_p = jax.nn.log_softmax(model(x))
            return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

        @nnx.jit
        def train_step(model, optimizer, x, y):
            loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
            optimizer.update(model, grads)
            return loss

        x, y = (jnp.asarray(a) for a in _digits_batch(batch, 0))
        self.model = Net(nnx.Rngs(0))
        self.optimizer = nnx.Optimizer(self.model, tx, wrt=nnx.Param)
        self.n_leaves = len(jax.tree.leaves(nnx.state(self.model, nnx.Param)))
        start, cpu = time.perf_counter(), time.process_time()
        self._step = nnx.cached_partial(train_step, self.model, self.optimizer)
        self._batch = (x, y)
        jax.block_until_ready(self._step(*self._batch))
        self.stats = {
            "compile_s": time.perf_counter() - start,
            "compile_cpu_s": time.process_time() - cpu,
        }
        self.first_step = self.final_params()
        self.leaf_names = _leaf_names(nnx.state(self.model, nnx.Param))

    def step(self) -> None:
        jax.block_until_ready(self._step(*self._batch))

    def final_params(self) -> list[np.ndarray]:
        from flax import nnx

        state = nnx.state(self.model, nnx.Param)
        return [np.asarray(x) for x in jax.tree.leaves(state)]


def nnx_cases(depth: int, width: int, batch: int) -> list[Case]:
    """NNX model through `nnx.Optimizer`: optax.adam, jol.adam, grouped(jol.adam)."""
    name = "nnx_mlp"
    factories: list[tuple[str, Callable[[], Any], str | None]] = [
        ("optax", lambda: optax.adam(LR), None),
        ("ours", lambda: jol.adam(LR), "optax"),
        ("ours grouped", lambda: jol.grouped(jol.adam(LR)), "optax"),
    ]
    return [
        Case(
            name,
            "adam",
            impl,
            lambda f=factory: NnxStepRunner(f(), depth, width, batch),
            reference,
        )
        for impl, factory, reference in factories
    ]


def final_differences(cases: list[Case]) -> dict[str, dict]:
    """Largest |difference| of the params against Optax's after the first
    step and after the last, relative to the largest parameter, and the leaf
    where it is, for the cases that ran as many steps as Optax's case.

    After one step the paths must agree to float32 rounding. Over many steps
    a deep network can amplify those roundings, and Adam turns the rounding
    noise of a gradient that is exactly zero in exact arithmetic into steps
    of the learning rate's size, so the final difference says how sensitive
    the model is, not whether the rule is the same.
    """
    out: dict[str, dict] = {}
    by_model: dict[str, Case] = {
        c.shape: c for c in cases if c.impl == "optax" and c.runner is not None
    }
    for case in cases:
        ref = by_model.get(case.shape)
        if (
            ref is None
            or case is ref
            or case.runner is None
            or not hasattr(case.runner, "final_params")
            or getattr(case.runner, "mode", "") == "grad"
            or case.steps_run != ref.steps_run
        ):
            continue
        first, worst_first = _largest_difference(
            case.runner.first_step, ref.runner.first_step
        )
        final, worst = _largest_difference(
            case.runner.final_params(), ref.runner.final_params()
        )
        out[f"{case.shape}/{case.impl}"] = {
            "first_step_max_rel": first,
            "first_step_leaf": ref.runner.leaf_names[worst_first],
            "max_rel": final,
            "leaf": ref.runner.leaf_names[worst],
            "steps": case.steps_run + 1,  # the first call took a step too
        }
    return out


def _largest_difference(
    ours: list[np.ndarray], theirs: list[np.ndarray]
) -> tuple[float, int]:
    """max |ours - theirs| over all leaves, relative to max |theirs|, and
    the index of the leaf where it is."""
    scale = max(float(np.max(np.abs(x))) for x in theirs) or 1.0
    diffs = [float(np.max(np.abs(x - y))) for x, y in zip(ours, theirs, strict=True)]
    worst = int(np.argmax(diffs))
    return diffs[worst] / scale, worst
