"""Logistic regression: a convex problem whose scales come from the data.

f(w, b) = mean_i [log(1 + exp(z_i)) − y_i z_i], z_i = x_iᵀ w + b. The Hessian
is Xᵀ D X / n, so features measured in very different units give very
different curvatures per weight. On scikit-learn's breast-cancer data
(Street, Wolberg, Mangasarian, "Nuclear feature extraction for breast tumor
diagnosis", 1993; UCI Wisconsin Diagnostic Breast Cancer) the raw feature
means span about 0.004 to 880, a badly scaled problem met in practice; the
usual fix is to standardise the features (LeCun, Bottou, Orr, Müller,
"Efficient BackProp", 1998, §4.3).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class LogisticRegression:
    """Mean binary cross-entropy of a linear model; params are one vector.

    The parameter vector has d + 1 entries: the d weights, then the bias.

    Attributes:
        x: features, (n, d).
        y: labels in {0, 1}, (n,).
    """

    x: jax.Array
    y: jax.Array

    @property
    def dim(self) -> int:
        """Number of parameters (weights and bias)."""
        return int(self.x.shape[1]) + 1

    def init(self) -> jax.Array:
        """The start: all zeros."""
        return jnp.zeros((self.dim,), self.x.dtype)

    def logits(self, params: jax.Array) -> jax.Array:
        return self.x @ params[:-1] + params[-1]

    def loss(self, params: jax.Array) -> jax.Array:
        z = self.logits(params)
        return jnp.mean(jax.nn.softplus(z) - self.y * z)

    def grad(self, params: jax.Array) -> jax.Array:
        residual = jax.nn.sigmoid(self.logits(params)) - self.y
        n = self.x.shape[0]
        return jnp.concatenate([self.x.T @ residual / n, jnp.mean(residual)[None]])

    def accuracy(self, params: jax.Array, x=None, y=None) -> jax.Array:
        x = self.x if x is None else x
        y = self.y if y is None else y
        z = x @ params[:-1] + params[-1]
        return jnp.mean((z > 0) == (y > 0.5))


def make_logistic_regression(x, y, dtype=jnp.float32) -> LogisticRegression:
    """Logistic regression on (x, y).

    Raises:
        ValueError: x not 2-D, y not matching its rows, or labels outside {0, 1}.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64).reshape(-1)
    if x.ndim != 2 or y.shape[0] != x.shape[0]:
        raise ValueError(
            "make_logistic_regression: `x` must be (n, d) and `y` (n,), "
            f"got {x.shape} and {y.shape}."
        )
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(
            f"make_logistic_regression: `y` must hold only 0 and 1, got {np.unique(y)}."
        )
    return LogisticRegression(x=jnp.asarray(x, dtype), y=jnp.asarray(y, dtype))


def breast_cancer_logistic(
    standardize: bool, seed: int = 0, dtype=jnp.float32
) -> tuple[LogisticRegression, tuple[jax.Array, jax.Array]]:
    """The training part of breast_cancer as a problem, and the test part (x, y).

    Data from `problems.datasets.load_breast_cancer(standardize, seed)`: raw
    features when `standardize` is False.
    """
    from jaxopt_lessons.problems import _data

    data = _data.load_breast_cancer(standardize=standardize, seed=seed)
    problem = make_logistic_regression(data.x_train, data.y_train, dtype)
    test = (jnp.asarray(data.x_test, dtype), jnp.asarray(data.y_test, dtype))
    return problem, test
