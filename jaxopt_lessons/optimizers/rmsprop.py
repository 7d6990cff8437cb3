"""RMSprop: SGD with each coordinate normalised by its recent gradient scale."""

from __future__ import annotations

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.momentum import trace
from jaxopt_lessons.transforms.rms import scale_by_rms, scale_by_stddev
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate


@_checks.entry_point
def rmsprop(
    learning_rate: optax.ScalarOrSchedule,
    decay: jax.typing.ArrayLike = 0.9,
    eps: jax.typing.ArrayLike = 1e-8,
    initial_scale: jax.typing.ArrayLike = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: jax.typing.ArrayLike | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """RMSprop: θ ← θ − η · g_t / √v_t, optionally centred and with momentum.

    The maths is in `scale_by_rms` (and `scale_by_stddev` when `centered`).
    Same signature, defaults and state layout as `optax.rmsprop`.

    Chain: `scale_by_rms` (or `scale_by_stddev`) → `scale_by_learning_rate` →
    `trace(momentum, nesterov)` (or identity).

    Differences from PyTorch: the learning rate is applied before the
    momentum buffer, so with a schedule the buffer holds steps already scaled
    by past learning rates (PyTorch scales after); with a constant rate the two
    agree. Optax's default puts ε inside the root (`eps_in_sqrt=True`);
    `torch.optim.RMSprop` is `rmsprop(lr, decay=0.99, eps_in_sqrt=False)`.

    Args:
        learning_rate: η >= 0, or a schedule.
        decay, eps, initial_scale, eps_in_sqrt, bias_correction: as `scale_by_rms`.
        centered: divide by the standard deviation instead of the RMS.
        momentum: β in [0, 1), or None.
        nesterov: Nesterov momentum (needs `momentum`).

    Raises:
        ValueError: an invalid hyperparameter, or `nesterov=True` without momentum.
    """
    fn = "rmsprop"
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _checks.check_bool(fn, "centered", centered)
    _checks.check_bool(fn, "nesterov", nesterov)
    if momentum is None and nesterov:
        raise ValueError(f"{fn}: `nesterov=True` needs a `momentum` value, got None.")
    if momentum is not None:
        _checks.check_interval(fn, "momentum", momentum, 0.0, 1.0)
    precondition = scale_by_stddev if centered else scale_by_rms
    return _chain.chain(
        precondition(
            decay=decay,
            eps=eps,
            initial_scale=initial_scale,
            eps_in_sqrt=eps_in_sqrt,
            bias_correction=bias_correction,
        ),
        scale_by_learning_rate(learning_rate),
        trace(momentum, nesterov) if momentum is not None else optax.identity(),
    )
