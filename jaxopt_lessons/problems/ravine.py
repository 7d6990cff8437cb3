"""Quadratic bowls: the ravine (condition number κ) and the badly scaled bowl.

f(x) = ½ xᵀ A x with A = Q diag(λ) Qᵀ and its minimum at x* = 0. In a ravine
the eigenvalues run geometrically from μ = 1/κ to L = 1. Gradient descent must
keep its step below 2/L to stay stable along the steep direction, and then
crawls along the shallow one: it needs about κ steps to shrink the error by a
fixed factor, where heavy-ball momentum needs about √κ (Polyak, 1964; Goh,
"Why Momentum Really Works", Distill, 2017; Goodfellow, Bengio, Courville,
*Deep Learning*, MIT Press 2016, §4.3.1).

The badly scaled bowl is the same function with the scales chosen by hand,
e.g. λ = (1000, 1): per-coordinate methods (RMSprop, Adam) can undo such a
scale difference when Q = I, not when the bowl is rotated (Kingma & Ba,
"Adam: A Method for Stochastic Optimization", ICLR 2015, §2.1).

Both are registered as pytrees, so a whole problem can be passed to a jitted
or vmapped function as an argument.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons.problems._keys import numpy_rng


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Ravine:
    """f(x) = ½ xᵀ A x, with A = Q diag(λ) Qᵀ; the minimum is x* = 0.

    Attributes:
        hessian: A, symmetric positive definite.
        eigenvalues: λ; `basis[:, i]` is the eigenvector of `eigenvalues[i]`.
            `make_ravine` sorts them ascending (shallowest first).
        basis: Q, orthogonal.
        x0: the starting point.
    """

    hessian: jax.Array
    eigenvalues: jax.Array
    basis: jax.Array
    x0: jax.Array

    @property
    def kappa(self) -> float:
        """Condition number L/μ."""
        return float(jnp.max(self.eigenvalues) / jnp.min(self.eigenvalues))

    @property
    def dim(self) -> int:
        return int(self.x0.shape[-1])

    def loss(self, x: jax.Array) -> jax.Array:
        return 0.5 * x @ (self.hessian @ x)

    def grad(self, x: jax.Array) -> jax.Array:
        return self.hessian @ x

    def eigen_coordinates(self, x: jax.Array) -> jax.Array:
        """x in the eigenbasis: entry i is the component along `basis[:, i]`."""
        return x @ self.basis

    def gd_step_size(self) -> float:
        """2 / (L + μ): the fixed step with the best worst-case rate for GD."""
        big, small = float(jnp.max(self.eigenvalues)), float(jnp.min(self.eigenvalues))
        return 2.0 / (big + small)

    def heavy_ball_constants(self) -> tuple[float, float]:
        """(α, β) of the fastest heavy ball on this quadratic (Polyak, 1964).

        α = (2 / (√L + √μ))², β = ((√κ − 1) / (√κ + 1))²; its error shrinks by
        (√κ − 1) / (√κ + 1) per step, against (κ − 1) / (κ + 1) for GD.
        """
        big, small = float(jnp.max(self.eigenvalues)), float(jnp.min(self.eigenvalues))
        alpha = (2.0 / (np.sqrt(big) + np.sqrt(small))) ** 2
        root_kappa = np.sqrt(big / small)
        beta = ((root_kappa - 1) / (root_kappa + 1)) ** 2
        return float(alpha), float(beta)

    def nesterov_constants(self) -> tuple[float, float]:
        """(1/L, (√κ − 1)/(√κ + 1)): Nesterov's constant-momentum scheme for
        strongly convex f (Nesterov, *Introductory Lectures on Convex
        Optimization*, 2004, §2.2)."""
        big, small = float(jnp.max(self.eigenvalues)), float(jnp.min(self.eigenvalues))
        root_kappa = np.sqrt(big / small)
        return 1.0 / big, float((root_kappa - 1) / (root_kappa + 1))


def _random_rotation(gaussian: np.ndarray) -> np.ndarray:
    """A random orthogonal matrix: QR of a Gaussian, signs fixed so Q is unique."""
    basis, upper = np.linalg.qr(gaussian)
    return basis * np.sign(np.diag(upper))


def quadratic(
    eigenvalues: jax.typing.ArrayLike,
    *,
    rotated: bool = True,
    key: int | jax.Array = 0,
    x0: jax.typing.ArrayLike | None = None,
    dtype=jnp.float32,
) -> Ravine:
    """The quadratic ½ xᵀ Q diag(λ) Qᵀ x for given eigenvalues λ.

    Args:
        eigenvalues: λ, positive, in the order of the basis vectors.
        rotated: a random orthogonal Q (QR of a Gaussian); False keeps Q = I,
            so that the scales are aligned with the coordinates.
        key: PRNG key or integer seed for Q and the default x0 ~ N(0, I)
            (drawn by `numpy_rng(key)`, see `problems._keys`).
        x0: the starting point; overrides the random one.
        dtype: floating dtype of every array.

    Raises:
        ValueError: fewer than two eigenvalues, one that is not > 0, or an x0
            of the wrong shape.
    """
    lam = np.asarray(eigenvalues, np.float64)
    if lam.ndim != 1 or lam.size < 2:
        raise ValueError(
            f"quadratic: `eigenvalues` must be a 1-D sequence of >= 2 values, got {lam!r}."
        )
    if not np.all(lam > 0):
        raise ValueError(f"quadratic: `eigenvalues` must all be > 0, got {lam!r}.")
    dim = lam.size
    rng = numpy_rng("quadratic", key)
    gaussian, start = rng.standard_normal((dim, dim)), rng.standard_normal(dim)
    basis = _random_rotation(gaussian) if rotated else np.eye(dim)
    hessian = (basis * lam) @ basis.T
    hessian = 0.5 * (hessian + hessian.T)
    if x0 is None:
        x0 = start
    x0 = jnp.asarray(x0, dtype)
    if x0.shape != (dim,):
        raise ValueError(f"quadratic: `x0` must have shape ({dim},), got {x0.shape}.")
    return Ravine(
        hessian=jnp.asarray(hessian, dtype),
        eigenvalues=jnp.asarray(lam, dtype),
        basis=jnp.asarray(basis, dtype),
        x0=x0,
    )


def make_ravine(
    kappa: float = 100.0,
    dim: int = 2,
    *,
    rotated: bool = True,
    key: int | jax.Array = 0,
    x0: jax.typing.ArrayLike | None = None,
    dtype=jnp.float32,
) -> Ravine:
    """A ravine with condition number `kappa` in `dim` dimensions.

    The eigenvalues are geometric from 1/κ to 1 (L = 1, μ = 1/κ), ascending.

    Args:
        kappa: L/μ >= 1.
        dim: number of coordinates (>= 2).
        rotated, key, x0, dtype: as `quadratic`.

    Raises:
        ValueError: `kappa` < 1 or `dim` < 2.
    """
    if not kappa >= 1:
        raise ValueError(f"make_ravine: `kappa` must be >= 1, got {kappa!r}.")
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 2:
        raise ValueError(f"make_ravine: `dim` must be an int >= 2, got {dim!r}.")
    eigenvalues = np.geomspace(1.0 / kappa, 1.0, dim)
    return quadratic(eigenvalues, rotated=rotated, key=key, x0=x0, dtype=dtype)


def make_scaled_bowl(
    scales: jax.typing.ArrayLike = (1000.0, 1.0),
    *,
    rotated: bool = False,
    key: int | jax.Array = 0,
    x0: jax.typing.ArrayLike | None = None,
    dtype=jnp.float32,
) -> Ravine:
    """The badly scaled bowl f(x) = ½ Σ a_i x_i² (axis-aligned by default).

    The default is the 1000:1 bowl ½(1000 x₁² + x₂²) started at x0 = (1, 1):
    the gradient is 1000 times larger along x₁ than along x₂.

    Args:
        scales: a_i > 0, e.g. ``np.logspace(0, 3, d)`` for d coordinates.
        rotated: rotate the bowl by a random Q, hiding the scales from any
            per-coordinate method.
        key: PRNG key or seed for Q.
        x0: the start; defaults to all ones.
        dtype: floating dtype of every array.
    """
    scales = np.asarray(scales, np.float64)
    if x0 is None:
        x0 = np.ones(scales.shape[-1] if scales.ndim else 1)
    return quadratic(scales, rotated=rotated, key=key, x0=x0, dtype=dtype)
