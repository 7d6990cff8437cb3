"""MADGRAD: dual averaging with a cube-root scale and momentum by averaging.

Instead of moving from the current point, MADGRAD keeps the weighted sum s
of every gradient seen and jumps to z = x₀ − s / ∛(Σ weighted g²), the
point dual averaging proposes from the start x₀; the parameters then move a
fraction 1 − momentum of the way towards z. The weights grow like √t, so
later gradients count more.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MadgradState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["MadgradState", "madgrad", "scale_by_madgrad"]


@elementwise
@_checks.entry_point
def scale_by_madgrad(
    learning_rate: optax.ScalarOrSchedule,
    momentum: float = 0.9,
    eps: float = 1e-6,
) -> optax.GradientTransformation:
    """MADGRAD's step: from the parameters towards the dual-averaging point.

    Lesson: the learning rate here weighs each gradient in a sum rather than
    scaling a step, and the cube root (AdaGrad uses a square root) keeps the
    effective step from shrinking too fast. Momentum is an average of
    iterates: x moves only 1 − c of the way to z.

    Update rule (t from 0, s_0 = σ_0 = 0, x₀ the params at `init`; η read at
    step t when it is a schedule; c = `momentum`)::

        λ_t = (η_t + ε) · √(t + 1)
        σ_{t+1} = σ_t + λ_t · g_t²
        s_{t+1} = s_t + λ_t · g_t
        z = x₀ − s_{t+1} / (∛σ_{t+1} + ε)
        u_t = (1 − c) · z + c · x_t − x_t

    Args:
        learning_rate: η >= 0, or a schedule of the step count.
        momentum: c in [0, 1), the share of x_t kept.
        eps: ε > 0, added to η and to the cube root.

    Returns:
        An `optax.GradientTransformation` (the learning rate is inside it:
        its output is the whole step) whose state is Optax's `MadgradState`
        (count, grad_sum_sq, s, x0).

    Raises:
        ValueError: negative `learning_rate`; `momentum` outside [0, 1);
            `eps` not positive; `update` without params.
        TypeError: complex parameters (the cube-root scale is for reals).

    References:
        Defazio and Jelassi, "A Momentumized, Adaptive, Dual Averaged
        Gradient Method" (MADGRAD), JMLR 23 (2022), Algorithm 1
        (arXiv:2101.11075).
    """
    fn = _checks.caller("scale_by_madgrad")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _checks.check_interval(fn, "momentum", momentum, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        tm.reject_complex(fn, params)
        return MadgradState(
            count=jnp.zeros([], jnp.int32),
            grad_sum_sq=tm.zeros_like(params),
            s=tm.zeros_like(params),
            x0=jax.tree.map(jnp.array, tm.as_arrays(params)),
        )

    def update_fn(updates, state, params=None):
        updates = _checks.checked_updates(fn, updates, state, MadgradState, "s")
        if params is None:
            raise ValueError(f"{fn}: `update` needs `params` (x_t), got None.")
        params = tm.as_arrays(params)
        eta = (
            learning_rate(state.count)
            if _checks.is_schedule(learning_rate)
            else (learning_rate)
        )
        weight = (eta + eps) * jnp.sqrt(state.count + 1)
        # 1) Weighted sums of the gradients and of their squares.
        grad_sum_sq = jax.tree.map(
            lambda q, g: q + (weight * g**2).astype(g.dtype), state.grad_sum_sq, updates
        )
        s = jax.tree.map(
            lambda a, g: a + (weight * g).astype(g.dtype), state.s, updates
        )
        # 2) The dual-averaging point, and a move part of the way to it.
        z = jax.tree.map(
            lambda x0, a, q: x0 - a / (jnp.cbrt(q) + eps), state.x0, s, grad_sum_sq
        )
        updates = jax.tree.map(
            lambda z_, x: ((1 - momentum) * z_ + momentum * x) - x, z, params
        )
        state = MadgradState(
            count=tm.increment(state.count),
            grad_sum_sq=grad_sum_sq,
            s=s,
            x0=state.x0,
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def madgrad(
    learning_rate: optax.ScalarOrSchedule,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    eps: float = 1e-6,
) -> optax.GradientTransformationExtraArgs:
    """MADGRAD: `scale_by_madgrad` on the gradient plus λ · θ (an L2 term).

    Same signature, defaults and state layout as `optax.contrib.madgrad`.
    Chain: `add_decayed_weights(weight_decay)` → `scale_by_madgrad`. The
    weight decay is added to the gradient, as in the authors' code with its
    default `decouple_decay=False`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    fn = _checks.caller("madgrad")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        add_decayed_weights(weight_decay),
        scale_by_madgrad(learning_rate, momentum, eps),
    )
