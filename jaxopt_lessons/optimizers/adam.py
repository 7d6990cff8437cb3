"""Adam, AdamW, NAdam, NAdamW and AMSGrad."""

from __future__ import annotations

from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adam import scale_by_adam, scale_by_amsgrad
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights


def _adam_chain(
    learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype, decay=None
):
    """scale_by_adam → [decay] → scale_by_learning_rate: the chain of `adam`,
    `adamw`, `nadam` and `nadamw`, which differ in `decay` and `nesterov`'s
    default. `decay` is built by the caller, so its checks run first."""
    fn = _checks.caller("adam")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _checks.check_bool(fn, "nesterov", nesterov)
    links = [
        scale_by_adam(
            b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov, nu_dtype=nu_dtype
        )
    ]
    if decay is not None:
        links.append(decay)
    return _chain.chain(*links, scale_by_learning_rate(learning_rate))


@_checks.entry_point
def adam(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Adam: θ ← θ − η · m̂_t / (√v̂_t + ε). The maths is in `scale_by_adam`.

    Same signature, defaults and state layout as `optax.adam`, plus `nu_dtype`.
    Chain: `scale_by_adam(...)` → `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    return _adam_chain(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype
    )


@_checks.entry_point
def adamw(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: optax.ScalarOrSchedule = 1e-4,
    mask: Any | None = None,
    *,
    nesterov: bool = False,
    nu_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """AdamW: Adam with decoupled weight decay, θ ← θ − η · (m̂/(√v̂ + ε) + λ · θ).

    The decay is added after Adam's preconditioner, so every coordinate is
    pulled towards zero at the same relative rate (Loshchilov and Hutter,
    "Decoupled Weight Decay Regularization", ICLR 2019). As in Optax and
    PyTorch, λ is multiplied by the learning rate.

    Same signature, defaults and state layout as `optax.adamw`, plus `nu_dtype`.
    Chain: `scale_by_adam` → `add_decayed_weights(weight_decay, mask)` →
    `scale_by_learning_rate`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    decay = add_decayed_weights(weight_decay, mask)
    return _adam_chain(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype, decay
    )


@_checks.entry_point
def nadam(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    nu_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """NAdam: `adam` with Nesterov's look-ahead in the first moment (Dozat, 2016).

    As `optax.nadam` (which is `adam` with `nesterov=True`).
    """
    return _adam_chain(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype
    )


@_checks.entry_point
def nadamw(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    weight_decay: optax.ScalarOrSchedule = 1e-4,
    mask: Any | None = None,
    *,
    nesterov: bool = True,
    nu_dtype: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """NAdamW: `adamw` with Nesterov's look-ahead (as `optax.nadamw`)."""
    decay = add_decayed_weights(weight_decay, mask)
    return _adam_chain(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov, nu_dtype, decay
    )


@_checks.entry_point
def amsgrad(
    learning_rate: optax.ScalarOrSchedule,
    b1: jax.typing.ArrayLike = 0.9,
    b2: jax.typing.ArrayLike = 0.999,
    eps: jax.typing.ArrayLike = 1e-8,
    eps_root: jax.typing.ArrayLike = 0.0,
    mu_dtype: Any | None = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """AMSGrad: Adam with a non-decreasing scale. The maths is in `scale_by_amsgrad`.

    Same signature, defaults and state layout as `optax.amsgrad`.
    Chain: `scale_by_amsgrad(...)` → `scale_by_learning_rate`.

    Raises:
        ValueError: an invalid hyperparameter.
    """
    _checks.check_learning_rate("amsgrad", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_amsgrad(
            b1=b1,
            b2=b2,
            eps=eps,
            eps_root=eps_root,
            mu_dtype=mu_dtype,
            bias_correction_mu=bias_correction_mu,
            bias_correction_nu=bias_correction_nu,
        ),
        scale_by_learning_rate(learning_rate),
    )
