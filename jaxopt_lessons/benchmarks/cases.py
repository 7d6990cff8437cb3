"""What the update-only benchmark measures: optimizer pairs (ours and Optax's
under the same names), one runner per implementation, and the cases of a shape.

A *case* is one (shape, optimizer, implementation). Its runner owns its own
parameters, state and gradients, compiles its step once (timed: that is the
compile time), reads the compiled module's byte count and memory, and then
runs single steps on demand.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons.benchmarks.shapes import make_arrays
from jaxopt_lessons.grouping import group, is_grouped
from jaxopt_lessons.grouping import grouped as grouped_tx
from jaxopt_lessons.training import make_apply_step

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


def bytes_accessed(compiled: Any) -> float:
    """The bytes a compiled step reads and writes, from its `cost_analysis`
    (NaN where XLA does not say)."""
    cost = compiled.cost_analysis()
    if isinstance(cost, list):  # older jax returns one dict per device
        cost = cost[0] if cost else {}
    return float(cost.get("bytes accessed", float("nan"))) if cost else float("nan")


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
        memory = compiled.memory_analysis()
        state_arrays = [x for x in jax.tree.leaves(state) if x.ndim > 0]
        minimal = (
            2 * _bytes(params)
            + _bytes(grads)
            + 2 * sum(x.size * x.dtype.itemsize for x in state_arrays)
        )
        hlo = bytes_accessed(compiled)
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
