"""SAM: sharpness-aware minimization, as an outer and an adversarial optimizer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import SAMState

from jaxopt_lessons import _checks
from jaxopt_lessons.contrib._wrapped import check_count
from jaxopt_lessons.grouping.declarations import elementwise

__all__ = ["SAMState", "sam"]


def _select(condition: jax.Array, if_true: Any, if_false: Any) -> Any:
    """Leaf by leaf, `if_true` where `condition` holds, else `if_false`."""
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


def _negate(tree: Any) -> Any:
    return jax.tree.map(jnp.negative, tree)


@elementwise
@_checks.entry_point
def sam(
    optimizer: optax.GradientTransformation,
    adv_optimizer: optax.GradientTransformation,
    sync_period: int = 2,
    reset_state: bool = True,
    opaque_mode: bool = False,
    batch_axis_name: str | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Sharpness-aware minimization: descend with the gradient taken uphill.

    Lesson: a minimum whose neighbourhood is flat generalizes better than a
    sharp one. SAM minimizes the worst loss within a ball of radius ρ: it
    first climbs to the (first-order) worst point of the ball, and the
    gradient measured there moves the true parameters.

    The climb is done by `adv_optimizer` (the paper's is
    ``chain(normalize(), sgd(ρ))``; its output is negated, so that a descent
    optimizer climbs), the descent by `optimizer`. Every `sync_period` calls
    are one SAM step: `sync_period` − 1 adversarial steps, then one outer
    step from the parameters the round started at (θ)::

        θ' ← θ;  repeat sync_period − 1 times:  θ' ← θ' − adv(∇L(θ'))
        θ  ← θ + opt(∇L(θ'))

    Two ways to run it:

    - ``opaque_mode=False`` (transparent): each call to `update` is one of
      these steps, and the caller sees the adversarial parameters: it
      evaluates the gradient at the parameters it holds, as for any
      optimizer. θ is kept in the state (`cache`); the outer step's update
      is ``θ − θ' + opt(g)``, which lands on θ + opt(g).
    - ``opaque_mode=True``: each call does a whole round. `update` needs
      ``grad_fn=`` (a function of (params, i) giving the gradient at the
      i-th adversarial point); the caller only ever sees θ. Needed when
      something besides the parameters changes at every call (BatchNorm
      statistics).

    Args:
        optimizer: the outer optimizer (a gradient transformation).
        adv_optimizer: the adversarial optimizer, a descent optimizer whose
            update is negated.
        sync_period: calls per SAM round, an integer >= 1 (1: no adversarial
            step; SAM is then the outer optimizer alone).
        reset_state: restart `adv_optimizer` from its `init` after each
            outer step; otherwise its state carries over between rounds.
        opaque_mode: run a whole round per call (see above).
        batch_axis_name: opaque mode only: the name of a mapped axis over
            which `grad_fn`'s gradients are averaged (``jax.lax.pmean``).

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `SAMState` (steps_since_sync, opt_state, adv_state, cache; cache is
        None in opaque mode).

    Raises:
        TypeError: an optimizer that is not a gradient transformation; a
            non-integer `sync_period`; non-bool flags; a `batch_axis_name`
            that is not a str or None.
        ValueError: `sync_period` < 1; in opaque mode, `update` without
            `grad_fn`.

    Differences from Optax (`optax.contrib.sam`, 0.2.8):

    - With ``sync_period=1`` in transparent mode Optax's outer step starts
      from the parameters of the call before (it updates its cache only
      after using it), so every step undoes the previous one:
      θ_{t+1} = θ_{t−1} + opt(g_t). Here the cache is refreshed first, and
      ``sync_period=1`` is the outer optimizer, as in opaque mode.
    - Other extra arguments of `update` (``value=``, ...) are accepted and
      ignored, as Optax's protocol for `GradientTransformationExtraArgs`
      asks; Optax's `sam` raises TypeError for them, so it cannot sit in a
      chain that passes them.
    - Optax picks between the outer and the adversarial results by
      arithmetic, ``c · a + (1 − c) · b``, so an inf or NaN in the branch
      not taken still poisons the result (0 · inf = NaN), and a state holding
      PRNG keys cannot be picked at all. Here the pick is a select.

    References:
        Foret, Kleiner, Mobahi, Neyshabur, "Sharpness-Aware Minimization for
        Efficiently Improving Generalization", ICLR 2021, Algorithm 1.
    """
    fn = _checks.caller("sam")
    _checks.check_transformation(fn, "optimizer", optimizer)
    _checks.check_transformation(fn, "adv_optimizer", adv_optimizer)
    check_count(fn, "sync_period", sync_period)
    _checks.check_bool(fn, "reset_state", reset_state)
    _checks.check_bool(fn, "opaque_mode", opaque_mode)
    if batch_axis_name is not None and not isinstance(batch_axis_name, str):
        raise TypeError(
            f"{fn}: `batch_axis_name` must be a str or None, got {batch_axis_name!r}."
        )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return SAMState(
            steps_since_sync=jnp.zeros([], jnp.int32),
            opt_state=optimizer.init(params),
            adv_state=adv_optimizer.init(params),
            cache=None if opaque_mode else params,
        )

    def transparent_update(updates, state, params=None, *, grad_fn=None, **extra_args):
        del grad_fn, extra_args  # the caller evaluates the gradient at `params`
        _checks.check_state(fn, state, SAMState)
        _checks.require_params(fn, params)
        _checks.check_tree_matches(fn, updates, state.cache)
        first = state.steps_since_sync == 0
        last = state.steps_since_sync == sync_period - 1
        # θ, the parameters this round started from: the current ones at its
        # first call (so that a round of one call starts where it is).
        cache = _select(first, params, state.cache)

        adv_updates, adv_state = adv_optimizer.update(updates, state.adv_state, params)
        adv_updates = _negate(adv_updates)

        outer_updates, opt_state = optimizer.update(updates, state.opt_state, cache)
        outer_updates = jax.tree.map(
            lambda c, p, u: c - p + u, cache, params, outer_updates
        )

        new_updates = _select(last, outer_updates, adv_updates)
        if reset_state:
            adv_state = _select(last, adv_optimizer.init(params), adv_state)
        else:
            # The adversarial step of the last call is not taken: keep its state.
            adv_state = _select(last, state.adv_state, adv_state)
        opt_state = _select(last, opt_state, state.opt_state)
        steps = (state.steps_since_sync + 1) % sync_period
        return new_updates, SAMState(
            steps_since_sync=steps.astype(jnp.int32),
            opt_state=opt_state,
            adv_state=adv_state,
            cache=cache,
        )

    def opaque_update(
        updates,
        state,
        params=None,
        *,
        grad_fn: Callable[[Any, int], Any] | None = None,
        **extra_args,
    ):
        del extra_args
        _checks.check_state(fn, state, SAMState)
        if grad_fn is None:
            raise ValueError(
                f"{fn}: with opaque_mode=True, `update` needs `grad_fn=`, a "
                "function of (params, i) returning the gradient at the i-th "
                "adversarial point."
            )
        _checks.require_params(fn, params)
        _checks.check_updates_match_params(fn, updates, params)
        adv_params, grads, adv_state = params, updates, state.adv_state
        for i in range(sync_period - 1):
            adv_updates, adv_state = adv_optimizer.update(grads, adv_state, adv_params)
            adv_params = optax.apply_updates(adv_params, _negate(adv_updates))
            grads = grad_fn(adv_params, i)
            if batch_axis_name is not None:
                grads = jax.lax.pmean(grads, axis_name=batch_axis_name)
        if reset_state:
            adv_state = adv_optimizer.init(params)
        new_updates, opt_state = optimizer.update(grads, state.opt_state, params)
        return new_updates, SAMState(
            steps_since_sync=jnp.zeros([], jnp.int32),
            opt_state=opt_state,
            adv_state=adv_state,
            cache=None,
        )

    update_fn = opaque_update if opaque_mode else transparent_update
    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
