"""Compiled bytes and programs of one step, ours against Optax's, for every
optimizer both have: counted from the compiled module, so free of timing noise."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons.benchmarks.cases import LR, bytes_accessed
from jaxopt_lessons.training import make_apply_step


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
        text = compiled.as_text()
        return (
            bytes_accessed(compiled),
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
