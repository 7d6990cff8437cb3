"""Validation helpers: hyperparameters at construction, pytrees at trace time.

Every message reads ``"<function>: `<argument>` must <rule>, got <value>."`` so
the user sees at once which call and which argument were wrong.

Hyperparameters that are JAX tracers are skipped: `optax.inject_hyperparams`
re-creates the transform with traced values inside `update`, and `jax.vmap`
over a sweep of settings passes batched tracers. Their values cannot be read
without breaking the trace, and they were validated when first given.

The function a message names is the one the user called: an optimizer is
declared with `entry_point`, and while it builds its blocks, `caller` gives
its name to every block's checks (`adam(b1=2)` says ``adam: `b1` ...``, not
``scale_by_adam: ...``). A block called directly names itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import tree as tm

__all__ = [
    "caller",
    "check_adam_args",
    "check_bool",
    "check_dtype",
    "check_float_params",
    "check_interval",
    "check_learning_rate",
    "check_not_both_zero",
    "check_non_negative",
    "check_positive",
    "check_state",
    "check_stateless",
    "check_tree_matches",
    "check_updates_match_params",
    "check_weight_decay",
    "checked_updates",
    "describe",
    "empty_init",
    "entry_point",
    "reporting_as",
]


def _is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


# ----------------------------------------------------------------------------
# Which function a message names.

_CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "jaxopt_lessons_caller", default=None
)
_F = TypeVar("_F", bound=Callable[..., Any])


def caller(fn: str) -> str:
    """The name messages use: the public function being called, else `fn`.

    Blocks resolve their name once, when they are built, so the errors of
    their `init` and `update` name the same function as their validation.
    """
    return _CALLER.get() or fn


@contextlib.contextmanager
def reporting_as(fn: str) -> Iterator[str]:
    """Within the block, messages name `fn`, unless an outer call already set a name."""
    name = caller(fn)
    token = _CALLER.set(name)
    try:
        yield name
    finally:
        _CALLER.reset(token)


def entry_point(factory: _F) -> _F:
    """Declares a public factory: messages raised while it builds name it.

    `adam` is a chain of `scale_by_adam` and `scale_by_learning_rate`; with
    this decorator, ``adam(b1=2)`` reports ``adam: `b1` must ...``. The
    signature is kept (`inspect.signature` and `optax.inject_hyperparams`
    read the wrapped function's).
    """

    @functools.wraps(factory)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reporting_as(factory.__name__):
            return factory(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _show(value: Any) -> str:
    """A short, readable form of a hyperparameter for an error message."""
    if isinstance(value, (jax.Array, np.ndarray)) and np.ndim(value) > 0:
        return f"array of shape {np.shape(value)} with values {np.asarray(value)!r}"
    return repr(value)


def _as_real(fn: str, name: str, value: Any) -> np.ndarray:
    """Returns `value` as a float64 NumPy array, or raises TypeError."""
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (bool, np.bool_)) or (
        dtype is not None and np.dtype(dtype) == np.bool_
    ):
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got the bool {value!r}."
        )
    # Lists and tuples are refused: `-1 * [0.1]` is an empty list, not -0.1.
    # np.generic, not np.number: ml_dtypes' scalars (bfloat16) are not numbers
    # to NumPy; strings and other non-numbers are refused by dtype below.
    if not isinstance(value, (int, float, np.generic, np.ndarray, jax.Array)):
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got {value!r} "
            f"of type {type(value).__name__}."
        )
    array = np.asarray(value)
    # jnp.issubdtype knows ml_dtypes' floats (bfloat16, float8_*), whose
    # NumPy kind is 'V'; bools were refused above.
    if not (
        jnp.issubdtype(array.dtype, jnp.floating)
        or jnp.issubdtype(array.dtype, jnp.integer)
    ):
        raise TypeError(
            f"{fn}: `{name}` must be a real number, got {value!r} "
            f"of type {type(value).__name__}."
        )
    return array.astype(np.float64)


def check_interval(
    fn: str,
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    high_closed: bool = False,
) -> None:
    """Raises unless `value` is finite and ``low <= value < high``.

    With `high_closed`, ``value <= high`` instead. NaN fails every comparison
    and infinities are refused even where a bound is infinite.
    """
    fn = caller(fn)
    if _is_traced(value):
        return
    array = _as_real(fn, name, value)
    upper = array <= high if high_closed else array < high
    if not np.all((array >= low) & upper):
        bracket = "]" if high_closed else ")"
        raise ValueError(
            f"{fn}: `{name}` must lie in [{low:g}, {high:g}{bracket}, got {_show(value)}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{fn}: `{name}` must be finite, got {_show(value)}.")


def check_non_negative(fn: str, name: str, value: Any) -> None:
    """Raises unless `value` is finite and ``>= 0``."""
    check_interval(fn, name, value, 0.0, math.inf)


def check_positive(fn: str, name: str, value: Any) -> None:
    """Raises unless `value` is finite and ``> 0``."""
    fn = caller(fn)
    if _is_traced(value):
        return
    array = _as_real(fn, name, value)
    if not np.all((array > 0) & np.isfinite(array)):
        raise ValueError(
            f"{fn}: `{name}` must be positive and finite, got {_show(value)}."
        )


def _check_rate_or_schedule(fn: str, name: str, value: Any, allow_none: bool) -> None:
    """A finite number >= 0, an array of them, or a schedule (checked where used)."""
    fn = caller(fn)
    if value is None and allow_none:
        return
    if is_schedule(value):
        return
    if value is None:
        raise TypeError(
            f"{fn}: `{name}` must be a number, an array or a schedule, got None."
        )
    check_non_negative(fn, name, value)


def check_learning_rate(
    fn: str, name: str, value: Any, *, allow_none: bool = False
) -> None:
    """A learning rate is a finite number >= 0, an array of them, or a schedule.

    A schedule (any callable, ``step -> value``) is checked where it is used.
    `allow_none` is for the factories whose `learning_rate` may be None
    (`scale_by_learning_rate`, `adadelta`, `adafactor`).
    """
    _check_rate_or_schedule(fn, name, value, allow_none)


def check_weight_decay(fn: str, name: str, value: Any) -> None:
    """A weight decay λ is a finite number >= 0, an array of them, or a schedule.

    As in Optax, `add_decayed_weights` takes a schedule of the step count; a
    schedule is checked where it is used. None is never a weight decay.
    """
    _check_rate_or_schedule(fn, name, value, allow_none=False)


def check_adam_args(fn: str, b1: Any, b2: Any, eps: Any, eps_root: Any) -> None:
    """The arguments Adam's relatives share: β₁, β₂ in [0, 1), ε and ε_root >= 0,
    not both 0 (a zero gradient would divide 0 by 0).

    Used by `scale_by_adam`, `scale_by_amsgrad`, `scale_by_belief`,
    `scale_by_novograd` and `scale_by_radam`.
    """
    check_interval(fn, "b1", b1, 0.0, 1.0)
    check_interval(fn, "b2", b2, 0.0, 1.0)
    check_non_negative(fn, "eps", eps)
    check_non_negative(fn, "eps_root", eps_root)
    check_not_both_zero(fn, ("eps", "eps_root"), (eps, eps_root))


def check_bool(fn: str, name: str, value: Any) -> None:
    """Options that change the program's structure must be Python bools."""
    fn = caller(fn)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{fn}: `{name}` must be True or False, got {value!r} "
            f"of type {type(value).__name__}."
        )


def check_dtype(fn: str, name: str, value: Any) -> jnp.dtype | None:
    """Returns the canonical floating dtype named by `value` (None stays None)."""
    fn = caller(fn)
    if value is None:
        return None
    try:
        dtype = jnp.dtype(value)
    except TypeError as error:
        raise TypeError(f"{fn}: `{name}` must be a dtype, got {value!r}.") from error
    if not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(
            f"{fn}: `{name}` must be a floating or complex dtype, got {dtype.name}."
        )
    return jax.dtypes.canonicalize_dtype(dtype)


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


def check_not_both_zero(
    fn: str, names: tuple[str, str], values: tuple[Any, Any]
) -> None:
    """Raises when both terms that keep a division finite are exactly 0.

    With both at 0, a zero gradient on the first step gives 0/0 = NaN.
    """
    fn = caller(fn)
    if any(_is_traced(v) for v in values):
        return
    if all(np.all(np.asarray(v) == 0) for v in values):
        (a, b), (va, vb) = names, values
        raise ValueError(
            f"{fn}: `{a}` and `{b}` cannot both be 0 (a zero gradient would give "
            f"0/0); got {a}={va!r}, {b}={vb!r}."
        )


# ----------------------------------------------------------------------------
# The arguments of `update`.


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


def is_integer_array(value: Any) -> bool:
    """True for a concrete NumPy or JAX integer scalar or array (not a Python int)."""
    if _is_traced(value) or not isinstance(value, (np.generic, np.ndarray, jax.Array)):
        return False
    return bool(jnp.issubdtype(np.asarray(value).dtype, jnp.integer))


def is_schedule(value: Any) -> bool:
    """True for a learning-rate schedule (a callable, not an array)."""
    return callable(value) and not isinstance(value, (jax.Array, np.ndarray))


Schedule = Callable[[jax.Array], jax.Array]
