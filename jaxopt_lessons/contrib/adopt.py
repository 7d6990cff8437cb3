"""ADOPT: Adam that normalises the gradient by the scale of the past only.

Adam divides g_t by a scale that already contains g_t², so a large gradient
partly cancels itself, and the step and the gradient are correlated; this is
why Adam can diverge for some β₂ on simple convex problems. ADOPT divides by
v_{t-1}, measured before g_t arrived, and applies momentum after the
normalisation. It converges for any β₂ (Taniguchi et al., Theorem 3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms._states import ScaleByAdamState
from jaxopt_lessons.transforms.adam import init_adam_state, next_moments_state
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate

__all__ = ["ScaleByAdamState", "adopt", "scale_by_adopt"]


def _quarter_power(count: jax.Array) -> jax.Array:
    """The paper's clipping bound c_t = t^¼."""
    return count**0.25


def _check_clip_value_fn(fn: str, clip_value_fn: Any) -> None:
    if isinstance(clip_value_fn, jax.core.Tracer):
        # `optax.inject_hyperparams` takes every function argument for a
        # schedule and passes its value.
        raise TypeError(
            f"{fn}: `clip_value_fn` must be a function of the step count, got a "
            "traced value: inside optax.inject_hyperparams, pass "
            "static_args=('clip_value_fn',)."
        )
    if not callable(clip_value_fn):
        raise TypeError(
            f"{fn}: `clip_value_fn` must be a function of the step count, got "
            f"{clip_value_fn!r} of type {type(clip_value_fn).__name__}."
        )


@elementwise
@_checks.entry_point
def scale_by_adopt(
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.9999,
    eps: jax.typing.ArrayLike = 1e-6,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = _quarter_power,
) -> optax.GradientTransformation:
    """ADOPT's direction: momentum of gradients normalised by the past scale.

    Lesson: dividing g_t by a scale that does not yet contain g_t removes the
    correlation between a gradient and its own step size. The first step
    only measures the scale (its update is 0); clipping the normalised
    gradient to ±c_t guards the early steps, where v is one sample.

    Update rule (t counts calls from 0; v_0 = g_0², m_0 = 0, u_0 = 0)::

        n_t = clip(g_t / max(√v_{t-1}, ε), −c(t), c(t))   (t >= 1)
        m_t = β₁ · m_{t-1} + (1 − β₁) · n_t
        v_t = β₂ · v_{t-1} + (1 − β₂) · |g_t|²
        u_t = m_t                                  (nesterov=False)
        u_t = β₁ · m_t + (1 − β₁) · n_t            (nesterov=True)

    with c(t) = `clip_value_fn(t)`, t^¼ by default; no clipping when
    `use_clipping` is False.

    Args:
        b1: β₁, the momentum decay, in [0, 1).
        b2: β₂, the second-moment decay, in [0, 1).
        eps: ε > 0, the floor of √v.
        mu_dtype: dtype of m; None keeps each parameter's.
        nesterov: apply the momentum once more to the fresh term.
        use_clipping: clip the normalised gradient to ±c(t).
        clip_value_fn: c, a function of the step count t (an int32 array).

    Returns:
        An `optax.GradientTransformation` whose state is a `ScaleByAdamState`
        (m in `mu`, v in `nu`), as Optax's.

    Raises:
        ValueError: a decay outside [0, 1); `eps` not positive; a non-float
            dtype.
        TypeError: a flag not a bool; `clip_value_fn` not callable; complex
            parameters with `use_clipping` (complex numbers have no order).

    References:
        Taniguchi, Harada, Minegishi, Oshima, Jeong, Nagahara, Iiyama, Suzuki,
        Iwasawa, Matsuo, "ADOPT: Modified Adam Can Converge with Any β₂ with
        the Optimal Rate", NeurIPS 2024 (arXiv:2411.02853), Algorithm 2.
    """
    fn = _checks.caller("scale_by_adopt")
    _checks.check_interval(fn, "b1", b1, 0.0, 1.0)
    _checks.check_interval(fn, "b2", b2, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)
    _checks.check_bool(fn, "nesterov", nesterov)
    _checks.check_bool(fn, "use_clipping", use_clipping)
    _check_clip_value_fn(fn, clip_value_fn)

    def init_fn(params):
        if use_clipping:
            # A complex number has no order to clip by (Optax fails inside
            # jnp.clip); without clipping the rule is defined for them.
            tm.reject_complex(fn, params)
        return init_adam_state(fn, params, mu_dtype)

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, ScaleByAdamState, "mu")
        first = state.count == 0
        # On the first call v is set to g² and m stays 0 (β₂ → 0, β₁ → 1).
        b1_t = jnp.where(first, 1, b1)
        b2_t = jnp.where(first, 0, b2)
        # 1) The gradient over the scale of the past (v_{t-1}).
        normed = jax.tree.map(
            lambda g, v: g / jnp.maximum(jnp.sqrt(v), eps), updates, state.nu
        )
        if use_clipping:
            bound = clip_value_fn(state.count)
            normed = jax.tree.map(lambda n: jnp.clip(n, -bound, bound), normed)
        # 2) Momentum of the normalised gradients; then the new scale.
        mu = tm.ema_update(normed, state.mu, b1_t)
        nu = tm.ema_update_sq(updates, state.nu, b2_t)
        updates = tm.ema_update(normed, mu, b1_t) if nesterov else mu
        state = next_moments_state(
            ScaleByAdamState, state, tm.increment(state.count), mu, nu
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def adopt(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.9999,
    eps: jax.typing.ArrayLike = 1e-6,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    use_clipping: bool = True,
    clip_value_fn: Callable[[jax.Array], jax.Array] = _quarter_power,
) -> optax.GradientTransformationExtraArgs:
    """ADOPT: θ ← θ − η · u_t, u_t from `scale_by_adopt`.

    Same signature, defaults and state layout as `optax.contrib.adopt`.
    Chain: `scale_by_adopt` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    fn = _checks.caller("adopt")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_adopt(
            b1,
            b2,
            eps,
            mu_dtype,
            nesterov=nesterov,
            use_clipping=use_clipping,
            clip_value_fn=clip_value_fn,
        ),
        scale_by_learning_rate(learning_rate),
    )
