"""`torch.optim.Muon` as an Optax transform, bfloat16 Newton–Schulz included."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.torch import _common

__all__ = ["MuonState", "muon"]

#: torch's `EPS`, `DEFAULT_A/B/C` and `DEFAULT_NS_STEPS` (Jordan's values).
EPS = 1e-7
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
NS_STEPS = 5
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


class MuonState(NamedTuple):
    """State of `muon`. Field names follow torch's state dict (`count` is the
    number of steps taken, which torch's Muon does not keep)."""

    count: jax.Array  # int32 scalar: steps taken
    momentum_buffer: optax.Updates  # B, the momentum of each matrix


def _round_bf16(x: jax.Array) -> jax.Array:
    return x.astype(jnp.bfloat16)


def _f32(x: jax.Array) -> jax.Array:
    return x.astype(jnp.float32)


def _matmul(x: jax.Array, y: jax.Array) -> jax.Array:
    """A bfloat16 product as torch's CPU kernels form it: float32 sums."""
    return jnp.matmul(_f32(x), _f32(y), precision=jax.lax.Precision.HIGHEST)


def newton_schulz_bf16(
    grad: jax.Array, ns_coefficients: tuple, ns_steps: int, eps: float
) -> jax.Array:
    """torch's `_zeropower_via_newtonschulz`, cast for cast (a bfloat16 result).

    torch rounds the matrix to bfloat16, transposes a tall one, divides it by
    its Frobenius norm clamped to ε (norm, clamp and quotient each rounded to
    bfloat16), then runs::

        A = X·Xᵀ                        (rounded to bfloat16)
        B = b·A + c·A·A                 (torch.addmm: one rounding)
        X = a·X + B·X                   (torch.addmm: one rounding)

    Products and sums are formed in float32, as torch's CPU kernels do for
    bfloat16, and rounded once per torch operation.
    """
    a, b, c = ns_coefficients
    x = _round_bf16(grad)
    tall = grad.shape[0] > grad.shape[1]
    if tall:
        x = x.T
    norm = _round_bf16(jnp.sqrt(jnp.sum(jnp.square(_f32(x)))))
    norm = jnp.maximum(norm, _round_bf16(jnp.asarray(eps, jnp.float32)))
    x = _round_bf16(_f32(x) / _f32(norm))

    def step(_, x):
        gram = _round_bf16(_matmul(x, x.T))
        gram_update = _round_bf16(b * _f32(gram) + c * _matmul(gram, gram))
        return _round_bf16(a * _f32(x) + _matmul(gram_update, x))

    if isinstance(ns_steps, jax.core.Tracer):  # under optax.inject_hyperparams
        x = jax.lax.fori_loop(0, ns_steps, step, x)
    else:
        for i in range(int(ns_steps)):
            x = step(i, x)
    return x.T if tall else x


def adjusted_ratio(adjust_lr_fn: str | None, shape: tuple[int, ...]) -> float:
    """torch's `_adjust_lr` factor for a matrix of `shape` (A, B) = (rows, cols)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1, rows / cols))
    return 0.2 * math.sqrt(max(rows, cols))


def muon(
    lr: optax.ScalarOrSchedule = 1e-3,
    weight_decay: jax.typing.ArrayLike = 0.1,
    momentum: jax.typing.ArrayLike = 0.95,
    nesterov: bool = True,
    ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
    eps: float = EPS,
    ns_steps: int = NS_STEPS,
    adjust_lr_fn: str | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Muon with the arguments, defaults and arithmetic of `torch.optim.Muon`.

    Lesson: the same idea as `jaxopt_lessons.contrib.muon` (orthogonalised
    momentum, Jordan 2024), written as torch writes it: a plain moving average
    without bias correction, decoupled weight decay, a learning rate scaled by
    the matrix's shape, and Newton–Schulz run in bfloat16, whose rounding
    (about 0.4 % per entry) is part of torch's trajectory.

    Update rule (g_t: the gradient, θ: a matrix of shape (A, B), B_0 = 0)::

        B_t = lerp(B_{t-1}, g_t, 1 − μ)          (= μ·B_{t-1} + (1 − μ)·g_t)
        D_t = lerp(g_t, B_t, μ)                  (nesterov; else D_t = B_t)
        O_t = NS(D_t)                            (`newton_schulz_bf16`)
        θ_t = θ_{t-1}·(1 − η·λ) − η·s·O_t
        s = √max(1, A/B)                         (adjust_lr_fn None or "original")
        s = 0.2·√max(A, B)                       ("match_rms_adamw")

    Every parameter must be a matrix (as torch: "Muon only supports 2D
    parameters"); give the others to another optimizer with `optax.partition`.
    (A, B) are the array's rows and columns, read as torch reads them: a
    torch `Linear` weight is (out, in), so s = √max(1, fan_out/fan_in); a
    JAX kernel of the same layer stored (in, out) gets its transpose's factor.

    Args:
        lr: η ≥ 0, or a schedule `count -> η` (`count` = steps taken).
        weight_decay: λ ≥ 0, decoupled: θ shrinks by η·λ each step.
        momentum: μ ≥ 0.
        nesterov: apply the momentum once more to the direction.
        ns_coefficients: (a, b, c) of the Newton–Schulz polynomial.
        eps: the floor of the norm the matrix is divided by, > 0.
        ns_steps: Newton–Schulz steps, an int in [0, 100).
        adjust_lr_fn: None, "original" or "match_rms_adamw".

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is a `MuonState`.

    Raises:
        ValueError: a negative `lr`, `momentum` or `weight_decay`; an unknown
            `adjust_lr_fn`; `ns_steps` ≥ 100; `ns_coefficients` not three
            numbers; `eps` not positive; a parameter that is not 2-D (at
            `init`); `update` without params when λ ≠ 0.
        TypeError: `nesterov` not a bool; complex or integer params.

    Differences from `torch.optim.Muon`: `eps` must be positive (torch accepts
    0, and divides a zero matrix by 0). `ns_coefficients`, `ns_steps`, `eps`
    and `adjust_lr_fn` are read when the program is built (`eps` and
    `ns_steps` may also be arrays, as `optax.inject_hyperparams` passes them).

    References:
        Jordan, "Muon: An optimizer for hidden layers in neural networks",
        2024, https://kellerjordan.github.io/posts/muon/.
        Liu et al., "Muon is Scalable for LLM Training", 2025,
        arXiv:2502.16982 ("match_rms_adamw").
        PyTorch 2.13, `torch/optim/_muon.py` (`_single_tensor_muon`).
    """
    return _muon(
        lr, weight_decay, momentum, nesterov, ns_coefficients, eps, ns_steps,
        adjust_lr_fn, newton_schulz_bf16,
    )  # fmt: skip


def _muon(
    lr: Any,
    weight_decay: Any,
    momentum: Any,
    nesterov: Any,
    ns_coefficients: Any,
    eps: Any,
    ns_steps: Any,
    adjust_lr_fn: Any,
    orthogonalize: Callable[[jax.Array, tuple, int, float], jax.Array],
) -> optax.GradientTransformationExtraArgs:
    """`muon` with the Newton–Schulz function as an argument (the tests run
    both sides with the same float64 one, to check everything around it)."""
    preset = _common.Preset.checked("muon", lr, weight_decay, False, True)
    fn = preset.fn
    _checks.check_non_negative(fn, "momentum", momentum)
    _common.check_flags(fn, nesterov=nesterov)
    coefficients = _check_coefficients(fn, ns_coefficients)
    _checks.check_positive(fn, "eps", eps)
    _check_ns_steps(fn, ns_steps)
    if adjust_lr_fn not in ADJUST_LR_FNS:
        raise ValueError(
            f"{fn}: `adjust_lr_fn` must be None, 'original' or 'match_rms_adamw', "
            f"got {adjust_lr_fn!r}."
        )

    def init_fn(params):
        count = preset.init_count(params)
        for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
            if jnp.ndim(leaf) != 2:
                raise ValueError(
                    f"{fn}: Muon only takes 2-D parameters (as torch.optim.Muon), "
                    f"but params{jax.tree_util.keystr(path)} has shape "
                    f"{jnp.shape(leaf)}. Give the others to another optimizer, "
                    "e.g. optax.partition(..., {'muon': muon(), 'adam': adamw()})."
                )
        return MuonState(count=count, momentum_buffer=tm.zeros_like(params))

    def update_fn(updates, state, params=None, **extra_args):
        del extra_args
        _checks.check_state(fn, state, MuonState)
        grads, count = preset.start(updates, state.count, state.momentum_buffer, params)
        buffer = _common.lerp_update(state.momentum_buffer, grads, momentum)
        if nesterov:
            direction = jax.tree.map(
                lambda g, b: _common.lerp(g, b, momentum), grads, buffer
            )
        else:
            direction = buffer
        lr = preset.lr_at(state.count)

        def step(d):
            ortho = orthogonalize(d, coefficients, ns_steps, eps)
            scale = adjusted_ratio(adjust_lr_fn, d.shape)
            # torch: θ.add_(O, alpha=−η·s), O promoted to θ's dtype.
            return -tm.like(lr * scale, d) * ortho.astype(d.dtype)

        steps = jax.tree.map(step, direction)
        steps = preset.add_decoupled_decay(steps, params, lr)
        return steps, MuonState(count=count, momentum_buffer=buffer)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _check_ns_steps(fn: str, ns_steps: Any) -> None:
    """An int in [0, 100), as torch; an integer array (what
    `optax.inject_hyperparams` passes) too; a traced one is not checked."""
    if not _checks.check_int(fn, "ns_steps", ns_steps):
        return
    if np.ndim(ns_steps) != 0 or not 0 <= int(ns_steps) < 100:
        raise ValueError(f"{fn}: `ns_steps` must lie in [0, 100), got {ns_steps}.")


def _check_coefficients(fn: str, value: Any) -> tuple[float, float, float]:
    try:
        a, b, c = value
        coefficients = (float(a), float(b), float(c))
    except (TypeError, ValueError):
        raise ValueError(
            f"{fn}: `ns_coefficients` must be three numbers (a, b, c), got {value!r}."
        ) from None
    if not all(math.isfinite(x) for x in coefficients):
        raise ValueError(f"{fn}: `ns_coefficients` must be finite, got {value!r}.")
    return coefficients
