"""What every torch preset shares: torch's argument rules, the start of each
update, and the few idioms where torch's arithmetic is its own.

torch.optim writes each optimizer as a loop over parameter tensors that edits
them in place. The presets here compute the same numbers as an Optax update
``u_t`` (so that ``θ_t = θ_{t-1} + u_t``). Each preset is built the same way:

1. `Preset.checked` checks the arguments every torch optimizer has (`lr`,
   `weight_decay`, `maximize`, `decoupled_weight_decay`, the execution flags);
   the preset then checks its own.
2. `Preset.init_count` and `Preset.start` are the first lines of every `init`
   and `update`: real params; the gradient's shape, `maximize`, the L2 term
   and the step count.
3. The rule itself, written in the preset's file from the tree maths the
   transforms use (`jaxopt_lessons.tree`, `transforms.adadelta.adadelta_step`)
   wherever torch's formula is the same, with ``torch_rounding=True`` (torch
   rounds a Python scalar to the tensor's dtype and adds the terms in its own
   order, which decides XLA's fused multiply-adds: see `jaxopt_lessons.tree`).
   Where torch's arithmetic is its own, the helpers below keep it in one
   place: `lerp` and `lerp_update` (torch's two-branch rounding of a moving
   average), `power` and `one_minus_power` (βᵗ and 1 − βᵗ as torch's doubles
   give them), `add_decoupled_decay` (θ·(1 − ηλ) − θ), `descend` (−η·d).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm

PREFIX = "jaxopt_lessons.torch."

# Why each torch-only flag has nothing to choose here; shown when it is set.
_WHY_REFUSED = {
    "foreach": (
        "it picks torch's multi-tensor kernels, and here the whole update is "
        "already one XLA program under jax.jit"
    ),
    "fused": (
        "it picks torch's fused kernels, and XLA already fuses the update under jax.jit"
    ),
    "capturable": (
        "it keeps torch's step count on the GPU for CUDA graphs, and here the "
        "count already lives in the optimizer state, on the device, inside jax.jit"
    ),
    "differentiable": (
        "it lets autograd run through torch's step(), and `update` here is "
        "already a pure JAX function that jax.grad can differentiate"
    ),
}


def check_torch_only_flags(fn: str, **flags: Any) -> None:
    """Accepts None or False for torch's execution flags; refuses anything else.

    These flags choose how torch runs the same arithmetic (kernels, CUDA
    graphs, autograd through the step). None of them has a meaning for a
    JAX transform, so a value that would change torch's behaviour is an error
    rather than being silently ignored.
    """
    for name, value in flags.items():
        if (
            value is None
            or value is False
            or (isinstance(value, np.bool_) and not value)
        ):
            continue
        if value is True or isinstance(value, np.bool_):
            raise ValueError(
                f"{fn}: `{name}` must be None or False, got True: {_WHY_REFUSED[name]}."
            )
        raise TypeError(
            f"{fn}: `{name}` must be None or False, got {value!r} "
            f"of type {type(value).__name__}."
        )


def check_lr(fn: str, lr: Any) -> None:
    """torch's rule ``0.0 <= lr`` for a number; a schedule is checked where used."""
    if _checks.is_schedule(lr):
        return
    if lr is None:
        raise TypeError(f"{fn}: `lr` must be a number or a schedule, got None.")
    if not isinstance(lr, jax.core.Tracer) and np.ndim(lr) != 0:
        raise ValueError(
            f"{fn}: `lr` must be a scalar or a schedule (torch: a 1-element "
            f"tensor), got {lr!r} of shape {np.shape(lr)}."
        )
    _checks.check_non_negative(fn, "lr", lr)


def check_pair(fn: str, name: str, value: Any) -> tuple[Any, Any]:
    """`betas`, `etas` and `step_sizes` are pairs, as in torch."""
    try:
        first, second = value
    except (TypeError, ValueError):
        raise TypeError(
            f"{fn}: `{name}` must be a pair of numbers, got {value!r}."
        ) from None
    return first, second


def check_adam_args(fn: str, betas: Any, eps: Any) -> tuple[Any, Any]:
    """torch's rule for the arguments of Adam and its relatives (Adam, AdamW,
    Adamax, NAdam, RAdam): `betas` a pair, each in [0, 1), and `eps` ≥ 0.
    Returns the pair (β₁, β₂)."""
    b1, b2 = check_pair(fn, "betas", betas)
    _checks.check_interval(fn, "betas[0]", b1, 0.0, 1.0)
    _checks.check_interval(fn, "betas[1]", b2, 0.0, 1.0)
    _checks.check_non_negative(fn, "eps", eps)
    return b1, b2


def check_flags(fn: str, **flags: Any) -> None:
    """Options that change the program's structure must be Python bools."""
    for name, value in flags.items():
        _checks.check_bool(fn, name, value)


def is_number(value: Any) -> bool:
    """True for a Python or NumPy number: a value known when the program is built."""
    return isinstance(value, (numbers.Number, np.number)) and not isinstance(
        value, bool
    )


def is_static_zero(value: Any) -> bool:
    """True when `value` is a plain number equal to 0.

    torch skips a term (`if weight_decay != 0`, `if momentum != 0`) only for a
    value it can read. A JAX array (from `optax.inject_hyperparams`, or traced
    under `jax.vmap`) may change between calls, so it keeps the term.
    """
    return is_number(value) and value == 0


def lr_at(lr: Any, count: jax.Array) -> Any:
    """The learning rate of the step after `count` steps.

    A schedule is called with the number of steps taken so far, as a torch LR
    scheduler stepped once after every `optimizer.step()`: ``LambdaLR`` with
    ``lr_lambda=f`` gives ``lr · f(count)``.
    """
    return lr(count) if _checks.is_schedule(lr) else lr


def step_number(count: jax.Array) -> jax.Array:
    """torch's `step` (the new count) as a float in JAX's default float type.

    torch keeps `step` as a float tensor and computes βᵗ in Python floats;
    float64 under `jax.enable_x64`, float32 otherwise, is the nearest match.
    """
    return count.astype(jnp.result_type(float))


def _log_beta(beta: Any) -> jax.Array:
    """log β as log1p(−(1 − β)), with 1 − β taken in double precision when β
    is a Python number: float32 cannot hold 0.999 exactly, and 1 − f32(0.999)
    is off by 1.3e-5 relative."""
    return jnp.log1p(-jnp.asarray(1 - beta, jnp.result_type(float)))


def power(beta: Any, t: jax.Array) -> jax.Array:
    """βᵗ, as torch's ``beta ** step`` but without float32's rounding of β."""
    return jnp.exp(t * _log_beta(beta))


def one_minus_power(beta: Any, t: jax.Array) -> jax.Array:
    """1 − βᵗ (a bias correction) without cancellation: −expm1(t · log β).

    torch forms it in double; in float32, 1 − βᵗ for β₂ = 0.999 and small t
    would lose three of float32's seven digits.
    """
    return -jnp.expm1(t * _log_beta(beta))


def lerp(start: jax.Array, end: jax.Array, weight: Any) -> jax.Array:
    """torch's ``start.lerp(end, weight)``, rounding the way torch does.

    Both branches equal ``start + weight · (end − start)``; torch picks the one
    that loses less precision for the given weight.
    """
    weight = tm.like(weight, start)
    small = start + weight * (end - start)
    large = end - (end - start) * (1 - weight)
    return jnp.where(jnp.abs(weight) < 0.5, small, large)


def negate_if(maximize: bool, grads: Any) -> Any:
    """`maximize=True`: climb the objective by following −g."""
    return jax.tree.map(jnp.negative, grads) if maximize else grads


def require_params(fn: str, params: Any, why: str) -> None:
    if params is None:
        raise ValueError(
            f"{fn}: `update` needs the current `params` ({why}); got None."
        )


def lerp_update(moments: Any, grads: Any, decay: Any) -> Any:
    """torch's moving average of g: m ← lerp(m, g, 1 − β), leaf by leaf.

    The same average as the transforms' `tree.ema_update`, (1 − β)·g + β·m,
    but not the same rounding: torch's `lerp` forms m + w·(g − m) or
    g − (g − m)·(1 − w), so the two stay separate.
    """
    return jax.tree.map(lambda m, g: lerp(m, g, 1 - decay), moments, grads)


def adam_moments(exp_avg: Any, exp_avg_sq: Any, grads: Any, b1: Any, b2: Any):
    """Adam's two moving averages, rounded as torch rounds them.

    m ← lerp(m, g, 1 − β₁) (`lerp_update`) and v ← β₂·v + (1 − β₂)·g² (the
    transforms' `tree.ema_update_sq`, with torch's rounding). Shared by the
    adam, nadam and radam presets.
    """
    exp_avg = lerp_update(exp_avg, grads, b1)
    exp_avg_sq = tm.ema_update_sq(grads, exp_avg_sq, b2, torch_rounding=True)
    return exp_avg, exp_avg_sq


def add_decoupled_decay(updates: Any, params: Any, lr: Any, weight_decay: Any) -> Any:
    """AdamW's weight decay as part of the update: torch first scales θ by
    1 − η·λ, so the update gains θ·(1 − η·λ) − θ.

    The factor is rounded to θ's dtype, as torch rounds it: in float32 that
    rounding (about 3e-8 absolute) is a visible part of a decay of 1e-5.
    """

    def one(u, p):
        return u + (p * tm.like(1 - lr * weight_decay, p) - p)

    return jax.tree.map(one, updates, params)


def check_real_params(fn: str, params: Any) -> None:
    """Float parameters only; complex ones get a pointer to the equivalent wrapper."""
    _checks.check_float_params(fn, params)
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        if jnp.iscomplexobj(leaf):
            raise TypeError(
                f"{fn}: parameters must be real, but params"
                f"{jax.tree_util.keystr(path)} has dtype {jnp.dtype(leaf.dtype).name}. "
                "torch treats a complex tensor as pairs of reals (view_as_real); "
                "wrap the preset in optax.contrib.split_real_and_imaginary to do the "
                "same here."
            )


def check_updates(fn: str, updates: Any, state_tree: Any) -> None:
    if state_tree is not None:
        _checks.check_tree_matches(fn, updates, state_tree)


def descend(direction: Any, lr: Any) -> Any:
    """The update of a step along `direction`: u = −η·d, η in each leaf's dtype."""
    return jax.tree.map(lambda d: -tm.like(lr, d) * d, direction)


@dataclasses.dataclass(frozen=True, eq=False)
class Preset:
    """The arguments every torch preset has, checked, and what every update
    does with them before its own rule.

    Built by `Preset.checked`. `fn` is the name messages use
    (``jaxopt_lessons.torch.adam``).
    """

    fn: str
    lr: Any
    weight_decay: Any
    maximize: bool
    decoupled_weight_decay: bool

    @classmethod
    def checked(
        cls,
        name: str,
        lr: Any,
        weight_decay: Any,
        maximize: Any,
        decoupled_weight_decay: Any = False,
    ) -> Preset:
        """Checks torch's rules for the shared arguments, in this order: `lr`
        (a number ≥ 0 or a schedule), `weight_decay` ≥ 0, and `maximize` and
        `decoupled_weight_decay` Python bools. The preset checks its own
        arguments after these, then its execution flags
        (`check_torch_only_flags`). Rprop, which has no weight decay, passes 0.
        """
        fn = PREFIX + name
        check_lr(fn, lr)
        _checks.check_non_negative(fn, "weight_decay", weight_decay)
        check_flags(
            fn, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay
        )
        return cls(fn, lr, weight_decay, maximize, decoupled_weight_decay)

    @property
    def decays(self) -> bool:
        """Whether the weight decay may be nonzero (torch: `weight_decay != 0`)."""
        return not is_static_zero(self.weight_decay)

    def init_count(self, params: Any) -> jax.Array:
        """The start of every `init`: real float params only; 0 steps taken."""
        check_real_params(self.fn, params)
        return jnp.zeros([], jnp.int32)

    def start(
        self, updates: Any, count: jax.Array, moments: Any, params: Any
    ) -> tuple[Any, jax.Array]:
        """The start of every `update`, as torch's ``step()`` begins.

        Checks that `updates` is shaped like `moments` (a tree of the state,
        or None), flips the gradient for `maximize`, adds the L2 term
        g ← g + λ·θ unless the decay is decoupled (the transforms'
        `add_decayed_weights` arithmetic, λ in the gradient's dtype), and
        advances the step count. Returns (g_t, the new count).
        """
        check_updates(self.fn, updates, moments)
        grads = negate_if(self.maximize, updates)
        if self.decays:
            require_params(self.fn, params, "weight_decay is not 0")
            if not self.decoupled_weight_decay:
                grads = tm.add_scaled(
                    grads, params, self.weight_decay, torch_rounding=True
                )
        return grads, tm.increment(count)

    def lr_at(self, count: jax.Array) -> Any:
        """η of the step taken after `count` steps (see the module's `lr_at`)."""
        return lr_at(self.lr, count)

    def add_decoupled_decay(self, updates: Any, params: Any, lr: Any) -> Any:
        """The end of an update with `decoupled_weight_decay=True` (AdamW's)."""
        if self.decays and self.decoupled_weight_decay:
            return add_decoupled_decay(updates, params, lr, self.weight_decay)
        return updates
