"""A quadratic whose gradient comes with additive Gaussian noise.

The gradient oracle returns A x + σ ξ with ξ ~ N(0, I): the simplest model of
minibatch noise, and one with an exact answer. With a constant step the
iterates never settle; they jitter in a "noise ball" whose size sets a floor
on E f. For a linear iteration z' = M z + b ξ (SGD or heavy ball, per
eigen-direction) the stationary covariance P solves the discrete Lyapunov
equation P = M P Mᵀ + σ² b bᵀ, which `stationary_loss` solves numerically.

The solution has a closed form (`closed_form_loss`). Along an eigenvalue λ the
heavy ball x' = x + β (x − x₋) − α g is an AR(2) process driven by −α σ ξ, and
the stationary variance of an AR(2) process gives, with the effective step
η = α / (1 − β),

    E f = Σ_i η σ² / (2 (2 − η λ_i (1 − β)/(1 + β)))      (heavy ball)
    E f = Σ_i η σ² / (2 (2 − η λ_i))                      (SGD, β = 0)

So at the same η the two floors agree while η λ ≪ 1 (per direction the ratio
is 1 − η λ β/(1 + β) + O((ηλ)²)), and they part near SGD's edge: SGD is
stable only for η λ < 2 and its floor blows up there, while the heavy ball is
stable for α λ < 2 (1 + β), i.e. η λ < 2 (1 + β)/(1 − β), and its floor stays
finite. For small η this is the equivalence of Yuan, Ying & Sayed, "On the
Influence of Momentum Acceleration on Online Learning", JMLR 17, 2016; the
AR(2) variance is in Box, Jenkins & Reinsel, *Time Series Analysis* (§3.2.4).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons.problems.ravine import Ravine, make_ravine


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class NoisyQuadratic:
    """½ xᵀ A x observed through noisy gradients A x + σ ξ.

    Attributes:
        quadratic: the noise-free problem (`Ravine`).
        sigma: σ >= 0, the noise's standard deviation per coordinate.
    """

    quadratic: Ravine
    sigma: jax.Array

    @property
    def x0(self) -> jax.Array:
        return self.quadratic.x0

    def loss(self, x: jax.Array) -> jax.Array:
        return self.quadratic.loss(x)

    def grad(self, x: jax.Array) -> jax.Array:
        """The true (noise-free) gradient."""
        return self.quadratic.grad(x)

    def noisy_grad(self, x: jax.Array, key: jax.Array) -> jax.Array:
        """One draw of the noisy gradient A x + σ ξ."""
        noise = jax.random.normal(key, x.shape, x.dtype)
        return self.quadratic.grad(x) + self.sigma * noise

    def stationary_loss(self, learning_rate: float, momentum: float = 0.0) -> float:
        """Exact long-run E f of SGD / heavy ball (Optax's `trace` form) at this lr.

        Heavy ball: v' = β v + g, x' = x − α v'. Returns inf when the iteration
        is unstable for some eigenvalue.
        """
        alpha, beta = float(learning_rate), float(momentum)
        sigma2 = float(self.sigma) ** 2
        total = 0.0
        for lam in np.asarray(self.quadratic.eigenvalues, np.float64):
            # State (x, v) along one eigenvector; the noise enters through g.
            m = np.array([[1 - alpha * lam, -alpha * beta], [lam, beta]])
            b = np.array([-alpha, 1.0])
            if np.max(np.abs(np.linalg.eigvals(m))) >= 1:
                return float("inf")
            lhs = np.eye(4) - np.kron(m, m)
            cov = np.linalg.solve(lhs, sigma2 * np.outer(b, b).ravel()).reshape(2, 2)
            total += 0.5 * lam * cov[0, 0]
        return float(total)

    def closed_form_loss(self, learning_rate: float, momentum: float = 0.0) -> float:
        """`stationary_loss` from its closed form (see the module docstring).

        Heavy ball with lr α and momentum β (Optax's `trace` form), per
        eigenvalue λ: E f_λ = (1 + β) α σ² / (2 (1 − β)(2 (1 + β) − α λ)).
        Returns inf outside the stable range α λ_max < 2 (1 + β).
        """
        alpha, beta = float(learning_rate), float(momentum)
        lam = np.asarray(self.quadratic.eigenvalues, np.float64)
        if not alpha < self.edge_learning_rate(beta):
            return float("inf")
        sigma2 = float(self.sigma) ** 2
        per_direction = (
            (1 + beta)
            * alpha
            * sigma2
            / (2 * (1 - beta) * (2 * (1 + beta) - alpha * lam))
        )
        return float(per_direction.sum())

    def edge_learning_rate(self, momentum: float = 0.0) -> float:
        """The largest stable lr α: 2 (1 + β) / λ_max (2 / λ_max for SGD).

        In effective-step terms, η = α / (1 − β) < 2 (1 + β) / ((1 − β) λ_max).
        """
        beta = float(momentum)
        return 2 * (1 + beta) / float(np.max(np.asarray(self.quadratic.eigenvalues)))


def make_noisy_quadratic(
    kappa: float = 10.0,
    dim: int = 10,
    sigma: float = 0.5,
    *,
    key: int | jax.Array = 0,
    start_scale: float = 3.0,
    dtype=jnp.float32,
) -> NoisyQuadratic:
    """A rotated ravine (eigenvalues geometric in [1/κ, 1]) with gradient noise σ.

    Args:
        kappa, dim: as `make_ravine`.
        sigma: σ >= 0.
        key: PRNG key or seed for the rotation and the start.
        start_scale: x0 ~ N(0, start_scale² I).
        dtype: floating dtype.

    Raises:
        ValueError: `sigma` < 0 (and as `make_ravine`).
    """
    if not sigma >= 0:
        raise ValueError(f"make_noisy_quadratic: `sigma` must be >= 0, got {sigma!r}.")
    base = make_ravine(kappa, dim, rotated=True, key=key, dtype=dtype)
    base = dataclasses.replace(base, x0=base.x0 * jnp.asarray(start_scale, dtype))
    return NoisyQuadratic(quadratic=base, sigma=jnp.asarray(sigma, dtype))
