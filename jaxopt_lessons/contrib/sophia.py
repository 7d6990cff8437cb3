"""Sophia: momentum divided by a clipped estimate of the Hessian's diagonal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import SophiaState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib._wrapped import check_count, cond
from jaxopt_lessons.contrib.hutchinson import hutchinson_estimator_diag_hessian
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["SophiaState", "scale_by_sophia", "sophia"]


def _check_sophia_args(
    fn, b1, b2, eps, gamma, clip_threshold, update_interval, hessian_diagonal_fn,
    mu_dtype, verbose, print_win_rate_every_n_steps,
):  # fmt: skip
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    # h starts at 0, so ε alone keeps the first division finite.
    _checks.check_positive(fn, "eps", eps)
    _checks.check_non_negative(fn, "gamma", gamma)
    if clip_threshold is not None:
        _checks.check_positive(fn, "clip_threshold", clip_threshold)
    check_count(fn, "update_interval", update_interval)
    _checks.check_transformation(fn, "hessian_diagonal_fn", hessian_diagonal_fn)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)
    _checks.check_bool(fn, "verbose", verbose)
    check_count(fn, "print_win_rate_every_n_steps", print_win_rate_every_n_steps, 0)
    if verbose and print_win_rate_every_n_steps == 0:
        raise ValueError(
            f"{fn}: `verbose=True` needs `print_win_rate_every_n_steps` >= 1, got 0."
        )
    return mu_dtype


@elementwise
@_checks.entry_point
def scale_by_sophia(
    b1: jax.typing.ArrayLike = 0.965,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    gamma: jax.typing.ArrayLike = 0.01,
    clip_threshold: jax.typing.ArrayLike | None = 1.0,
    update_interval: jax.typing.ArrayLike = 10,
    hessian_diagonal_fn: optax.GradientTransformation = hutchinson_estimator_diag_hessian(),  # noqa: B008
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: jax.typing.ArrayLike = 0,
) -> optax.GradientTransformationExtraArgs:
    """Sophia's step: the momentum over a clipped, cheap curvature estimate.

    Lesson: Newton's step m / h is right where the curvature h is positive
    and well estimated, and wild elsewhere (negative or tiny h). Sophia keeps
    Newton's per-coordinate scaling but clips each coordinate's step to
    [−ρ, ρ]: where h is unreliable the step falls back to ρ · sign(m), a
    sign-SGD step. The Hessian's diagonal is estimated only every k steps
    (its cost is about two gradients) and averaged over time.

    Update rule (t from 1; m̂ with Adam's bias correction; h_0 = 0;
    ĥ: `hessian_diagonal_fn`'s estimate; ρ = `clip_threshold`)::

        m_t = β₁ m_{t−1} + (1 − β₁) g_t,   m̂_t = m_t / (1 − β₁ᵗ)
        u_t = clip(m̂_t / max(γ · h_{t−1}, ε), −ρ, ρ)
        h_t = β₂ h_{t−1} + (1 − β₂) ĥ_t     if (t − 1) mod k = 0
        h_t = h_{t−1}                       otherwise

    The step uses the estimate from before this call's Hessian update (the
    first step sees h = 0 and is ρ · sign(m)), as Optax and the authors'
    code do (the paper's Algorithm 3 writes the update after it). With
    k = `update_interval`, β₂'s memory spans about k / (1 − β₂) steps.

    `update` needs `params`. Its extra keyword arguments go to
    `hessian_diagonal_fn`'s `update` (the default, Hutchinson's estimator,
    needs ``obj_fn=``, the loss as a function of the params alone).

    Args:
        b1: β₁ in [0, 1), the momentum's decay.
        b2: β₂ in [0, 1), the decay of the Hessian estimate's average.
        eps: ε > 0, the floor of the denominator.
        gamma: γ >= 0, the scale of the curvature (the paper's ρ ratio).
        clip_threshold: ρ > 0, the largest step per coordinate; None: no clip.
        update_interval: k >= 1, steps between Hessian estimates.
        hessian_diagonal_fn: a gradient transformation whose update returns
            an estimate of the Hessian's diagonal (default
            `hutchinson_estimator_diag_hessian()`).
        mu_dtype: dtype of m; None keeps each parameter's dtype.
        verbose: print the share of coordinates not clipped ("win rate").
        print_win_rate_every_n_steps: how often to print it (>= 1 with
            `verbose`).

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `SophiaState(count, mu, nu, hessian_fn_state)`.

    Raises:
        ValueError: an invalid hyperparameter; `update` without `params`.
        TypeError: a non-integer `update_interval`; a `hessian_diagonal_fn`
            that is not a gradient transformation.

    Differences from Optax: none in the numbers. Optax accepts ε = 0 (0/0
    on a zero gradient) and `verbose` without a print interval (a modulo
    by zero).

    References:
        Liu, Li, Hall, Liang, Ma, "Sophia: A Scalable Stochastic Second-order
        Optimizer for Language Model Pre-training", ICLR 2024,
        arXiv:2305.14342, Algorithm 3; `optax.contrib.sophia` and Levanter
        (stanford-crfm/levanter), on which Optax's follows.
    """
    fn = _checks.caller("scale_by_sophia")
    mu_dtype = _check_sophia_args(
        fn, b1, b2, eps, gamma, clip_threshold, update_interval,
        hessian_diagonal_fn, mu_dtype, verbose, print_win_rate_every_n_steps,
    )  # fmt: skip
    estimator = optax.with_extra_args_support(hessian_diagonal_fn)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return SophiaState(
            count=jnp.zeros([], jnp.int32),
            mu=tm.zeros_like(params, mu_dtype),
            nu=tm.zeros_like(params),
            hessian_fn_state=estimator.init(params),
        )

    def update_fn(updates, state, params=None, **extra_args):
        updates = _checks.checked_updates(fn, updates, state, SophiaState, "nu")
        _checks.require_params(fn, params)
        count = tm.increment(state.count)
        mu = tm.ema_update(updates, state.mu, b1)
        mu_hat = tm.bias_correction(mu, b1, count)
        steps = jax.tree.map(
            lambda m, h: m / jnp.maximum(gamma * h, eps), mu_hat, state.nu
        )
        if clip_threshold is not None:
            if verbose:
                _print_win_rate(steps, count)
            steps = jax.tree.map(
                lambda u: jnp.clip(u, -clip_threshold, clip_threshold), steps
            )

        def estimate(hessian_state, nu):
            diagonal, hessian_state = estimator.update(
                updates, hessian_state, params, **extra_args
            )
            return hessian_state, tm.cast_like(tm.ema_update(diagonal, nu, b2), nu)

        hessian_state, nu = cond(
            state.count % update_interval == 0,
            estimate,
            lambda hessian_state, nu: (hessian_state, nu),
            state.hessian_fn_state,
            state.nu,
        )
        return steps, SophiaState(
            count=count, mu=tm.cast(mu, mu_dtype), nu=nu, hessian_fn_state=hessian_state
        )

    def _print_win_rate(steps, count):
        inside = sum(
            jnp.sum(jnp.abs(u) < clip_threshold) for u in jax.tree.leaves(steps)
        )
        size = sum(u.size for u in jax.tree.leaves(steps))
        cond(
            count % print_win_rate_every_n_steps == 0,
            lambda: jax.debug.print("Sophia win rate: {}", inside / size),
            lambda: None,
        )

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


@_checks.entry_point
def sophia(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.965,
    b2: jax.typing.ArrayLike = 0.99,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 1e-4,
    weight_decay_mask: Any | Callable[[optax.Params], Any] | None = None,
    gamma: jax.typing.ArrayLike = 0.01,
    clip_threshold: jax.typing.ArrayLike | None = 1.0,
    update_interval: jax.typing.ArrayLike = 10,
    hessian_diagonal_fn: optax.GradientTransformation = hutchinson_estimator_diag_hessian(),  # noqa: B008
    mu_dtype: Any | None = None,
    verbose: bool = False,
    print_win_rate_every_n_steps: jax.typing.ArrayLike = 0,
) -> optax.GradientTransformationExtraArgs:
    """Sophia: θ ← θ − η · (clip(m̂ / max(γh, ε), ρ) + λθ). Maths in `scale_by_sophia`.

    Same signature, defaults, state layout and numbers as
    `optax.contrib.sophia` (the same Hutchinson key gives the same
    estimates). `update` needs `params` and, for the default Hessian
    estimator, ``obj_fn=`` (the loss as a function of the params alone).

    Chain: `scale_by_sophia(...)` → `add_decayed_weights(weight_decay,
    weight_decay_mask)` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError, TypeError: an invalid hyperparameter (see
            `scale_by_sophia`).

    References:
        Liu et al., "Sophia", ICLR 2024, arXiv:2305.14342, Algorithm 3
        (decoupled weight decay as in its line 9).
    """
    _checks.check_learning_rate("sophia", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_sophia(
            b1=b1,
            b2=b2,
            eps=eps,
            gamma=gamma,
            clip_threshold=clip_threshold,
            update_interval=update_interval,
            hessian_diagonal_fn=hessian_diagonal_fn,
            mu_dtype=mu_dtype,
            verbose=verbose,
            print_win_rate_every_n_steps=print_win_rate_every_n_steps,
        ),
        add_decayed_weights(weight_decay, weight_decay_mask),
        scale_by_learning_rate(learning_rate),
    )
