"""The tree shapes the update-only benchmark runs on, as trees of shape tuples,
and the arrays made from them."""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

__all__ = ["describe_shape", "make_arrays", "shape_trees", "transformer_shapes"]


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
