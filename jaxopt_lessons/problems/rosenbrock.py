"""Rosenbrock's banana valley: a curved ravine.

f(x) = Σ_i [b (x_{i+1} − x_i²)² + (a − x_i)²], minimum f = 0 at x = (a, a², ...)
(with a = 1: all ones). The valley floor is a parabola, so the shallow
direction turns as the iterate moves; the standard start is (−1.2, 1)
(Rosenbrock, "An automatic method for finding the greatest or least value of
a function", The Computer Journal 3(3), 1960; Moré, Garbow, Hillstrom,
"Testing Unconstrained Optimization Software", ACM TOMS 7(1), 1981, problem 1
and, for d > 2, the chained form).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxopt_lessons.problems._keys import numpy_rng


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Rosenbrock:
    """The chained Rosenbrock function with constants a and b."""

    a: jax.Array
    b: jax.Array
    x0: jax.Array

    @property
    def dim(self) -> int:
        return int(self.x0.shape[-1])

    @property
    def minimiser(self) -> jax.Array:
        """(a, a², a, a², ...) for d = 2; all a for a = 1 in any dimension."""
        x = jnp.full_like(self.x0, self.a)
        if self.dim == 2:
            x = x.at[1].set(self.a**2)
        return x

    def loss(self, x: jax.Array) -> jax.Array:
        return jnp.sum(self.b * (x[1:] - x[:-1] ** 2) ** 2 + (self.a - x[:-1]) ** 2)

    def grad(self, x: jax.Array) -> jax.Array:
        return jax.grad(self.loss)(x)


def make_rosenbrock(
    dim: int = 2,
    *,
    a: float = 1.0,
    b: float = 100.0,
    key: int | jax.Array | None = None,
    spread: float = 0.1,
    dtype=jnp.float32,
) -> Rosenbrock:
    """Rosenbrock's function in `dim` >= 2 dimensions.

    Args:
        dim: number of coordinates.
        a, b: the constants (1, 100 is the classic).
        key: None for the classic start (−1.2, 1, −1.2, 1, ...); a PRNG key or
            seed adds N(0, spread²) to it.
        spread: standard deviation of the random offset.
        dtype: floating dtype.

    Raises:
        ValueError: `dim` < 2.
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"make_rosenbrock: `dim` must be an int >= 2, got {dim!r}.")
    x0 = jnp.where(jnp.arange(dim) % 2 == 0, -1.2, 1.0).astype(dtype)
    if key is not None:
        noise = numpy_rng("make_rosenbrock", key).standard_normal(dim)
        x0 = x0 + jnp.asarray(spread * noise, dtype)
    return Rosenbrock(a=jnp.asarray(a, dtype), b=jnp.asarray(b, dtype), x0=x0)
