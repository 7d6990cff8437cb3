"""DoG: SGD whose step is the distance travelled over the gradients' size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import DoGState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import _adaptive
from jaxopt_lessons.grouping.declarations import partition_invariant
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["DoGState", "dog", "scale_by_dog"]

_INIT_STEPS = ("distance", "learning_rate", "heuristic")


def check_init_step(fn: str, init_step: Any) -> tuple[str, Any]:
    """`init_step` is a pair (kind, value > 0), kind one of `_INIT_STEPS`."""
    fn = _checks.caller(fn)
    if not isinstance(init_step, (tuple, list)) or len(init_step) != 2:
        raise TypeError(
            f"{fn}: `init_step` must be a pair (kind, value) with kind one of "
            f"{_INIT_STEPS}, got {init_step!r}."
        )
    kind, value = init_step
    if not isinstance(kind, str):
        raise TypeError(
            f"{fn}: `init_step[0]` must be one of {_INIT_STEPS}, got {kind!r}."
        )
    if kind not in _INIT_STEPS:
        raise ValueError(
            f"{fn}: `init_step[0]` must be one of {_INIT_STEPS}, got {kind!r}."
        )
    _checks.check_positive(fn, "init_step[1]", value)
    return kind, value


def sgd_with_step_size(
    fn: str,
    learning_rate: Any,
    weight_decay: Any,
    mask: Any,
    make_step_size: Callable[[], optax.GradientTransformation],
) -> optax.GradientTransformationExtraArgs:
    """The optimizer of DoG and DoWG: `add_decayed_weights(weight_decay, mask)`
    (when `weight_decay` is not None) → the step-size block →
    `scale_by_learning_rate(learning_rate)`. `learning_rate` is checked
    first; `make_step_size` builds the block after the decay's checks."""
    fn = _checks.caller(fn)
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    return _chain.chain(
        optax.identity()
        if weight_decay is None
        else add_decayed_weights(weight_decay, mask),
        make_step_size(),
        scale_by_learning_rate(learning_rate),
    )


@partition_invariant
@_checks.entry_point
def scale_by_dog(
    init_step: tuple[str, jax.typing.ArrayLike],
    eps: jax.typing.ArrayLike = 1e-8,
) -> optax.GradientTransformation:
    """DoG's direction: the gradient times the largest distance from the start
    over the root of the summed squared gradient norms.

    Lesson: SGD's step should grow with how far the solution is and shrink
    with how large the gradients are. DoG measures both as it goes: the
    farthest the iterates have moved from x₀ stands for the distance, the
    accumulated gradient norms for the size, and their ratio is a step that
    needs no tuning beyond a tiny first distance r_ε.

    Update rule (‖·‖ over the whole tree; r̄ starts at r_ε, G at 0)::

        r̄  = max(r̄, ‖x − x₀‖)
        G  = G + ‖g‖²
        η  = r̄ / √(G + ε)              (the first step: η₀ for "learning_rate")
        u  = η · g

    Args:
        init_step: (kind, value > 0). "distance": r_ε = value; "heuristic":
            r_ε = value · (1 + ‖x₀‖) (the authors suggest 1e-6, or 1e-4 with
            batch normalisation); "learning_rate": r_ε = 0 and the first step
            is η₀ = value. `init` must get the real initial params.
        eps: ε >= 0, added to G.

    Returns:
        An `optax.GradientTransformation` whose state is Optax's `DoGState`;
        its `update` needs the params.

    Raises:
        ValueError: an unknown kind, a value <= 0, a negative `eps`; `update`
            without params.
        TypeError: `init_step` not a pair.

    References:
        Ivgi, Hinder, Carmon, "DoG is SGD's Best Friend: A Parameter-Free
        Dynamic Step Size Schedule", ICML 2023, Algorithm 1;
        arXiv:2302.12022.
    """
    fn = _checks.caller("scale_by_dog")
    kind, value = check_init_step(fn, init_step)
    _checks.check_non_negative(fn, "eps", eps)

    def init_fn(params):
        params, dtype = _adaptive.checked_init(fn, params)
        if kind == "distance":
            r_eps = value
        elif kind == "heuristic":
            r_eps = value * (1 + tm.global_norm(params))
        else:
            r_eps = 0.0
        return DoGState(
            is_init_step=jnp.asarray(True),
            init_params=params,
            max_dist=jnp.asarray(r_eps, dtype),
            sum_sq_norm_grads=jnp.asarray(0.0, dtype),
        )

    def update_fn(updates, state, params=None):
        updates, params = _adaptive.checked_update(
            fn, updates, state, DoGState, "init_params", params
        )
        moved = jax.tree.map(lambda p0, p: p0 - p, state.init_params, params)
        max_dist = jnp.maximum(state.max_dist, tm.global_norm(moved))
        sum_sq = state.sum_sq_norm_grads + tm.sum_of_squares(updates)
        step_size = max_dist / jnp.sqrt(sum_sq + eps)
        if kind == "learning_rate":
            step_size = jnp.where(state.is_init_step, value, step_size)
        new_state = DoGState(
            is_init_step=jnp.asarray(False),
            init_params=state.init_params,
            max_dist=max_dist.astype(state.max_dist.dtype),
            sum_sq_norm_grads=sum_sq.astype(state.sum_sq_norm_grads.dtype),
        )
        return jax.tree.map(lambda g: step_size * g, updates), new_state

    return optax.GradientTransformation(init_fn, update_fn)


@partition_invariant
@_checks.entry_point
def dog(
    learning_rate: optax.ScalarOrSchedule = 1.0,
    init_step: tuple[str, jax.typing.ArrayLike] = ("heuristic", 1e-6),
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike | None = None,
    mask: Any | Callable[[optax.Params], Any] | None = None,
) -> optax.GradientTransformationExtraArgs:
    """DoG (Distance over Gradients): SGD with DoG's step size.

    Chain: `add_decayed_weights(weight_decay, mask)` (when `weight_decay` is
    not None) → `scale_by_dog(init_step, eps)` →
    `scale_by_learning_rate(learning_rate)`. Same signature, defaults and
    state layout as `optax.contrib.dog`; `update` needs the params. The
    authors advise averaging the iterates (`optax.ema` of the params).
    """
    return sgd_with_step_size(
        "dog", learning_rate, weight_decay, mask, lambda: scale_by_dog(init_step, eps)
    )
