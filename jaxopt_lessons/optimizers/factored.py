"""Adafactor: factored second moments, relative steps, update clipping."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.clipping import clip_by_block_rms
from jaxopt_lessons.transforms.factored import (
    scale_by_factored_rms,
    scale_by_param_block_rms,
)
from jaxopt_lessons.transforms.momentum import ema
from jaxopt_lessons.transforms.scaling import scale, scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights


@_checks.entry_point
def adafactor(
    learning_rate: optax.ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: jax.typing.ArrayLike = 0.8,
    decay_offset: jax.typing.ArrayLike = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: jax.typing.ArrayLike | None = 1.0,
    momentum: jax.typing.ArrayLike | None = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: optax.ScalarOrSchedule | None = None,
    eps: jax.typing.ArrayLike = 1e-30,
    factored: bool = True,
    weight_decay_mask: Any | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Adafactor: θ ← θ − η · RMS(θ) · clip(g / √v̂). Maths in `scale_by_factored_rms`.

    Same signature, defaults and state layout as `optax.adafactor`. Optional
    links are left out when their argument is None or False:

    Chain: `scale_by_factored_rms(factored, decay_rate, decay_offset,
    min_dim_size_to_factor, eps)` → [`clip_by_block_rms(clipping_threshold)`]
    → [`scale_by_learning_rate(learning_rate, flip_sign=False)`] →
    [`scale_by_param_block_rms()`] → [`ema(momentum, debias=False,
    accumulator_dtype=dtype_momentum)`] → [`add_decayed_weights(
    weight_decay_rate, weight_decay_mask)`] → `scale(-1)`.

    With `learning_rate=None` the step is the relative step alone (RMS(θ)
    times the clipped direction): unlike `adadelta`, it still descends.

    Raises:
        ValueError: an invalid hyperparameter.
        TypeError: `multiply_by_parameter_scale` not a bool.
    """
    fn = "adafactor"
    _checks.check_learning_rate(fn, "learning_rate", learning_rate, allow_none=True)
    _checks.check_bool(fn, "multiply_by_parameter_scale", multiply_by_parameter_scale)
    # The blocks below check these too, but under their own argument names.
    _checks.check_non_negative(fn, "decay_offset", decay_offset)
    _checks.check_positive(fn, "eps", eps)
    _checks.check_dtype(fn, "dtype_momentum", dtype_momentum)
    if clipping_threshold is not None:
        _checks.check_positive(fn, "clipping_threshold", clipping_threshold)
    if momentum is not None:
        _checks.check_interval(fn, "momentum", momentum, 0.0, 1.0)
    if weight_decay_rate is not None:
        _checks.check_weight_decay(fn, "weight_decay_rate", weight_decay_rate)
    links = [
        scale_by_factored_rms(
            factored, decay_rate, decay_offset, min_dim_size_to_factor, eps
        )
    ]
    if clipping_threshold is not None:
        links.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        links.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        links.append(scale_by_param_block_rms())
    if momentum is not None:
        links.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        links.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    links.append(scale(-1))
    return _chain.chain(*links)
