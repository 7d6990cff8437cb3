"""What is measured: tree shapes, optimizers, and one runner per implementation.

A *case* is one (shape, optimizer, implementation). Its runner owns its own
parameters, state and gradients, compiles its step once (timed: that is the
compile time), reads the compiled module's byte count and memory, and then
runs single steps on demand. The timing loop (`measure`) interleaves the
cases of one shape round by round, so that a burst of foreign load hits all
of them alike, and keeps every step's time.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons.grouping import group, is_grouped
from jaxopt_lessons.grouping import grouped as grouped_tx
from jaxopt_lessons.training import make_apply_step

# ---------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------


def transformer_shapes(
    layers: int = 7,
    width: int = 256,
    mlp: int = 1024,
    vocab: int = 5319,
    context: int = 512,
) -> dict[str, Any]:
    """Leaf shapes of a small GPT-like model: 118 leaves, 8,388,551 params at the defaults."""
    tree: dict[str, Any] = {
        "tok_emb": (vocab, width),
        "pos_emb": (context, width),
    }
    for i in range(layers):
        layer = {}
        for ln in ("ln1", "ln2"):
            layer[ln] = {"scale": (width,), "bias": (width,)}
        for w in ("q", "k", "v", "o"):
            layer[w] = {"kernel": (width, width), "bias": (width,)}
        layer["mlp_in"] = {"kernel": (width, mlp), "bias": (mlp,)}
        layer["mlp_out"] = {"kernel": (mlp, width), "bias": (width,)}
        tree[f"layer{i}"] = layer
    tree["ln_f"] = {"scale": (width,), "bias": (width,)}
    tree["head"] = {"kernel": (width, vocab), "bias": (vocab,)}
    return tree


def shape_trees(quick: bool) -> dict[str, Any]:
    """The three tree shapes, as trees of shape tuples."""
    if quick:
        return {
            "large": {"w": (2**16,)},
            "transformer": transformer_shapes(1, 32, 128, 331, 64),
            "medium": [(2**10,)] * 16,
            "many": [(256,)] * 100,
        }
    return {
        "large": {"w": (2**23,)},
        "transformer": transformer_shapes(),
        "medium": [(2**14,)] * 128,
        "many": [(256,)] * 4000,
    }


def _is_shape(x: Any) -> bool:
    return isinstance(x, tuple) and all(isinstance(d, int) for d in x)


def describe_shape(tree: Any) -> str:
    shapes = jax.tree.leaves(tree, is_leaf=_is_shape)
    n = sum(math.prod(s) for s in shapes)
    return f"{len(shapes)} leaves, {n:,} params"


def make_arrays(tree: Any, seed: int, scale: float = 1.0) -> Any:
    """Float32 NumPy arrays shaped like the shape tree (deterministic)."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda s: (rng.standard_normal(s) * scale).astype(np.float32),
        tree,
        is_leaf=_is_shape,
    )


# ---------------------------------------------------------------------------
# Optimizers: ours and Optax's under the same names and hyperparameters
# ---------------------------------------------------------------------------

LR = 1e-3
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")


def optimizer_pairs(
    names: tuple[str, ...] | str,
) -> dict[str, tuple[Callable, Callable]]:
    """name -> (ours factory, Optax factory), both taking no argument.

    "all" means every optimizer of this package that Optax also has, plus
    "momentum" (sgd with momentum 0.9).
    """
    pairs: dict[str, tuple[Callable, Callable]] = {
        "momentum": (
            lambda: jol.sgd(LR, momentum=0.9),
            lambda: optax.sgd(LR, momentum=0.9),
        ),
    }
    for name in jol.OPTIMIZERS:
        if hasattr(optax, name):
            pairs[name] = (
                lambda n=name: getattr(jol, n)(LR),
                lambda n=name: getattr(optax, n)(LR),
            )
    if names == "all":
        order = [n for n in DEFAULT_OPTIMIZERS if n in pairs]
        return {n: pairs[n] for n in order + sorted(set(pairs) - set(order))}
    unknown = [n for n in names if n not in pairs]
    if unknown:
        raise ValueError(
            f"bench: unknown optimizer(s) {unknown}; choose from {sorted(pairs)} or 'all'."
        )
    return {n: pairs[n] for n in names}


TORCH_CLASSES = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "rmsprop": ("RMSprop", {"alpha": 0.9}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {"weight_decay": 1e-4}),
    "nadam": ("NAdam", {}),
    "adamax": ("Adamax", {}),
    "adagrad": ("Adagrad", {}),
}


# ---------------------------------------------------------------------------
# Runners
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    """One (shape, optimizer, implementation) and what was measured for it."""

    shape: str
    optimizer: str
    impl: str
    build: Callable[[], Any]  # returns a runner with .step() and .stats
    reference: str | None = None  # impl this case's ratios are taken against
    runner: Any = None
    stats: dict = dataclasses.field(default_factory=dict)
    times: list = dataclasses.field(default_factory=list)  # seconds, per step
    steps_run: int = 0  # steps taken in `measure` (warm-up included)
    round_medians: list = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.impl} {self.optimizer}"


def _bytes(tree: Any) -> int:
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(tree))


def _first_leaf(tree: Any) -> Any:
    return jax.tree.leaves(tree)[0]


class JaxRunner:
    """A jitted, donated `update + apply_updates` step on fixed gradients."""

    def __init__(
        self,
        tx: optax.GradientTransformation,
        params_np: Any,
        grads_np: Any,
        *,
        mode: str = "plain",
        donate: bool = True,
    ):
        """`mode`: "plain" (per leaf), "grouped" (`grouped(tx)` on the ordinary
        trees) or "fast" (params and gradients grouped as well)."""
        start = time.perf_counter()
        params = jax.tree.map(jnp.asarray, params_np)
        grads = jax.tree.map(jnp.asarray, grads_np)
        if mode == "fast":
            params = group(params)
            grads = params.regroup(grads)
        if mode in ("grouped", "fast"):
            tx = grouped_tx(tx)
        jax.block_until_ready((params, grads))
        data_s = time.perf_counter() - start
        start = time.perf_counter()
        state = tx.init(params)
        jitted = make_apply_step(tx, donate=donate)
        compiled = jitted.lower(params, state, grads).compile()
        params, state = compiled(params, state, grads)
        _first_leaf(params).block_until_ready()
        compile_s = time.perf_counter() - start
        # The params after the first step, to check that every path agrees.
        first = params.ungroup() if is_grouped(params) else params
        self.first_step = [np.asarray(x) for x in jax.tree.leaves(first)]
        self._step = compiled
        self.params, self.state, self.grads = params, state, grads
        cost = compiled.cost_analysis()
        if isinstance(cost, list):  # older jax returns one dict per device
            cost = cost[0] if cost else {}
        memory = compiled.memory_analysis()
        state_arrays = [x for x in jax.tree.leaves(state) if x.ndim > 0]
        minimal = (
            2 * _bytes(params)
            + _bytes(grads)
            + 2 * sum(x.size * x.dtype.itemsize for x in state_arrays)
        )
        hlo = float(cost.get("bytes accessed", float("nan"))) if cost else float("nan")
        extra = None
        if memory is not None:
            extra = (
                memory.output_size_in_bytes
                + memory.temp_size_in_bytes
                - memory.alias_size_in_bytes
            )
        text = compiled.as_text() or ""
        self.stats = {
            "compile_s": compile_s,
            "setup_s": data_s,
            "hlo_bytes": hlo,
            "min_bytes": minimal,
            "traffic": hlo / minimal if minimal else float("nan"),
            "extra_memory_bytes": extra,
            "kernels": text.count(" fusion("),
            "buffers_in": len(jax.tree.leaves((params, state, grads))),
        }

    def step(self) -> None:
        self.params, self.state = self._step(self.params, self.state, self.grads)
        _first_leaf(self.params).block_until_ready()


class TorchRunner:
    """`opt.step()` of torch.optim with fixed `.grad`, foreach or fused."""

    def __init__(self, optimizer: str, mode: str, params_np: Any, grads_np: Any):
        import torch

        cls_name, kwargs = TORCH_CLASSES[optimizer]
        tensors = [torch.from_numpy(np.array(p)) for p in jax.tree.leaves(params_np)]
        for t, g in zip(tensors, jax.tree.leaves(grads_np), strict=True):
            t.requires_grad_(True)
            t.grad = torch.from_numpy(np.array(g))
        kwargs = dict(kwargs, lr=LR, **{mode: True})
        start = time.perf_counter()
        self.opt = getattr(torch.optim, cls_name)(tensors, **kwargs)
        self.opt.step()  # raises here if the mode is unsupported
        self.stats = {"compile_s": time.perf_counter() - start}
        self.tensors = tensors

    def step(self) -> None:
        self.opt.step()


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------
# Case lists
# ---------------------------------------------------------------------------


def build_cases(
    shape: str,
    shape_tree: Any,
    pairs: dict[str, tuple[Callable, Callable]],
    *,
    torch: bool,
    grouped: bool = True,
) -> list[Case]:
    """Cases of one shape: Optax, ours per leaf, grouped, fast path, torch."""
    params = make_arrays(shape_tree, seed=0)
    grads = make_arrays(shape_tree, seed=1, scale=1e-2)
    n_leaves = len(jax.tree.leaves(params))
    cases = []
    for name, (ours, theirs) in pairs.items():
        cases.append(
            Case(shape, name, "optax", lambda t=theirs: JaxRunner(t(), params, grads))
        )
        cases.append(
            Case(
                shape,
                name,
                "ours",
                lambda t=ours: JaxRunner(t(), params, grads),
                "optax",
            )
        )
        if grouped and n_leaves > 1:
            for impl, mode in (("ours grouped", "grouped"), ("ours fast", "fast")):
                cases.append(
                    Case(
                        shape,
                        name,
                        impl,
                        lambda t=ours, m=mode: JaxRunner(t(), params, grads, mode=m),
                        "optax",
                    )
                )
        if torch and name in TORCH_CLASSES:
            for mode in ("foreach", "fused"):
                cases.append(
                    Case(
                        shape,
                        name,
                        f"torch {mode}",
                        lambda m=mode, n=name: TorchRunner(n, m, params, grads),
                        "optax",
                    )
                )
    if "adam" in pairs and shape == "large":
        cases.append(
            Case(
                shape,
                "adam",
                "ours no donation",
                lambda: JaxRunner(jol.adam(LR), params, grads, donate=False),
                "ours",
            )
        )
    return cases


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


class LoadMeter:
    """CPU time used by *other* processes, in cores, from /proc/stat."""

    def __init__(self):
        self.start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                fields = [float(x) for x in f.readline().split()[1:]]
        except OSError:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        busy = (sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)) / tick
        own = sum(os.times()[:4])
        return busy, own, time.monotonic()

    def foreign_cores(self) -> float | None:
        end = self._read()
        if self.start is None or end is None:
            return None
        busy = end[0] - self.start[0]
        own = end[1] - self.start[1]
        wall = end[2] - self.start[2]
        return max(0.0, (busy - own) / wall) if wall > 0 else None


def measure(
    cases: list[Case],
    rounds: int,
    steps: int,
    warmup_s: float,
    log: Callable[[str], None],
    *,
    warmup_steps: int | None = None,
) -> None:
    """Interleaved timing: each round runs every case: warm-up, then `steps` timed steps.

    The warm-up lasts `warmup_s` seconds (at least one step), or exactly
    `warmup_steps` steps when given, so that every case takes the same number
    of steps and their final parameters can be compared.
    """
    for r in range(rounds):
        for case in cases:
            if case.runner is None:
                continue
            if warmup_steps is not None:
                for _ in range(warmup_steps):
                    case.runner.step()
                case.steps_run += warmup_steps
            else:
                deadline = time.perf_counter() + warmup_s
                case.runner.step()
                case.steps_run += 1
                while time.perf_counter() < deadline:
                    case.runner.step()
                    case.steps_run += 1
            gc_was = gc.isenabled()
            gc.disable()
            try:
                times = []
                for _ in range(steps):
                    start = time.perf_counter()
                    case.runner.step()
                    times.append(time.perf_counter() - start)
            finally:
                if gc_was:
                    gc.enable()
            case.steps_run += steps
            case.times.extend(times)
            case.round_medians.append(statistics.median(times))
        log(f"  round {r + 1}/{rounds} done")


def summarize(cases: list[Case]) -> list[dict]:
    """One row per case: medians, ratios against the reference (per-round spread)."""
    by_key = {(c.shape, c.optimizer, c.impl): c for c in cases}
    rows = []
    for case in cases:
        row = {
            "shape": case.shape,
            "optimizer": case.optimizer,
            "impl": case.impl,
            **{k: v for k, v in case.stats.items() if k != "error"},
        }
        if "error" in case.stats:
            row["error"] = case.stats["error"]
        if case.times:
            row["step_ms"] = 1e3 * statistics.median(case.times)
            row["step_ms_min"] = 1e3 * min(case.times)
            row["step_ms_max"] = 1e3 * max(case.times)
            row["steps_timed"] = len(case.times)
        ref = by_key.get((case.shape, case.optimizer, case.reference or ""))
        if ref is not None and ref.times and case.times:
            per_round = [a / b for a, b in zip(case.round_medians, ref.round_medians)]
            row["reference"] = ref.impl
            row["time_ratio"] = statistics.median(case.times) / statistics.median(
                ref.times
            )
            row["time_ratio_min"] = min(per_round)
            row["time_ratio_max"] = max(per_round)
            if "compile_s" in case.stats and "compile_s" in ref.stats:
                row["compile_ratio"] = case.stats["compile_s"] / ref.stats["compile_s"]
            if case.stats.get("compile_cpu_s") and ref.stats.get("compile_cpu_s"):
                row["compile_cpu_ratio"] = (
                    case.stats["compile_cpu_s"] / ref.stats["compile_cpu_s"]
                )
            if case.stats.get("hlo_bytes") and ref.stats.get("hlo_bytes"):
                row["traffic_ratio"] = case.stats["hlo_bytes"] / ref.stats["hlo_bytes"]
        per_leaf = by_key.get((case.shape, case.optimizer, "ours"))
        grouped_impls = ("ours grouped", "ours fast")
        if case.impl in grouped_impls and per_leaf is not None and per_leaf.times:
            if case.times:
                per_round = [
                    a / b for a, b in zip(case.round_medians, per_leaf.round_medians)
                ]
                row["vs_per_leaf"] = statistics.median(case.times) / statistics.median(
                    per_leaf.times
                )
                row["vs_per_leaf_min"] = min(per_round)
                row["vs_per_leaf_max"] = max(per_round)
        rows.append(row)
    return rows


def check_same_numbers(cases: list[Case]) -> dict[str, float]:
    """Largest |difference| of the params after the first step, against Optax's.

    Every JAX case of one (shape, optimizer) starts from the same params and
    gradients, so the results must agree to float32 rounding.
    """
    out = {}
    by_key = {(c.shape, c.optimizer, c.impl): c for c in cases}
    for case in cases:
        ref = by_key.get((case.shape, case.optimizer, "optax"))
        if (
            case.impl in ("optax",)
            or ref is None
            or not isinstance(case.runner, JaxRunner)
            or not isinstance(ref.runner, JaxRunner)
        ):
            continue
        pairs = zip(case.runner.first_step, ref.runner.first_step, strict=True)
        diff = max(float(np.max(np.abs(a - b))) for a, b in pairs)
        out[f"{case.shape}/{case.optimizer}/{case.impl}"] = diff
    return out


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _instructions(hlo_text: str) -> list[str]:
    """The compiled module's instructions, without names or source locations.

    Two programs with equal lists do the same work in the same kernels, so
    any difference in their measured time is noise.
    """
    import re

    text = re.sub(r", metadata=\{[^}]*\}", "", hlo_text)
    text = re.sub(r"%[\w.\-]+", "%_", text)
    lines = [line.strip() for line in text.splitlines()]
    return sorted(line for line in lines if line.startswith(("%", "ROOT")))


def traffic_all(log: Callable[[str], None]) -> list[dict]:
    """Compiled bytes of one step, ours against Optax, for every optimizer both have.

    Counted from the compiled module (no timing, so no noise), on a small
    two-leaf tree: a 2^16 vector and a 64x32 matrix.
    """
    tree = {"w": np.ones((2**16,), np.float32), "b": np.ones((64, 32), np.float32)}
    grads = jax.tree.map(lambda x: x * 0.01, tree)

    def compiled_stats(tx):
        params = jax.tree.map(jnp.asarray, tree)
        state = tx.init(params)
        compiled = make_apply_step(tx).lower(params, state, grads).compile()
        cost = compiled.cost_analysis()
        if isinstance(cost, list):
            cost = cost[0] if cost else {}
        text = compiled.as_text()
        return (
            float(cost.get("bytes accessed", float("nan"))),
            text.count(" fusion("),
            _instructions(text),
        )

    rows = []
    for name in jol.OPTIMIZERS:
        if not hasattr(optax, name):
            continue
        try:
            ours = compiled_stats(getattr(jol, name)(LR))
            theirs = compiled_stats(getattr(optax, name)(LR))
        except Exception as error:  # e.g. an update that needs extra arguments
            rows.append({"optimizer": name, "error": str(error).splitlines()[0]})
            continue
        rows.append(
            {
                "optimizer": name,
                "ours_bytes": ours[0],
                "optax_bytes": theirs[0],
                "ratio": ours[0] / theirs[0],
                "ours_kernels": ours[1],
                "optax_kernels": theirs[1],
                "same_program": ours[2] == theirs[2],
            }
        )
        log(f"  traffic {name}: {ours[0] / theirs[0]:.3f} of Optax's bytes")
    return rows
