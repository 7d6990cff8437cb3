"""Where an interpolating polynomial has its minimum: the zoom search's trial points."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["cubic_minimizer", "quadratic_minimizer"]


def cubic_minimizer(a, fa, fpa, b, fb, c, fc):
    """The minimiser of the cubic through (a, fa), (b, fb), (c, fc) with slope fpa at a.

    Write p(x) = A d³ + B d² + C d + D with d = x − a. Then D = fa, C = fpa,
    and with δ_b = b − a, δ_c = c − a the two remaining conditions
    p(b) = fb, p(c) = fc are a 2×2 linear system in (A, B)::

        [δ_b³ δ_b²] [A]   [fb − fa − C δ_b]
        [δ_c³ δ_c²] [B] = [fc − fa − C δ_c]

    whose inverse is written out (determinant δ_b² δ_c² (δ_b − δ_c)).
    p'(x) = 3A d² + 2B d + C = 0 gives the local minimum at
    d = (−B + √(B² − 3AC)) / (3A). A negative radicand gives NaN, which the
    caller treats as "no cubic point" (every comparison with NaN is False).

    Reference: Nocedal & Wright, "Numerical Optimization", 2nd ed., 2006,
    section 3.5 (eq. 3.59 and the text after it); the same formula as
    `scipy.optimize`'s line search.
    """
    C = fpa
    db = b - a
    dc = c - a
    det = (db * dc) ** 2 * (db - dc)
    inverse_times_det = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    rhs = jnp.array([fb - fa - C * db, fc - fa - C * dc])
    A, B = jnp.dot(inverse_times_det, rhs, precision=jax.lax.Precision.HIGHEST) / det
    radicand = B * B - 3.0 * A * C
    return a + (-B + jnp.sqrt(radicand)) / (3.0 * A)


def quadratic_minimizer(a, fa, fpa, b, fb):
    """The minimiser of the quadratic through (a, fa), (b, fb) with slope fpa at a.

    p(x) = B d² + C d + D with d = x − a: D = fa, C = fpa and
    B = (fb − fa − C δ)/δ² for δ = b − a; p'(x) = 0 at d = −C / (2B).

    Reference: Nocedal & Wright, "Numerical Optimization", 2nd ed., 2006,
    eq. 3.58.
    """
    C = fpa
    db = b - a
    B = (fb - fa - C * db) / (db**2)
    return a - C / (2.0 * B)
