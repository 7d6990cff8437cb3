"""Newton–Schulz orthogonalisation, batched over matrices of the same shape.

Muon replaces a momentum matrix M = U·S·Vᵀ by (nearly) U·Vᵀ: the same
directions, every singular value set to about 1. An SVD per step is too slow,
so Muon runs a few steps of an odd matrix polynomial, each costing three
matrix products::

    A = X·Xᴴ
    X ← a·X + (b·A + c·A²)·X          (= a·X + b·(XXᴴ)X + c·(XXᴴ)²X)

which acts on every singular value σ alone, σ ← a·σ + b·σ³ + c·σ⁵. Started
from X = M/‖M‖ (all σ ≤ 1), the coefficients (3.4445, −4.7750, 2.0315) push
every σ into roughly [0.7, 1.2] in five steps (Jordan, 2024). Wider matrices
are transposed first, so that A is the smaller Gram matrix.

Optax orthogonalises each parameter on its own. Here the matrices of one
shape are stacked and orthogonalised by one batched computation: a model
with twelve hidden layers of the same width runs one Newton–Schulz program,
not twelve (`orthogonalize_leaves`).

References:
    Jordan, "Muon: An optimizer for hidden layers in neural networks", 2024,
    https://kellerjordan.github.io/posts/muon/.
    Ahn et al., "Dion: Distributed Orthonormalized Updates", 2025,
    arXiv:2504.05295 (the five-step coefficient schedule `'dion'`).
    Boissin et al., "Turbo-Muon: Accelerating Orthogonality-Based Optimization
    with Pre-Conditioning", 2025, arXiv:2512.04632 (AOL rescaling).
    Grishina et al., "Accelerating Newton-Schulz Iteration for
    Orthogonalization via Chebyshev-type Polynomials", 2025, arXiv:2506.10935
    (Schatten-4 rescaling).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from optax.contrib import MuonDimensionNumbers

__all__ = [
    "DEFAULT_NS_COEFFS",
    "NS_COEFFS_PRESETS",
    "PRECONDITIONINGS",
    "matrix_shape",
    "orthogonalize_leaves",
    "orthogonalize_stack",
]

#: Jordan's quintic: the steepest slope at 0 that still keeps σ near 1.
DEFAULT_NS_COEFFS = (3.4445, -4.7750, 2.0315)
#: Dion's schedule: one (a, b, c) per step, steepest first.
DION_NS_COEFFS = (
    (4.0848, -6.8946, 2.9270),
    (3.9505, -6.3029, 2.6377),
    (3.7418, -5.5913, 2.3037),
    (2.8769, -3.1427, 1.2046),
    (2.8366, -3.0525, 1.2012),
)
#: The names `muon(ns_coeffs=...)` accepts, as in Optax 0.2.8.
NS_COEFFS_PRESETS = {"standard": DEFAULT_NS_COEFFS, "dion": DION_NS_COEFFS}
#: How X is scaled before the first step.
PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")

# AOL and Schatten rescalings use this floor, not `eps` (as Optax does).
_RESCALING_FLOOR = 1e-8

ReshapeFn = Callable[[jax.Array], jax.Array]


# ----------------------------------------------------------------------------
# One step of the iteration, on a stack of matrices (..., m, n) with m <= n.


def _gram(x: jax.Array) -> jax.Array:
    """X·Xᴴ for every matrix of the stack."""
    return x @ jnp.swapaxes(x, -1, -2).conj()


def _polynomial_step(x: jax.Array, a: jax.Array, coeffs: jax.Array) -> jax.Array:
    """X ← c₀·X + (c₁·A + c₂·A²)·X, with A = X·Xᴴ given."""
    b = coeffs[1] * a + coeffs[2] * a @ a
    return coeffs[0] * x + b @ x


def _plain_step(x: jax.Array, coeffs: jax.Array) -> jax.Array:
    return _polynomial_step(x, _gram(x), coeffs)


def _aol_first_step(x: jax.Array, coeffs: jax.Array) -> jax.Array:
    """The first step with AOL's row scaling: D = diag(Σⱼ|Aᵢⱼ|)^(−1/2), X ← D·X,
    A ← D·A·D, which bounds every σ by 1 (Gershgorin) more tightly than ‖X‖_F."""
    a = _gram(x)
    rows = jnp.maximum(jnp.sum(jnp.abs(a), axis=-1), _RESCALING_FLOOR)
    d = jax.lax.rsqrt(rows)[..., None]
    return _polynomial_step(x * d, a * d * jnp.swapaxes(d, -1, -2), coeffs)


def _schatten_first_step(x: jax.Array, coeffs: jax.Array) -> jax.Array:
    """The first step with X ← X/‖X‖_S4 = X/√‖X·Xᵀ‖_F (A ← A/‖A‖_F)."""
    a = x @ jnp.swapaxes(x, -1, -2)  # no conjugate, as in Optax
    norm = jnp.linalg.norm(a, ord="fro", axis=(-2, -1), keepdims=True)
    s = jax.lax.rsqrt(jnp.maximum(norm, _RESCALING_FLOOR))
    return _polynomial_step(x * s, a * s**2, coeffs)


_FIRST_STEP = {"aol": _aol_first_step, "schatten": _schatten_first_step}


def _is_concrete_int(value: Any) -> bool:
    return not isinstance(value, jax.core.Tracer) and np.ndim(value) == 0


def orthogonalize_stack(
    x: jax.Array,
    ns_coeffs: jax.Array,
    ns_steps: Any = 5,
    preconditioning: str = "frobenius",
    eps: Any = 1e-8,
) -> jax.Array:
    """Newton–Schulz on every matrix of `x`, shaped (batch, m, n) with m <= n.

    `ns_coeffs` is (3,) (the same step `ns_steps` times) or (k, 3) (k steps,
    one row each; `ns_steps` unused). A concrete `ns_steps` unrolls the loop;
    a traced one (under `optax.inject_hyperparams`) runs it as a loop whose
    first step is chosen with `lax.cond`.
    """
    if preconditioning == "frobenius":
        norm = jnp.linalg.norm(x, ord="fro", axis=(-2, -1), keepdims=True)
        x = x / (norm + eps)
    elif preconditioning == "spectral":
        norm = jnp.linalg.norm(x, ord=2, axis=(-2, -1), keepdims=True)
        x = x / (norm + eps)
    coeffs = ns_coeffs.astype(x.dtype)
    first = _FIRST_STEP.get(preconditioning, _plain_step)
    if coeffs.ndim == 2:
        for i in range(coeffs.shape[0]):
            x = (first if i == 0 else _plain_step)(x, coeffs[i])
        return x
    if _is_concrete_int(ns_steps):
        for i in range(int(ns_steps)):
            x = (first if i == 0 else _plain_step)(x, coeffs)
        return x

    def body(i, x):
        if first is _plain_step:
            return _plain_step(x, coeffs)
        return jax.lax.cond(
            i == 0, lambda x: first(x, coeffs), lambda x: _plain_step(x, coeffs), x
        )

    return jax.lax.fori_loop(0, ns_steps, body, x)


# ----------------------------------------------------------------------------
# From parameters to stacks of matrices and back.


def _axes(ndim: int, dims: MuonDimensionNumbers) -> tuple[tuple[int, ...], ...]:
    """(batch, reduction, output) axes of an array of rank `ndim`."""

    def normal(axes):
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        return tuple(a % ndim for a in axes)

    reduction, output = normal(dims.reduction_axis), normal(dims.output_axis)
    if set(reduction) & set(output):
        raise ValueError(
            "muon: the reduction and output axes of `MuonDimensionNumbers` must "
            f"differ, got {dims} for an array of rank {ndim}."
        )
    batch = tuple(a for a in range(ndim) if a not in reduction + output)
    return batch, reduction, output


def matrix_shape(
    shape: Sequence[int], dims: MuonDimensionNumbers | None
) -> tuple[int, int, int]:
    """(batch, fan_in, fan_out) of a parameter of `shape` seen as matrices."""
    if dims is None:
        dims = MuonDimensionNumbers()
    batch, reduction, output = _axes(len(shape), dims)
    size = lambda axes: math.prod(shape[a] for a in axes)  # noqa: E731
    return size(batch), size(reduction), size(output)


def _to_matrices(
    x: jax.Array, dims: MuonDimensionNumbers | None
) -> tuple[jax.Array, ReshapeFn]:
    """`x` as a stack (batch, fan_in, fan_out), and the way back."""
    if dims is None:
        if x.ndim != 2:
            raise ValueError(
                "muon: Newton–Schulz needs matrices: a parameter of shape "
                f"{x.shape} needs `MuonDimensionNumbers` saying which axes are "
                "the matrix's (the others are batch axes), or should be left "
                "to Adam."
            )
        dims = MuonDimensionNumbers()
    if x.ndim < 2:
        raise ValueError(
            f"muon: a parameter of shape {x.shape} has no matrix axes "
            f"(given {dims}); leave it to Adam."
        )
    batch, reduction, output = _axes(x.ndim, dims)
    order = batch + reduction + output
    back = tuple(int(i) for i in np.argsort(order))
    unflat = tuple(x.shape[a] for a in order)
    flat = matrix_shape(x.shape, dims)
    return (
        x.transpose(order).reshape(flat),
        lambda y: y.reshape(unflat).transpose(back),
    )


def orthogonalize_leaves(
    leaves: Sequence[jax.Array],
    dims: Sequence[MuonDimensionNumbers | None],
    ns_coeffs: jax.Array,
    ns_steps: Any = 5,
    preconditioning: str = "frobenius",
    eps: Any = 1e-8,
) -> list[jax.Array]:
    """Orthogonalises every leaf, one batched computation per matrix shape.

    Each leaf is seen as a stack of (fan_in, fan_out) matrices (`dims`: None
    for a plain 2-D leaf); the matrices of all leaves with the same shape and
    dtype are concatenated, transposed to wide form if tall, orthogonalised
    together by `orthogonalize_stack`, and put back in place.
    """
    views = [_to_matrices(x, d) for x, d in zip(leaves, dims)]
    groups: dict[tuple, list[int]] = {}
    for i, (m, _) in enumerate(views):
        groups.setdefault((m.shape[1:], m.dtype), []).append(i)
    out: list[Any] = [None] * len(leaves)
    for (shape, _), members in groups.items():
        stack = jnp.concatenate([views[i][0] for i in members], axis=0)
        tall = shape[0] > shape[1]
        if tall:
            stack = jnp.swapaxes(stack, -1, -2)
        stack = orthogonalize_stack(stack, ns_coeffs, ns_steps, preconditioning, eps)
        if tall:
            stack = jnp.swapaxes(stack, -1, -2)
        sizes = np.cumsum([views[i][0].shape[0] for i in members])[:-1]
        for i, part in zip(members, jnp.split(stack, sizes, axis=0)):
            out[i] = views[i][1](part)
    return out
