"""A ravine: the quadratic bowl f(x) = ½ xᵀ A x with one steep and one shallow side.

The eigenvalues of A run geometrically from μ = 1/κ to L = 1, so κ = L/μ is
the condition number. Gradient descent must keep its step below 2/L to stay
stable along the steep direction, and then crawls along the shallow one: it
needs about κ steps, where heavy-ball momentum needs about √κ (Polyak, 1964;
Goh, "Why Momentum Really Works", Distill, 2017).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Ravine:
    """f(x) = ½ xᵀ A x, with A = Q diag(λ) Qᵀ; the minimum is x* = 0."""

    hessian: jax.Array  # A, symmetric positive definite
    eigenvalues: jax.Array  # λ, ascending, from 1/κ to 1
    basis: jax.Array  # Q, columns are the eigenvectors
    x0: jax.Array  # the starting point

    @property
    def kappa(self) -> float:
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def dim(self) -> int:
        return int(self.x0.shape[0])

    def loss(self, x: jax.Array) -> jax.Array:
        return 0.5 * x @ (self.hessian @ x)

    def grad(self, x: jax.Array) -> jax.Array:
        return self.hessian @ x

    def eigen_coordinates(self, x: jax.Array) -> jax.Array:
        """x in the eigenbasis: [..., 0] is the shallowest axis, [..., -1] the steepest."""
        return x @ self.basis

    def gd_step_size(self) -> float:
        """2 / (L + μ): the fixed step with the best worst-case rate for GD."""
        return float(2.0 / (self.eigenvalues[-1] + self.eigenvalues[0]))

    def heavy_ball_constants(self) -> tuple[float, float]:
        """(α, β) of the fastest heavy ball on this quadratic (Polyak, 1964)."""
        big, small = float(self.eigenvalues[-1]), float(self.eigenvalues[0])
        alpha = (2.0 / (np.sqrt(big) + np.sqrt(small))) ** 2
        root_kappa = np.sqrt(big / small)
        beta = ((root_kappa - 1) / (root_kappa + 1)) ** 2
        return float(alpha), float(beta)


def make_ravine(
    kappa: float = 100.0,
    dim: int = 2,
    *,
    rotated: bool = True,
    key: int | jax.Array = 0,
    x0: jax.Array | None = None,
    dtype=jnp.float32,
) -> Ravine:
    """Builds a ravine with condition number `kappa` in `dim` dimensions.

    Args:
        kappa: L/μ >= 1.
        dim: number of coordinates (>= 2).
        rotated: rotate the axes by a random orthogonal Q (QR of a Gaussian);
            False keeps them aligned with the coordinates.
        key: PRNG key or seed for Q and the default x0 ~ N(0, I).
        x0: the starting point; overrides the random one.
        dtype: floating dtype of every array.
    """
    if not kappa >= 1:
        raise ValueError(f"make_ravine: `kappa` must be >= 1, got {kappa!r}.")
    if dim < 2:
        raise ValueError(f"make_ravine: `dim` must be >= 2, got {dim!r}.")
    if isinstance(key, int):
        key = jax.random.key(key)
    rotation_key, start_key = jax.random.split(key)
    eigenvalues = jnp.geomspace(1.0 / kappa, 1.0, dim, dtype=jnp.float64 if jax.config.x64_enabled else jnp.float32)
    if rotated:
        gaussian = jax.random.normal(rotation_key, (dim, dim))
        basis, upper = jnp.linalg.qr(gaussian)
        basis = basis * jnp.sign(jnp.diag(upper))  # a unique Q for each key
    else:
        basis = jnp.eye(dim)
    hessian = (basis * eigenvalues) @ basis.T
    hessian = 0.5 * (hessian + hessian.T)
    if x0 is None:
        x0 = jax.random.normal(start_key, (dim,))
    return Ravine(
        hessian=hessian.astype(dtype),
        eigenvalues=eigenvalues.astype(dtype),
        basis=basis.astype(dtype),
        x0=jnp.asarray(x0, dtype),
    )
