"""Rectified Adam: plain momentum until the variance estimate can be trusted."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.transforms._states import ScaleByAdamState
from jaxopt_lessons.transforms.adam import init_adam_state, next_moments_state

__all__ = ["scale_by_radam"]


@elementwise
@_checks.entry_point
def scale_by_radam(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    threshold: jax.typing.ArrayLike = 5.0,
    *,
    nesterov: bool = False,
) -> optax.GradientTransformation:
    """RAdam's direction: Adam's, damped while v̂ rests on too few gradients.

    Lesson: in its first steps Adam divides by √v̂ estimated from a handful of
    gradients; that estimate is so noisy that early steps can be huge, which
    is why Adam is usually run with a learning-rate warm-up. RAdam computes
    how many gradients the average effectively holds (ρ_t) and, until there
    are enough, takes plain momentum steps; afterwards it scales Adam's step
    by r_t < 1, which rises to 1 as the estimate firms up: a warm-up derived
    from the variance rather than tuned by hand.

    Update rule (t from 1; Adam's m_t, v_t, m̂_t, v̂_t; ρ_∞ = 2/(1 − β₂) − 1)::

        ρ_t = ρ_∞ − 2 t β₂ᵗ / (1 − β₂ᵗ)
        r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
        u_t = r_t · m̂_t / (√(v̂_t + ε_root) + ε)   if ρ_t ≥ threshold
        u_t = m̂_t                                otherwise

    Args:
        b1, b2, eps, eps_root, nesterov: as `scale_by_adam`.
        threshold: the ρ_t from which the adaptive step is used (5 in the
            paper, where r_t first is real and finite).

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAdamState`.

    Raises:
        ValueError: a decay outside [0, 1); negative `eps` or `eps_root`, or
            both 0; a NaN `threshold`.
        TypeError: `nesterov` not a bool.

    Differences from PyTorch: `torch.optim.RAdam` rectifies when ρ_t > 5 and
    adds ε to √v before the bias correction (ε/√(1 − β₂ᵗ) here), so the two
    differ by about ε/√v̂.

    References:
        Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond",
        ICLR 2020, Algorithm 2.
    """
    fn = _checks.caller("scale_by_radam")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _checks.check_interval(fn, "threshold", threshold, -float("inf"), float("inf"))
    _checks.check_bool(fn, "nesterov", nesterov)
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def init_fn(params):
        return init_adam_state(fn, params)

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAdamState, "mu")
        mu = tm.ema_update(updates, state.mu, b1)
        nu = tm.ema_update_sq(updates, state.nu, b2)
        count = tm.increment(state.count)
        # 1) How many gradients does v_t effectively average?
        b2t = b2**count
        rho = rho_inf - 2 * count * b2t / (1 - b2t)
        # 2) The bias-corrected moments, as in Adam.
        mu_hat = tm.debiased_momentum(mu, updates, b1, count, nesterov=nesterov)
        nu_hat = tm.bias_correction(nu, b2, count)
        # 3) Adam's step shrunk by r_t once ρ_t is large enough, else momentum.
        r = jnp.sqrt(
            (rho - 4.0) * (rho - 2.0) * rho_inf
            / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
        )  # fmt: skip

        def one(m, v):
            adaptive = r.astype(m.dtype) * m / (jnp.sqrt(v + eps_root) + eps)
            return jnp.where(rho >= threshold, adaptive, m)

        updates = jax.tree.map(one, mu_hat, nu_hat)
        state = next_moments_state(ScaleByAdamState, state, count, mu, nu)
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)
