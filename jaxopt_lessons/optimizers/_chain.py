"""`optax.chain`, with an `update` that first checks it was given its own state."""

from __future__ import annotations

from typing import Any

import optax

from jaxopt_lessons import _checks


def chain(
    *links: optax.GradientTransformation,
) -> optax.GradientTransformationExtraArgs:
    """`optax.chain(*links)`, whose `update` refuses a state that is not a chain's.

    An optimizer's state is a tuple with one state per link. Given anything
    else (arguments swapped, ``update(state, grads)``; params or a string in
    the state's place), `optax.chain` would zip the links with whatever it
    got and fail deep inside a link, or not at all. The message names the
    optimizer being built (the function the user called).
    """
    fn = _checks.caller("chain")
    inner = optax.chain(*links)
    n = len(links)

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any):
        is_tuple = isinstance(state, (tuple, list)) and not hasattr(state, "_fields")
        if not (is_tuple and len(state) == n):
            raise TypeError(
                f"{fn}: `state` must be the state returned by this optimizer's "
                f"`init` (a tuple of {n} states, one per link of its chain), got "
                f"{_checks.describe(state)}.{_checks.SWAPPED}"
            )
        return inner.update(updates, state, params, **extra_args)

    return optax.GradientTransformationExtraArgs(inner.init, update_fn)
