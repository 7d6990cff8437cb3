"""Models whose whole training step the benchmark times, in JAX and in torch.

A training step is what a user runs: the forward pass, the backward pass, the
optimizer update and the new parameters. Each model here gives its initial
parameters (a tree of float32 NumPy arrays), one fixed batch, its loss written
on the ordinary parameter tree in JAX, and the same loss in torch on the same
tree of tensors, so that every implementation starts from the same numbers.

- `probes`: many small leaves. A bank of `n` linear probes of `size` weights
  each, stored one leaf per probe, all reading a shared batch of features: the
  least model work per leaf, so the optimizer's cost per leaf shows most.
- `deep_mlp`: a deep, narrow residual MLP on the 8x8 digits (`depth` hidden
  layers of `width` units, two leaves each).
- `transformer`: a small GPT-like model with a real forward pass (causal
  multi-head attention, a GELU MLP, layer norms, tied shapes from
  `shapes.transformer_shapes`) on a fixed batch of random tokens.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons.benchmarks.shapes import transformer_shapes


@dataclasses.dataclass
class Model:
    """One benchmark model: parameters, a batch and its loss in JAX and torch."""

    name: str
    description: str
    params: Any  # tree of float32 NumPy arrays
    batch: tuple[np.ndarray, ...]
    loss: Callable[..., jax.Array]  # loss(params, *batch), ordinary tree
    torch_loss: Callable[..., Any] | None  # the same on a tree of tensors

    @property
    def n_leaves(self) -> int:
        return len(jax.tree.leaves(self.params))

    @property
    def n_params(self) -> int:
        return sum(x.size for x in jax.tree.leaves(self.params))


# ---------------------------------------------------------------------------
# Many small leaves: a bank of linear probes
# ---------------------------------------------------------------------------


def probes(n: int = 2000, size: int = 256, batch: int = 16, seed: int = 0) -> Model:
    """`n` linear probes on shared features; one (size,) leaf per probe.

    Loss: mean over the batch and the probes of (x · w_i − y_i)².
    """
    rng = np.random.default_rng(seed)
    params = [
        (rng.standard_normal(size) / math.sqrt(size)).astype(np.float32)
        for _ in range(n)
    ]
    x = rng.standard_normal((batch, size)).astype(np.float32)
    y = rng.standard_normal((batch, n)).astype(np.float32)

    def loss(params, x, y):
        predictions = jnp.stack([x @ w for w in params], axis=1)
        return jnp.mean((predictions - y) ** 2)

    def torch_loss(params, x, y):
        import torch

        predictions = torch.stack([x @ w for w in params], dim=1)
        return torch.mean((predictions - y) ** 2)

    return Model(
        "probes",
        f"{n} leaves of {size} floats: a linear probe per leaf, batch {batch}",
        params,
        (x, y),
        loss,
        torch_loss,
    )


# ---------------------------------------------------------------------------
# A deep narrow MLP on digits
# ---------------------------------------------------------------------------


def _digits_batch(batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets as sk

    x, y = sk.load_digits(return_X_y=True)
    rows = np.random.default_rng(seed).permutation(len(y))[:batch]
    return (x[rows] / 16.0).astype(np.float32), y[rows].astype(np.int32)


def deep_mlp(
    depth: int = 128, width: int = 32, batch: int = 256, seed: int = 0
) -> Model:
    """A residual MLP on digits: 64 → width, `depth` residual tanh layers, → 10.

    Each hidden layer is ``h = h + tanh(h @ W + b) / sqrt(depth)`` so that the
    signal neither vanishes nor explodes over 100+ layers.
    """
    rng = np.random.default_rng(seed)

    def dense(fan_in, fan_out):
        w = rng.standard_normal((fan_in, fan_out)) / math.sqrt(fan_in)
        return {"w": w.astype(np.float32), "b": np.zeros(fan_out, np.float32)}

    params = {
        "inp": dense(64, width),
        "hidden": [dense(width, width) for _ in range(depth)],
        "out": dense(width, 10),
    }
    x, y = _digits_batch(batch, seed)
    scale = 1.0 / math.sqrt(depth)

    def loss(params, x, y):
        h = jnp.tanh(x @ params["inp"]["w"] + params["inp"]["b"])
        for layer in params["hidden"]:
            h = h + scale * jnp.tanh(h @ layer["w"] + layer["b"])
        logits = h @ params["out"]["w"] + params["out"]["b"]
        log_p = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))

    def torch_loss(params, x, y):
        import torch

        h = torch.tanh(x @ params["inp"]["w"] + params["inp"]["b"])
        for layer in params["hidden"]:
            h = h + scale * torch.tanh(h @ layer["w"] + layer["b"])
        logits = h @ params["out"]["w"] + params["out"]["b"]
        return torch.nn.functional.cross_entropy(logits, y.long())

    return Model(
        "deep_mlp",
        f"residual MLP on digits, {depth} hidden layers of {width}, batch {batch}",
        params,
        (x, y),
        loss,
        torch_loss,
    )


# ---------------------------------------------------------------------------
# A small GPT-like transformer
# ---------------------------------------------------------------------------


def _transformer_params(shapes: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)

    def init(path, shape):
        name = jax.tree_util.keystr(path)
        if "scale" in name:
            return np.ones(shape, np.float32)
        if "bias" in name:
            return np.zeros(shape, np.float32)
        fan_in = shape[0] if "emb" not in name else shape[1]
        return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)

    return jax.tree_util.tree_map_with_path(
        init, shapes, is_leaf=lambda s: isinstance(s, tuple)
    )


def transformer(
    layers: int = 7,
    width: int = 256,
    mlp: int = 1024,
    vocab: int = 5319,
    context: int = 512,
    heads: int = 4,
    batch: int = 2,
    tokens: int = 32,
    seed: int = 0,
) -> Model:
    """Pre-norm causal transformer, next-token cross-entropy on random tokens."""
    shapes = transformer_shapes(layers, width, mlp, vocab, context)
    params = _transformer_params(shapes, seed)
    rng = np.random.default_rng(seed + 1)
    ids = rng.integers(0, vocab, (batch, tokens + 1)).astype(np.int32)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    head_dim = width // heads
    mask = np.tril(np.ones((tokens, tokens), bool))

    def layer_norm(x, p):
        mean = jnp.mean(x, -1, keepdims=True)
        var = jnp.mean((x - mean) ** 2, -1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + 1e-5) * p["scale"] + p["bias"]

    def dense(x, p):
        return x @ p["kernel"] + p["bias"]

    def loss(params, inputs, targets):
        b, t = inputs.shape
        x = params["tok_emb"][inputs] + params["pos_emb"][:t]
        for i in range(layers):
            p = params[f"layer{i}"]
            h = layer_norm(x, p["ln1"])
            q, k, v = (
                dense(h, p[n]).reshape(b, t, heads, head_dim) for n in ("q", "k", "v")
            )
            scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim)
            scores = jnp.where(mask, scores, -1e9)
            attended = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores), v)
            x = x + dense(attended.reshape(b, t, width), p["o"])
            h = layer_norm(x, p["ln2"])
            x = x + dense(jax.nn.gelu(dense(h, p["mlp_in"])), p["mlp_out"])
        logits = dense(layer_norm(x, params["ln_f"]), params["head"])
        log_p = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_p, targets[..., None], axis=-1))

    def torch_loss(params, inputs, targets):
        import torch
        import torch.nn.functional as F

        def layer_norm_t(x, p):
            return F.layer_norm(x, (width,), p["scale"], p["bias"], eps=1e-5)

        def dense_t(x, p):
            return x @ p["kernel"] + p["bias"]

        b, t = inputs.shape
        inputs = inputs.long()
        x = params["tok_emb"][inputs] + params["pos_emb"][:t]
        causal = torch.from_numpy(mask)
        for i in range(layers):
            p = params[f"layer{i}"]
            h = layer_norm_t(x, p["ln1"])
            q, k, v = (
                dense_t(h, p[n]).reshape(b, t, heads, head_dim) for n in ("q", "k", "v")
            )
            scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(head_dim)
            scores = scores.masked_fill(~causal, -1e9)
            attended = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v)
            x = x + dense_t(attended.reshape(b, t, width), p["o"])
            h = layer_norm_t(x, p["ln2"])
            x = x + dense_t(
                F.gelu(dense_t(h, p["mlp_in"]), approximate="tanh"), p["mlp_out"]
            )
        logits = dense_t(layer_norm_t(x, params["ln_f"]), params["head"])
        return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1).long())

    n = sum(
        math.prod(s)
        for s in jax.tree.leaves(shapes, is_leaf=lambda s: isinstance(s, tuple))
    )
    return Model(
        "transformer",
        f"{layers} layers of width {width}, {len(jax.tree.leaves(params))} leaves, "
        f"{n:,} params, batch {batch} x {tokens} tokens",
        params,
        (inputs, targets),
        loss,
        torch_loss,
    )


def models(
    quick: bool, probe_leaves: int | None = None
) -> dict[str, Callable[[], Model]]:
    """The benchmark's models at full or quick size (built on demand)."""
    if quick:
        n = probe_leaves or 200
        return {
            "probes": lambda: probes(n, 64, 8),
            "deep_mlp": lambda: deep_mlp(16, 16, 64),
            "transformer": lambda: transformer(1, 32, 128, 331, 64, 2, 2, 8),
        }
    n = probe_leaves or 2000
    return {
        "probes": lambda: probes(n),
        "deep_mlp": lambda: deep_mlp(),
        "transformer": lambda: transformer(),
    }
