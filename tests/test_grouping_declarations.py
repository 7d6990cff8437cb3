"""Every building block declares how it groups, and each declaration is true.

`grouped` trusts the declarations of this package's transforms. Here each
one is checked against what its update traces to, operation by operation
(`problems_of(..., use_declarations=False)`): a block declared elementwise
must trace to elementwise operations only, one declared not elementwise must
not, and one declared partition-invariant reduces over its coordinates but
must give the per-leaf numbers when grouped.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import grouping as g
from jaxopt_lessons.grouping import declarations as d
from tests import helpers

# Arguments for the blocks whose first argument is not a plain number.
ARGS = {
    "scale_by_schedule": (optax.linear_schedule(0.1, 0.01, 10),),
    "add_noise": (0.1, 0.5, 0),
    "scale_by_backtracking_linesearch": (5,),
    "scale_by_zoom_linesearch": (5,),
}
# What an update needs beyond (updates, state, params).
EXTRA = {"scale_by_polyak": {"value": jnp.float32(1.0)}}

# The blocks of jaxopt_lessons.contrib, found by `_factory` after this package's.
from jaxopt_lessons import contrib  # noqa: E402

#: A wrapper of a whole optimizer declares nothing: a declaration would vouch
#: for the optimizer it wraps, which is judged by its own blocks' declarations.
UNDECLARED_WRAPPERS = {"schedule_free"}
ARGS |= {"scale_by_dog": (("heuristic", 1e-6),)}
#: Blocks built around something: wrappers get an elementwise inner transform,
#: so that what is traced is the wrapper's own.
BUILD = {
    "sam": lambda: contrib.sam(jol.sgd(0.1), jol.sgd(0.05)),
    "split_real_and_imaginary": lambda: contrib.split_real_and_imaginary(jol.adam(0.1)),
    "differentially_private_aggregate": lambda: (
        contrib.differentially_private_aggregate(1.0, 0.5, key=0)
    ),
    # an elementwise stand-in for the Hessian's diagonal (Hutchinson's is not)
    "scale_by_sophia": lambda: contrib.scale_by_sophia(
        hessian_diagonal_fn=jol.scale(1.0)
    ),
}
EXTRA |= {
    name: {"value": jnp.float32(1.0)}
    for name in ("scale_by_momo", "scale_by_momo_adam", "reduce_on_plateau")
}
EXTRA["hutchinson_estimator_diag_hessian"] = {
    "obj_fn": lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p))
}
#: Blocks that take only some trees (Muon orthogonalises matrices).
TREES = {
    "scale_by_muon": lambda: {
        "a": jnp.ones((3, 4)),
        "b": [jnp.eye(4, 3), jnp.ones((2, 2))],
    },
}
PARTITION_INVARIANT = [
    "clip_by_global_norm",
    "scale_by_polyak",
    "normalize",
    "scale_by_dadapt_adamw",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_momo",
    "scale_by_momo_adam",
    "scale_by_prodigy",
]
BLOCKS = [
    *jol.TRANSFORMS,
    *(n for n in contrib.TRANSFORMS if n not in UNDECLARED_WRAPPERS),
]


def _factory(name):
    return getattr(jol, name) if hasattr(jol, name) else getattr(contrib, name)


def _sum_of_squares(params):
    return sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(params))


def _with_objective(tx):
    """`tx`, whose `update` is handed a loss, its gradient (the incoming
    update) and the loss function, made for whatever tree it is traced on
    (grouped buffers or the probe): the line searches need all three."""

    def update_fn(updates, state, params=None, **extra):
        return tx.update(
            updates,
            state,
            params,
            value=_sum_of_squares(params),
            grad=updates,
            value_fn=_sum_of_squares,
        )

    return optax.GradientTransformationExtraArgs(tx.init, update_fn)


#: Blocks whose `update` needs `value`, `grad` and `value_fn`.
NEEDS_OBJECTIVE = {"scale_by_backtracking_linesearch", "scale_by_zoom_linesearch"}


def _build(name):
    if name in BUILD:
        return BUILD[name]()
    factory = _factory(name)
    if name in ARGS:
        tx = factory(*ARGS[name])
    else:
        try:
            tx = factory()
        except TypeError:  # a required first argument
            tx = factory(0.1)
    return _with_objective(tx) if name in NEEDS_OBJECTIVE else tx


@pytest.mark.parametrize("name", BLOCKS)
def test_every_block_declares_and_the_trace_agrees(name):
    declaration = g.declaration_of(_factory(name))
    assert declaration is not None, f"{name} does not declare how it groups"
    tx = _build(name)
    tree = TREES.get(name, helpers.mixed_tree)()
    traced = g.problems_of(
        tx,
        tree,
        extra_args=EXTRA.get(name),
        use_declarations=False,
    )
    if declaration.kind == d.ELEMENTWISE:
        assert traced == (), f"{name} is declared elementwise, but:\n{traced}"
    else:
        assert traced, f"{name} is declared {declaration.kind} but traces elementwise"
    # and `grouped` follows the declaration
    decided = g.problems_of(tx, tree, extra_args=EXTRA.get(name))
    assert bool(decided) == (not declaration.groupable), (name, decided)
    if not declaration.groupable:
        assert declaration.reason in " ".join(decided)


@pytest.mark.parametrize("name", PARTITION_INVARIANT)
def test_partition_invariant_blocks_give_the_per_leaf_numbers(name):
    assert g.declaration_of(_factory(name)).kind == d.PARTITION_INVARIANT
    tx = optax.chain(_build(name), jol.scale(-0.1))
    params = helpers.mixed_tree()
    extra = EXTRA.get(name, {})
    grouped_tx = g.grouped(tx, max_leaf_size=10**6)
    packed = g.group(params, 10**6)
    # tx's state on the buffers, built without `grouped.init`'s check, which
    # traces `update` without the `value=` Polyak's step needs
    state, ref_state = tx.init(packed), tx.init(params)
    grads = jax.tree.map(lambda x: x[0], helpers.random_grads(params, 1))
    updates, state = grouped_tx.update(packed.regroup(grads), state, packed, **extra)
    expected, ref_state = tx.update(grads, ref_state, params, **extra)
    helpers.assert_close_every_step(
        jax.tree.map(lambda x: x[None], updates.ungroup()),
        jax.tree.map(lambda x: x[None], expected),
        helpers.F32,
        f"{name} grouped against per leaf",
    )


def test_grouped_refuses_lbfgs_with_each_reason():
    """L-BFGS mixes all coordinates (inner products of whole trees) and its
    line search evaluates the loss of the whole model: both are refused, and
    without a line search the L-BFGS block still is."""
    for linesearch, blocks in (
        (
            jol.scale_by_zoom_linesearch(5),
            ("scale_by_lbfgs", "scale_by_zoom_linesearch"),
        ),
        (
            jol.scale_by_backtracking_linesearch(5),
            ("scale_by_lbfgs", "scale_by_backtracking_linesearch"),
        ),
        (None, ("scale_by_lbfgs",)),
    ):
        tx = _with_objective(jol.lbfgs(linesearch=linesearch))
        problems = " ".join(g.problems_of(tx, helpers.mixed_tree()))
        for block in blocks:
            assert g.declaration_of(getattr(jol, block)).reason in problems, block


def test_a_refusal_in_a_wrapper_wins_over_the_blocks_inside():
    """`optax.masked` around an elementwise block picks leaves by structure."""
    masked = optax.masked(jol.scale_by_adam(), lambda p: jax.tree.map(jnp.ndim, p))
    problems = g.problems_of(masked, helpers.mixed_tree())
    assert any("optax.masked" in p for p in problems), problems


def test_user_declarations():
    def my_scaling():
        return optax.scale(2.0)

    assert g.declaration_of(my_scaling) is None
    try:
        assert g.elementwise(my_scaling) is my_scaling
        assert g.declaration_of(my_scaling) == d.Declaration(d.ELEMENTWISE)
    finally:
        d._DECLARED.pop(d._key(my_scaling))


def test_a_wrapper_that_declares_nothing_leaves_the_verdict_to_its_base():
    """`schedule_free` around an elementwise optimizer groups; around one that
    reduces per leaf (LAMB's trust ratio), `grouped` refuses it and names the
    wrapped block."""
    sf = jol.contrib.schedule_free
    assert g.declaration_of(sf) is None
    params = helpers.mixed_tree()
    assert g.problems_of(sf(jol.adam(0.1), 0.1), params) == ()
    refused = g.problems_of(sf(jol.lamb(0.1), 0.1), params)
    assert any("scale_by_trust_ratio" in p for p in refused), refused
