"""Pytrees, checked at trace time: the params' dtypes, the state `update` is
given, and `updates` shaped like the state or the params.

Structure and shapes only, read while tracing: under `jax.jit` these checks
cost nothing per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import tree as tm
from jaxopt_lessons._checks.naming import caller
from jaxopt_lessons._checks.values import _is_traced

__all__ = [
    "SWAPPED",
    "check_float_params",
    "check_state",
    "check_stateless",
    "check_tree_matches",
    "check_updates_match_params",
    "checked_stateless",
    "checked_updates",
    "describe",
    "empty_init",
    "require_params",
]


def _paths(tree: Any) -> list[tuple[str, Any]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path), leaf) for path, leaf in leaves]


def check_float_params(fn: str, params: Any) -> None:
    """Optimizers move parameters continuously: integer or bool leaves are an error."""
    fn = caller(fn)
    for path, leaf in _paths(params):
        dtype = getattr(leaf, "dtype", None)
        if dtype is None:
            dtype = np.asarray(leaf).dtype
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"{fn}: every parameter must have a floating dtype, but params{path} "
                f"has dtype {jnp.dtype(dtype).name}. Cast it, or leave it out of the "
                "optimizer with optax.masked or optax.partition."
            )


def empty_init(fn: str) -> Callable[[Any], Any]:
    """`init` of a stateless block: checks the params' dtypes, holds nothing."""
    fn = caller(fn)

    def init_fn(params: Any) -> Any:
        check_float_params(fn, params)
        return optax.EmptyState()

    return init_fn


def check_tree_matches(
    fn: str, updates: Any, state_tree: Any, *, shapes: bool = True
) -> None:
    """Raises when `updates` is not shaped like the tree the state was built for.

    With ``shapes=False`` only the tree structure is compared (for states whose
    leaves are not shaped like the params, such as factored moments). Runs at
    trace time, so under `jax.jit` it costs nothing per step.
    """
    fn = caller(fn)
    got, want = jax.tree.structure(updates), jax.tree.structure(state_tree)
    if got != want:
        raise ValueError(
            f"{fn}: the structure of `updates` does not match the optimizer state "
            f"(built by `init` from the params).\n  updates: {got}\n  state:   {want}"
        )
    if not shapes:
        return
    for (path, update), (_, moment) in zip(_paths(updates), _paths(state_tree)):
        if jnp.shape(update) != jnp.shape(moment):
            raise ValueError(
                f"{fn}: the update at {path or 'the root'} has shape "
                f"{jnp.shape(update)}, but the optimizer state there has shape "
                f"{jnp.shape(moment)}."
            )


def describe(value: Any) -> str:
    """A short description of a value someone passed, for an error message."""
    if value is None:
        return "None"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the str {shown!r}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "traced array" if _is_traced(value) else "array"
        return f"an {kind} of shape {tuple(np.shape(value))} and dtype {value.dtype}"
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return f"a {type(value).__name__} (fields {', '.join(value._fields) or 'none'})"
    if isinstance(value, dict):
        keys = list(value)
        shown = ", ".join(repr(k) for k in keys[:6]) + (
            ", ..." if len(keys) > 6 else ""
        )
        return f"a {type(value).__name__} with keys [{shown}]"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} of type {type(value).__name__}"


SWAPPED = (
    " `update` takes (updates, state, params): were the arguments swapped, or "
    "the state of another optimizer passed?"
)


def check_state(fn: str, state: Any, expected: type | tuple[type, ...]) -> None:
    """Raises TypeError unless `state` is what this transform's `init` returns.

    Catches swapped arguments (``update(state, grads)``) and states of other
    optimizers with a message, instead of ``'str' object has no attribute
    'mu'`` from deep inside the update. A class check: free under `jax.jit`.
    """
    fn = caller(fn)
    if isinstance(state, expected):
        return
    classes = expected if isinstance(expected, tuple) else (expected,)
    names = " or ".join(f"{c.__module__.split('.')[0]}.{c.__name__}" for c in classes)
    article = "an" if names[0] in "aeiou" else "a"
    raise TypeError(
        f"{fn}: `state` must be the state returned by this transform's `init` "
        f"({article} {names}), got {describe(state)}.{SWAPPED}"
    )


def checked_updates(
    fn: str, updates: Any, state: Any, expected: type | tuple[type, ...], field: str
) -> Any:
    """The start of a stateful block's `update`, in this order: `state` is what
    this block's `init` returns (`check_state`); Python-float leaves of
    `updates` become arrays; `updates` is shaped like the state's tree
    `field` (`check_tree_matches`). Returns the updates as arrays."""
    check_state(fn, state, expected)
    updates = tm.as_arrays(updates)
    check_tree_matches(fn, updates, getattr(state, field))
    return updates


def check_stateless(fn: str, state: Any) -> None:
    """Raises TypeError when a stateless transform is handed a state holding arrays.

    Its `init` returns `optax.EmptyState()`, and its `update` never reads the
    state, so anything holding no arrays is accepted (Optax's own tests pass
    ``{}`` and ``0``). Arrays mean the gradients or params were passed in the
    state's place, which would lose them.
    """
    fn = caller(fn)
    if not any(hasattr(leaf, "shape") for leaf in jax.tree.leaves(state)):
        return
    raise TypeError(
        f"{fn}: `state` must be the state returned by this transform's `init` "
        f"(an optax.EmptyState, which holds no arrays), got {describe(state)}."
        f"{SWAPPED}"
    )


def require_params(fn: str, params: Any) -> None:
    """Raises ValueError when a block whose rule reads the parameters is
    updated without them. `fn` is the name the block resolved when it was built."""
    if params is None:
        raise ValueError(f"{fn}: `update` needs the current `params`; got None.")


def checked_stateless(
    fn: str, updates: Any, state: Any, params: Any, *, needs_params: bool = False
) -> tuple[Any, Any]:
    """The start of a stateless block's `update`, in this order: `state` holds
    no arrays (`check_stateless`); with `needs_params`, `params` are given
    (`require_params`) and their Python floats become arrays; so do those of
    `updates`; `updates` is shaped like `params` where they are given
    (`check_updates_match_params`). Returns ``(updates, params)``."""
    check_stateless(fn, state)
    if needs_params:
        require_params(fn, params)
        params = tm.as_arrays(params)
    updates = tm.as_arrays(updates)
    check_updates_match_params(fn, updates, params)
    return updates, params


def _is_none(x: Any) -> bool:
    return x is None


def check_updates_match_params(fn: str, updates: Any, params: Any) -> None:
    """Raises ValueError when `params` are given and `updates` is not shaped like them.

    A stateless transform has no state to compare the updates with, so a
    gradient tree with a missing or extra key would go through and fail later,
    in `apply_updates`, as a raw JAX error. None in `updates` stands for a
    whole subtree that gets no update (as in Optax). Structure and shapes
    only, read at trace time: nothing is computed, so `jax.jit` is unaffected.
    """
    if params is None:
        return
    fn = caller(fn)
    treedef = jax.tree.structure(updates, is_leaf=_is_none)
    try:
        targets = treedef.flatten_up_to(params)
    except (ValueError, TypeError):
        targets = None
    update_leaves = jax.tree_util.tree_flatten_with_path(updates, is_leaf=_is_none)[0]
    if targets is not None:
        mismatched = [
            (path, u, p)
            for (path, u), p in zip(update_leaves, targets)
            if u is not None and jax.tree.structure(p) != jax.tree.structure(0)
        ]
    if targets is None or mismatched:
        got = {jax.tree_util.keystr(path) for path, _ in update_leaves}
        want = {p for p, _ in _paths(params)}
        only_params = sorted(want - got)
        only_updates = sorted(got - want)
        lines = [f"{fn}: the structure of `updates` does not match `params`."]
        if only_params:
            lines.append(f"  missing from updates: {', '.join(only_params[:8])}")
        if only_updates:
            lines.append(f"  not in params:        {', '.join(only_updates[:8])}")
        lines.append(f"  updates: {jax.tree.structure(updates)}")
        lines.append(f"  params:  {jax.tree.structure(params)}")
        raise ValueError("\n".join(lines))
    for (path, update), param in zip(update_leaves, targets):
        if update is not None and jnp.shape(update) != jnp.shape(param):
            raise ValueError(
                f"{fn}: the update at {jax.tree_util.keystr(path) or 'the root'} has "
                f"shape {jnp.shape(update)}, but the parameter there has shape "
                f"{jnp.shape(param)}."
            )
