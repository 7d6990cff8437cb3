"""Linear least squares, with minibatch gradients: real data, real gradient noise.

f(w) = ½ mean_i (x_iᵀ w − y_i)². A minibatch gradient averages the per-example
gradients of `batch_size` examples drawn with replacement, so it is an
unbiased but noisy estimate of ∇f (Robbins & Monro, "A Stochastic
Approximation Method", Ann. Math. Statist. 22(3), 1951). The lesson's data set
is scikit-learn's diabetes data (Efron, Hastie, Johnstone, Tibshirani, "Least
Angle Regression", Ann. Statist. 32(2), 2004): 442 patients, 10 features, the
features and the target standardised.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LeastSquares:
    """½ mean (X w − y)² with its exact minimiser.

    Attributes:
        x: the design matrix, (n, d).
        y: the targets, (n,).
        w_star: the least-squares solution (computed in float64).
        loss_star: f(w_star).
    """

    x: jax.Array
    y: jax.Array
    w_star: jax.Array
    loss_star: jax.Array

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    def loss(self, w: jax.Array) -> jax.Array:
        r = self.x @ w - self.y
        return 0.5 * jnp.mean(r * r)

    def grad(self, w: jax.Array) -> jax.Array:
        """The full-batch gradient Xᵀ(Xw − y) / n."""
        return self.x.T @ (self.x @ w - self.y) / self.x.shape[0]

    def minibatch_grad(
        self, w: jax.Array, key: jax.Array, batch_size: int
    ) -> jax.Array:
        """The gradient on `batch_size` rows drawn with replacement (a Python int)."""
        idx = jax.random.randint(key, (batch_size,), 0, self.x.shape[0])
        xb, yb = self.x[idx], self.y[idx]
        return xb.T @ (xb @ w - yb) / batch_size

    def hessian_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of XᵀX / n, ascending (float64)."""
        x = np.asarray(self.x, np.float64)
        return np.linalg.eigvalsh(x.T @ x / x.shape[0])


def _standardize(a: np.ndarray) -> np.ndarray:
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)


def make_least_squares(
    x, y, *, standardize: bool = True, dtype=jnp.float32
) -> LeastSquares:
    """Least squares on data (x, y); with `standardize`, both are z-scored.

    Raises:
        ValueError: x not 2-D or y not matching its rows.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64).reshape(-1)
    if x.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"make_least_squares: `x` must be (n, d) and `y` (n,), got {x.shape} and {y.shape}."
        )
    if standardize:
        x, y = _standardize(x), _standardize(y)
    w_star = np.linalg.lstsq(x, y, rcond=None)[0]
    loss_star = 0.5 * np.mean((x @ w_star - y) ** 2)
    return LeastSquares(
        x=jnp.asarray(x, dtype),
        y=jnp.asarray(y, dtype),
        w_star=jnp.asarray(w_star, dtype),
        loss_star=jnp.asarray(loss_star, dtype),
    )


def diabetes_least_squares(seed: int = 0, dtype=jnp.float32) -> LeastSquares:
    """Least squares on all 442 rows of the diabetes data, standardised.

    The rows come from `problems.datasets.load_diabetes(seed)` (training and
    test parts joined, so the problem is the same for every seed).
    """
    from jaxopt_lessons.problems import _data

    data = _data.load_diabetes(seed)
    x = np.concatenate([np.asarray(data.x_train), np.asarray(data.x_test)])
    y = np.concatenate([np.asarray(data.y_train), np.asarray(data.y_test)])
    order = np.lexsort(x.T[::-1])  # the same row order whatever the split
    return make_least_squares(x[order], y[order], standardize=True, dtype=dtype)
