"""AdEMAMix: Adam whose direction mixes a fast and a very slow momentum.

Adam's momentum forgets a gradient after about 1/(1 − β₁) = 10 steps.
AdEMAMix keeps a second, much slower average (β₃ = 0.9999 remembers about
10,000 steps) and adds α times it to Adam's numerator, so that old gradients
still push. The simplified variant keeps a single accumulator that sums
instead of averaging, and mixes in the current gradient.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import ScaleByAdemamixState, ScaleBySimplifiedAdEMAMixState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = [
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "ademamix",
    "scale_by_ademamix",
    "scale_by_simplified_ademamix",
    "simplified_ademamix",
]


def _check_decay_or_schedule(fn: str, name: str, value: Any) -> None:
    """β₃ may follow a schedule of the step count (the paper warms it up)."""
    if not _checks.is_schedule(value):
        _checks.check_interval(fn, name, value, 0.0, 1.0)


def _check_mix_or_schedule(fn: str, name: str, value: Any) -> None:
    """α >= 0, or a schedule of the step count (checked where it is used)."""
    if not _checks.is_schedule(value):
        _checks.check_non_negative(fn, name, value)


def _at(value: Any, count: jax.Array) -> Any:
    """A hyperparameter's value at step `count`: a schedule is evaluated."""
    return value(count) if _checks.is_schedule(value) else value


@elementwise
@_checks.entry_point
def scale_by_ademamix(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    b3: optax.ScalarOrSchedule = 0.9999,
    alpha: optax.ScalarOrSchedule = 6.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
) -> optax.GradientTransformation:
    """AdEMAMix's direction: (fast m̂ + α · slow m) over Adam's scale.

    Lesson: a single momentum must choose between reacting quickly (small
    β) and using old gradients (β near 1). Keeping both and adding them lets
    the fast one steer while the slow one, never bias-corrected and started
    at 0, grows in gradually (the paper also warms up α and β₃ with
    schedules, which both arguments accept).

    Update rule (t from 1, m1_0 = m2_0 = v_0 = 0; β₃ and α are read at
    step t − 1 when they are schedules)::

        m1_t = β₁ · m1_{t-1} + (1 − β₁) · g_t
        m2_t = β₃ · m2_{t-1} + (1 − β₃) · g_t
        v_t  = β₂ · v_{t-1}  + (1 − β₂) · |g_t|²
        u_t  = (m1_t / (1 − β₁ᵗ) + α · m2_t) / (√(v_t / (1 − β₂ᵗ) + ε_root) + ε)

    Args:
        b1: β₁, the fast decay, in [0, 1).
        b2: β₂, the second-moment decay, in [0, 1).
        b3: β₃, the slow decay, in [0, 1), or a schedule of the step count.
        alpha: α >= 0, the weight of the slow average, or a schedule.
        eps: ε >= 0, outside the square root.
        eps_root: ε_root >= 0, inside it (not both 0).
        mu_dtype: dtype of m1, m2 and v; None keeps each parameter's (as
            Optax, which stores all three moments in this dtype).

    Returns:
        An `optax.GradientTransformation` whose state is Optax's
        `ScaleByAdemamixState` (count, count_m2, m1, m2, nu).

    Raises:
        ValueError: a decay outside [0, 1); negative `alpha`, `eps` or
            `eps_root`; `eps` and `eps_root` both 0; a non-float dtype.

    Note: this block's default α is 6, `ademamix`'s is 5 (as in Optax).

    Difference from Optax 0.2.8: the moments are stored back in
    `mu_dtype`; Optax's become float32 after one step with float32
    gradients, so its state changes type (a `lax.scan` carry fails).

    References:
        Pagliardini, Ablin, Grangier, "The AdEMAMix Optimizer: Better, Faster,
        Older", ICLR 2025 (arXiv:2409.03137), Algorithm 1.
    """
    fn = _checks.caller("scale_by_ademamix")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _check_decay_or_schedule(fn, "b3", b3)
    _check_mix_or_schedule(fn, "alpha", alpha)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByAdemamixState(
            count=jnp.zeros([], jnp.int32),
            count_m2=jnp.zeros([], jnp.int32),
            m1=tm.zeros_like(params, mu_dtype),
            m2=tm.zeros_like(params, mu_dtype),
            nu=tm.zeros_like(params, mu_dtype),
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByAdemamixState, "m1"
        )
        b3_t, alpha_t = _at(b3, state.count_m2), _at(alpha, state.count_m2)
        # 1) Two averages of the direction, one of the scale.
        m1 = tm.ema_update(updates, state.m1, b1)
        m2 = tm.ema_update(updates, state.m2, b3_t)
        nu = tm.ema_update_sq(updates, state.nu, b2)
        count = tm.increment(state.count)
        # 2) Only the fast average and the scale are bias-corrected.
        m1_hat = tm.bias_correction(m1, b1, count)
        nu_hat = tm.bias_correction(nu, b2, count)
        # 3) The mixture over Adam's scale.
        mixed = jax.tree.map(lambda f, s: f + alpha_t * s, m1_hat, m2)
        updates = tm.adam_ratio(mixed, nu_hat, eps, eps_root)
        state = ScaleByAdemamixState(
            count=count,
            count_m2=tm.increment(state.count_m2),
            m1=tm.cast_like(m1, state.m1),
            m2=tm.cast_like(m2, state.m2),
            nu=tm.cast_like(nu, state.nu),
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def ademamix(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    b3: optax.ScalarOrSchedule = 0.9999,
    alpha: optax.ScalarOrSchedule = 5.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """AdEMAMix: θ ← θ − η · (u_t + λ · θ), u_t from `scale_by_ademamix`.

    Same signature, defaults and state layout as `optax.contrib.ademamix`.
    Chain: `scale_by_ademamix` → `add_decayed_weights(weight_decay, mask)`
    → `scale_by_learning_rate(learning_rate)` (decoupled decay, × η as
    in AdamW).

    Raises:
        ValueError: an invalid hyperparameter.

    References:
        Pagliardini, Ablin, Grangier, "The AdEMAMix Optimizer: Better, Faster,
        Older", ICLR 2025 (arXiv:2409.03137).
    """
    fn = _checks.caller("ademamix")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_ademamix(b1, b2, b3, alpha, eps, eps_root, mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


@elementwise
@_checks.entry_point
def scale_by_simplified_ademamix(
    b1: jax.typing.ArrayLike = 0.99,
    b2: jax.typing.ArrayLike = 0.95,
    alpha: optax.ScalarOrSchedule = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
) -> optax.GradientTransformation:
    """Simplified AdEMAMix: one summed momentum plus α times the gradient.

    Lesson: AdEMAMix's two averages, schedule-free averaging and accelerated
    SGD are one family; one accumulator that sums (m ← β₁m + g, no 1 − β₁
    factor) and a weight α on the fresh gradient cover it. α = 0 is Adam
    with a rescaled learning rate and momentum.

    Update rule (t from 1, m_0 = n_0 = 0; α read at step t − 1 when it is a
    schedule)::

        m_t = β₁ · m_{t-1} + g_t
        n_t = β₂ · n_{t-1} + (1 − β₂) · |g_t|²
        u_t = (m_t + α · g_t) / (√(n_t / (1 − β₂ᵗ) + ε_root) + ε)

    Args:
        b1: β₁, the momentum decay, in [0, 1).
        b2: β₂, the second-moment decay, in [0, 1).
        alpha: α >= 0, the weight of the current gradient, or a schedule.
        eps: ε >= 0, outside the square root.
        eps_root: ε_root >= 0, inside it (not both 0).

    Returns:
        An `optax.GradientTransformation` whose state is Optax's
        `ScaleBySimplifiedAdEMAMixState` (t, m, n).

    Raises:
        ValueError: a decay outside [0, 1); negative `alpha`, `eps` or
            `eps_root`; `eps` and `eps_root` both 0.

    Difference from Optax: for complex gradients n averages |g|² (Optax's
    g·g is complex); real gradients give the same numbers.

    References:
        Morwani, Vyas, Ganesh, Kakade, Jelassi, Kwun, "Connections between
        Schedule-Free Optimizers, AdEMAMix, and Accelerated SGD Variants",
        2025 (arXiv:2502.02431).
    """
    fn = _checks.caller("scale_by_simplified_ademamix")
    _checks.check_adam_args(fn, b1, b2, eps, eps_root)
    _check_mix_or_schedule(fn, "alpha", alpha)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleBySimplifiedAdEMAMixState(
            t=jnp.zeros([], jnp.int32),
            m=tm.zeros_like(params),
            n=tm.zeros_like(params),
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(
            fn, updates, state, ScaleBySimplifiedAdEMAMixState, "m"
        )
        alpha_t = _at(alpha, state.t)
        m = tm.trace_update(updates, state.m, b1)
        n = tm.ema_update_sq(updates, state.n, b2)
        t = tm.increment(state.t)
        n_hat = tm.bias_correction(n, b2, t)
        mixed = jax.tree.map(lambda m_, g: m_ + alpha_t * g, m, updates)
        updates = tm.adam_ratio(mixed, n_hat, eps, eps_root)
        state = ScaleBySimplifiedAdEMAMixState(
            t=t, m=tm.cast_like(m, state.m), n=tm.cast_like(n, state.n)
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def simplified_ademamix(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.99,
    b2: jax.typing.ArrayLike = 0.95,
    alpha: optax.ScalarOrSchedule = 0.0,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Simplified AdEMAMix: θ ← θ − η · (u_t + λ · θ), u_t from
    `scale_by_simplified_ademamix`.

    Same signature, defaults and state layout as
    `optax.contrib.simplified_ademamix`. Chain:
    `scale_by_simplified_ademamix` → `add_decayed_weights(weight_decay, mask)`
    → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    fn = _checks.caller("simplified_ademamix")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_simplified_ademamix(b1, b2, alpha, eps, eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
