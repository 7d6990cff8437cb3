"""LAMB, LARS and Fromage: layer-wise steps measured against the layer's weights."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adam import scale_by_adam
from jaxopt_lessons.transforms.momentum import trace
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.trust_ratio import scale_by_trust_ratio
from jaxopt_lessons.transforms.weight_decay import (
    add_decayed_weights,
    params_term,
)


@_checks.entry_point
def lamb(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-6,
    eps_root: jax.typing.ArrayLike = 0.0,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """LAMB: AdamW's step rescaled per layer by the trust ratio ‖θ‖ / ‖step‖.

    Same signature, defaults and state layout as `optax.lamb`.
    Chain: `scale_by_adam(b1, b2, eps, eps_root)` → `add_decayed_weights(
    weight_decay, mask)` → `scale_by_trust_ratio()` → `scale_by_learning_rate`.
    Each layer then moves by η · ‖θ_layer‖ per step.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("lamb", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        add_decayed_weights(weight_decay=weight_decay, mask=mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )


@_checks.entry_point
def lars(
    learning_rate: optax.ScalarOrSchedule,
    weight_decay: optax.ScalarOrSchedule = 0.0,
    weight_decay_mask: Any = True,
    trust_coefficient: jax.typing.ArrayLike = 0.001,
    eps: jax.typing.ArrayLike = 0.0,
    trust_ratio_mask: Any = True,
    momentum: jax.typing.ArrayLike = 0.9,
    nesterov: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """LARS: SGD with momentum whose per-layer step is c · ‖θ‖ / ‖g + λθ‖ times η.

    Same signature, defaults and state layout as `optax.lars`. The masks are
    pytrees of bools like the params (or functions returning one; True for
    all): `weight_decay_mask` picks the decayed leaves, `trust_ratio_mask` the
    rescaled ones (biases and norms are usually left out of both).

    Chain: `add_decayed_weights(weight_decay, weight_decay_mask)` →
    `optax.masked(scale_by_trust_ratio(trust_coefficient=..., eps=...),
    trust_ratio_mask)` → `scale_by_learning_rate` → `trace(momentum, nesterov)`.

    Raises:
        ValueError: an invalid hyperparameter.
        TypeError: `nesterov` not a bool.
    """
    _checks.check_learning_rate("lars", "learning_rate", learning_rate)
    _checks.check_bool("lars", "nesterov", nesterov)
    _checks.check_interval("lars", "momentum", momentum, 0.0, 1.0)
    return _chain.chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        optax.masked(
            scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps),
            trust_ratio_mask,
        ),
        scale_by_learning_rate(learning_rate),
        trace(decay=momentum, nesterov=nesterov),
    )


def _fromage_shrink(learning_rate) -> optax.GradientTransformation:
    """u ← u + (1/√(1 + η_t²) − 1) · θ: Fromage's pull of θ towards zero.

    `add_decayed_weights` refuses a negative decay (before a preconditioner it
    would push weights outwards); here the term comes after the sign flip of
    the learning rate, so a negative factor shrinks θ. Its mechanics and state
    are those of `add_decayed_weights` (`weight_decay.params_term`): empty, or
    a `WeightDecaySchedule` for a schedule.
    """

    def shrink(updates, params, lr):
        factor = 1 / (1 + lr**2) ** 0.5 - 1
        return jax.tree.map(lambda u, p: u + factor * p, updates, params)

    return params_term(_checks.caller("fromage"), learning_rate, shrink)


@_checks.entry_point
def fromage(
    learning_rate: optax.ScalarOrSchedule,
    min_norm: jax.typing.ArrayLike = 1e-6,
) -> optax.GradientTransformationExtraArgs:
    """Fromage: each layer moves by the fraction η of its norm, then shrinks.

    Update rule (per layer; g: its gradient, θ: its parameters)::

        θ ← (θ − η · (‖θ‖ / ‖g‖) · g) / √(1 + η²)

    The step has length η · ‖θ‖ whatever the gradient's scale. A step at right
    angles to θ would lengthen θ by the factor √(1 + η²) (Pythagoras); the
    division undoes that, so the weights' norms stay put over training. Same
    signature, defaults and state layout as `optax.fromage`.

    Chain: `scale_by_trust_ratio(min_norm)` → `scale_by_learning_rate(η /
    √(1 + η²))` → u + (1/√(1 + η²) − 1) · θ.

    Raises:
        ValueError: an invalid hyperparameter.

    References:
        Bernstein, Vahdat, Yue, Liu, "On the distance between two neural
        networks and the stability of learning", NeurIPS 2020, Algorithm 1.
    """
    _checks.check_learning_rate("fromage", "learning_rate", learning_rate)
    if _checks.is_schedule(learning_rate):

        def step_size(count):
            lr = learning_rate(count)
            return 1 / (1 + lr**2) ** 0.5 * lr

    else:
        step_size = learning_rate * (1 / (1 + learning_rate**2) ** 0.5)
    return _chain.chain(
        scale_by_trust_ratio(min_norm),
        scale_by_learning_rate(step_size),
        _fromage_shrink(learning_rate),
    )
