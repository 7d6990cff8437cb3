"""Whether a transform may run on grouped buffers, from its traced update.

`grouped` traces the update once on abstract grouped buffers and looks at
every operation. An operation emitted by a declared transform (see
`jaxopt_lessons.grouping.declarations`) is judged by the declaration. An
operation of a transform that declares nothing, Optax's or a user's, is
judged by what it does: elementwise operations on parameter-sized arrays,
scalar arithmetic and a scalar spread over an array pass; reductions,
reshapes, random numbers and loops over data are refused, with the name of
the transform that emitted them (the innermost ``update_fn`` in the
operation's traceback). The same is done on a small probe tree with
matrices, which also checks that the state is shaped like the parameters
(factored moments) and lets a wrapper that picks leaves by their shape
(``optax.masked`` with a mask on matrices) show itself.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import traceback
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons.grouping.declarations import Declaration, owner
from jaxopt_lessons.grouping.layout import GroupedTree, Layout, group

__all__ = ["NotElementwiseError", "check_elementwise", "problems_of"]


class NotElementwiseError(ValueError):
    """Raised when an optimizer cannot be run on grouped (flat) buffers."""


# Operations that act on each coordinate by itself.
_ELEMENTWISE_PRIMITIVES = frozenset(
    """abs acos acosh add and asin asinh atan atan2 atanh cbrt ceil clamp complex
    conj convert_element_type copy copy_p cos cosh digamma div eq erf erf_inv erfc
    exp exp2 expm1 floor ge gt igamma imag integer_pow is_finite le lgamma log
    log1p logistic lt max min mul ne neg nextafter not or pow real reduce_precision
    rem round rsqrt select_n sign sin sinh sqrt square sub tan tanh xor
    """.split()
)
# Operations that only wrap another jaxpr: their body is checked instead.
_CALLS = frozenset(
    "pjit jit closed_call core_call custom_jvp_call custom_vjp_call "
    "custom_vjp_call_jaxpr remat checkpoint cond".split()
)


def _size(var: Any) -> int:
    shape = getattr(getattr(var, "aval", None), "shape", ())
    return math.prod(shape)


def _owner(eqn: Any) -> tuple[str, str, Declaration | None]:
    """(factory name, file, declaration) of the transform that emitted `eqn`."""
    tb = eqn.source_info.traceback
    return owner(list(tb.frames) if tb else [])


@dataclasses.dataclass
class _Findings:
    problems: list[str] = dataclasses.field(default_factory=list)


def _walk(
    jaxpr: Any,
    found: _Findings,
    use_declarations: bool,
    outer: tuple = ("", "", None),
) -> None:
    """Records a problem for each operation that may not run on grouped buffers.

    An operation of a declared transform is judged by its declaration, unless
    `use_declarations` is False (the test of the declarations); an undeclared
    one by what it does. `outer` is the owner of the call that holds this
    jaxpr: operations inside a nested `jit` carry only the inner frames.
    """
    from jax.extend.core import jaxprs_in_params

    for eqn in jaxpr.eqns:
        prim = eqn.primitive.name
        all_vars = list(eqn.invars) + list(eqn.outvars)
        name, where, declared = _owner(eqn)
        if declared is None and outer[2] is not None:
            name, where, declared = outer
        elif not name:
            name, where = outer[0], outer[1]
        if not use_declarations:
            declared = None
        if declared is not None and not declared.groupable:
            found.problems.append(
                f"`{name}` is declared not elementwise: {declared.reason}"
            )
            continue
        if declared is not None:
            continue
        if all(_size(v) <= 1 for v in all_vars):
            continue  # step counts, schedules, hyperparameters
        if prim in _CALLS:
            if prim == "cond" and _size(eqn.invars[0]) > 1:
                found.problems.append(
                    _describe(prim, eqn, name, where, "branches per coordinate")
                )
                continue
            for sub in jaxprs_in_params(eqn.params):
                _walk(sub, found, use_declarations, (name, where, declared))
            continue
        if prim in _ELEMENTWISE_PRIMITIVES:
            continue
        if prim == "broadcast_in_dim" and all(_size(v) <= 1 for v in eqn.invars):
            continue  # a scalar spread over a leaf
        found.problems.append(_describe(prim, eqn, name, where, None))


@dataclasses.dataclass(frozen=True)
class _Frame:
    file_name: str
    function_name: str


def _refusal_in(error: Exception) -> str | None:
    """The reason of a transform declared not elementwise whose code raised
    `error`, if one did (Muon's update cannot even be traced on flat
    buffers, since it needs matrices: its declaration says why)."""
    frames = [
        _Frame(frame.f_code.co_filename, frame.f_code.co_qualname)
        for frame, _ in traceback.walk_tb(error.__traceback__)
    ]
    name, where, declared = owner(frames[::-1])
    if declared is None or declared.groupable:
        return None
    return f"`{name}` ({os.path.basename(where)}): {declared.reason}"


def _describe(prim: str, eqn: Any, name: str, where: str, why: str | None) -> str:
    shapes = [tuple(v.aval.shape) for v in eqn.invars if hasattr(v, "aval")]
    owner = f"`{name}` ({os.path.basename(where)})" if name else "the update"
    if why is None:
        if prim.startswith("reduce") or prim in ("argmax", "argmin", "dot_general"):
            why = "it reduces over a whole array (a per-leaf norm or statistic)"
        elif prim in (
            "random_bits",
            "random_wrap",
            "random_seed",
            "threefry2x32",
            "iota",
        ):
            why = "its values depend on each coordinate's position (random numbers)"
        else:
            why = "it is not an elementwise operation"
    return f"{owner} uses `{prim}` on arrays of shapes {shapes}: {why}"


def _probe_tree(dtypes: tuple[str, ...]) -> dict[str, Any]:
    """Small abstract leaves of several ranks, with dims big enough to factor."""
    shapes = [(), (7,), (128, 129), (2, 128, 129)]
    return {d: [jax.ShapeDtypeStruct(s, jnp.dtype(d)) for s in shapes] for d in dtypes}


def _trace_update(tx, params: Any, extra_args: dict) -> tuple[Any, Any]:
    state = jax.eval_shape(tx.init, params)
    jaxpr = jax.make_jaxpr(lambda g, s, p: tx.update(g, s, p, **extra_args))(
        params, state, params
    )
    return jaxpr, state


@functools.lru_cache(maxsize=256)
def _verdict(
    tx,
    layout: Layout,
    avals: tuple,
    dtypes: tuple[str, ...],
    extra: tuple,
    use_declarations: bool = True,
) -> tuple[str, ...]:
    abstract_packed = GroupedTree(
        tuple(jax.ShapeDtypeStruct(s, jnp.dtype(d)) for s, d in avals), layout
    )
    extra_args = dict(extra)
    found = _Findings()
    for what, params in (
        ("grouped buffers", abstract_packed),
        ("probe", _probe_tree(dtypes)),
    ):
        try:
            jaxpr, state = _trace_update(tx, params, extra_args)
        except NotElementwiseError:
            raise
        except Exception as error:  # structure mismatches, masks, ...
            refusal = _refusal_in(error) if use_declarations else None
            if refusal is not None:
                found.problems.append(refusal)
                continue
            found.problems.append(
                f"its update fails on {what}: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}"
            )
            continue
        _walk(jaxpr.jaxpr, found, use_declarations)
        if what == "probe":
            shapes = {tuple(x.shape) for x in jax.tree.leaves(params)}
            for leaf in jax.tree.leaves(state):
                if tuple(leaf.shape) not in shapes | {()}:
                    found.problems.append(
                        f"its state has a leaf of shape {tuple(leaf.shape)} that is not "
                        "shaped like any parameter (factored or per-leaf statistics)"
                    )
                    break
    return tuple(dict.fromkeys(found.problems))


def problems_of(
    tx: optax.GradientTransformation,
    params: Any,
    *,
    extra_args: dict | None = None,
    use_declarations: bool = True,
) -> tuple[str, ...]:
    """Why `tx` may not run on grouped buffers (empty when it may).

    With ``use_declarations=False`` every operation is judged by what it
    does, declarations aside: the check that the declarations are true.
    """
    abstract = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)), params
    )
    if not isinstance(abstract, GroupedTree):
        abstract = jax.eval_shape(group, abstract)
    avals = tuple((tuple(b.shape), jnp.dtype(b.dtype).name) for b in abstract.buffers)
    dtypes = tuple(sorted({d for _, d in avals}))
    if extra_args is None and isinstance(tx, optax.GradientTransformationExtraArgs):
        # A stand-in loss for transforms that need one (Polyak's step size);
        # by Optax's protocol the others ignore extra arguments.
        extra_args = {"value": 0.0}
    extra = tuple(sorted((extra_args or {}).items()))
    args = (tx, abstract.layout, avals, dtypes, extra, use_declarations)
    try:
        return _verdict(*args)
    except TypeError:  # unhashable extra arguments: no cache
        return _verdict.__wrapped__(*args)


def check_elementwise(
    tx: optax.GradientTransformation,
    params: Any,
    *,
    name: str | None = None,
    extra_args: dict | None = None,
) -> None:
    """Raises `NotElementwiseError` unless `tx` can run on grouped buffers.

    Args:
        tx: the transform (an optimizer, a chain, a wrapper).
        params: the parameters, a tree or a `GroupedTree` (only shapes and
            dtypes are used; nothing is computed).
        name: how to call `tx` in the message (default: what the trace shows).
        extra_args: keyword arguments `tx.update` needs (e.g. `value`).

    Raises:
        NotElementwiseError: naming the transform and the operation at fault.
    """
    problems = problems_of(tx, params, extra_args=extra_args)
    if problems:
        who = f"`{name}`" if name else "this optimizer"
        lines = "\n  - ".join(problems[:4])
        if len(problems) > 4:
            lines += f"\n  - ... and {len(problems) - 4} more"
        raise NotElementwiseError(
            f"grouped: cannot run {who} on grouped buffers, because its update is not "
            f"elementwise:\n  - {lines}\nGrouping would mix the coordinates of different "
            "arrays and change the numbers. Use it per leaf (without `grouped`); if its "
            "result truly does not depend on how coordinates are split into arrays, "
            "declare its factory with `jaxopt_lessons.grouping.partition_invariant`."
        )
