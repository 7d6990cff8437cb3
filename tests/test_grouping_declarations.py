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
    factory = getattr(jol, name)
    if name in ARGS:
        tx = factory(*ARGS[name])
    else:
        try:
            tx = factory()
        except TypeError:  # a required first argument
            tx = factory(0.1)
    return _with_objective(tx) if name in NEEDS_OBJECTIVE else tx


@pytest.mark.parametrize("name", jol.TRANSFORMS)
def test_every_block_declares_and_the_trace_agrees(name):
    declaration = g.declaration_of(getattr(jol, name))
    assert declaration is not None, f"{name} does not declare how it groups"
    tx = _build(name)
    traced = g.problems_of(
        tx,
        helpers.mixed_tree(),
        extra_args=EXTRA.get(name),
        use_declarations=False,
    )
    if declaration.kind == d.ELEMENTWISE:
        assert traced == (), f"{name} is declared elementwise, but:\n{traced}"
    else:
        assert traced, f"{name} is declared {declaration.kind} but traces elementwise"
    # and `grouped` follows the declaration
    decided = g.problems_of(tx, helpers.mixed_tree(), extra_args=EXTRA.get(name))
    assert bool(decided) == (not declaration.groupable), (name, decided)
    if not declaration.groupable:
        assert declaration.reason in " ".join(decided)


@pytest.mark.parametrize("name", ["clip_by_global_norm", "scale_by_polyak"])
def test_partition_invariant_blocks_give_the_per_leaf_numbers(name):
    assert g.declaration_of(getattr(jol, name)).kind == d.PARTITION_INVARIANT
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
