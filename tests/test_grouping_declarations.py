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
}
# What an update needs beyond (updates, state, params).
EXTRA = {"scale_by_polyak": {"value": jnp.float32(1.0)}}

# The blocks of jaxopt_lessons.contrib (found there by `_factory`).
ARGS |= {"scale_by_dog": (("heuristic", 1e-6),)}
EXTRA |= {
    name: {"value": jnp.float32(1.0)}
    for name in ("scale_by_momo", "scale_by_momo_adam", "reduce_on_plateau")
}
PARTITION_INVARIANT_CONTRIB = [
    "scale_by_dadapt_adamw",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_momo",
    "scale_by_momo_adam",
    "scale_by_prodigy",
]


def _factory(name):
    return getattr(jol, name) if hasattr(jol, name) else getattr(jol.contrib, name)


def _build(name):
    factory = _factory(name)
    if name in ARGS:
        return factory(*ARGS[name])
    try:
        return factory()
    except TypeError:  # a required first argument
        return factory(0.1)


@pytest.mark.parametrize("name", jol.TRANSFORMS + jol.contrib.TRANSFORMS)
def test_every_block_declares_and_the_trace_agrees(name):
    declaration = g.declaration_of(_factory(name))
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


@pytest.mark.parametrize(
    "name", ["clip_by_global_norm", "scale_by_polyak", *PARTITION_INVARIANT_CONTRIB]
)
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


# ----------------------------------------------------------------------------
# jaxopt_lessons.contrib: sam, normalize, dpsgd's aggregate, galore, sophia,
# Hutchinson's estimator, split_real_and_imaginary. Wrappers are built around
# elementwise inner transforms, so that what is traced is the wrapper's own.

CONTRIB_BUILD = {
    "sam": lambda c: c.sam(jol.sgd(0.1), jol.sgd(0.05)),
    "split_real_and_imaginary": lambda c: c.split_real_and_imaginary(jol.adam(0.1)),
    "differentially_private_aggregate": lambda c: c.differentially_private_aggregate(
        1.0, 0.5, key=0
    ),
    # an elementwise stand-in for the Hessian's diagonal (Hutchinson's is not)
    "scale_by_sophia": lambda c: c.scale_by_sophia(hessian_diagonal_fn=jol.scale(1.0)),
}
CONTRIB_EXTRA = {
    "hutchinson_estimator_diag_hessian": {
        "obj_fn": lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p))
    },
}


#: A wrapper of a whole optimizer declares nothing: a declaration would vouch
#: for the optimizer it wraps, which is judged by its own blocks' declarations.
UNDECLARED_WRAPPERS = {"schedule_free"}


def _contrib_transforms():
    from jaxopt_lessons import contrib

    return [n for n in contrib.TRANSFORMS if n not in UNDECLARED_WRAPPERS]


def _build_contrib(contrib, name):
    if name in CONTRIB_BUILD:
        return CONTRIB_BUILD[name](contrib)
    try:
        return getattr(contrib, name)()
    except TypeError:  # a required first argument
        return getattr(contrib, name)(0.1)


@pytest.mark.parametrize("name", _contrib_transforms())
def test_contrib_blocks_declare_and_the_trace_agrees(name):
    from jaxopt_lessons import contrib

    factory = getattr(contrib, name)
    declaration = g.declaration_of(factory)
    assert declaration is not None, f"{name} does not declare how it groups"
    tx = _build_contrib(contrib, name)
    extra = CONTRIB_EXTRA.get(name)
    tree = helpers.mixed_tree()
    traced = g.problems_of(tx, tree, extra_args=extra, use_declarations=False)
    if declaration.kind == d.ELEMENTWISE:
        assert traced == (), f"{name} is declared elementwise, but:\n{traced}"
    else:
        assert traced, f"{name} is declared {declaration.kind} but traces elementwise"
    decided = g.problems_of(tx, tree, extra_args=extra)
    assert bool(decided) == (not declaration.groupable), (name, decided)
    if not declaration.groupable:
        assert declaration.reason in " ".join(decided)


def test_contrib_normalize_gives_the_per_leaf_numbers():
    from jaxopt_lessons import contrib

    tx = optax.chain(contrib.normalize(), jol.scale(-0.1))
    params = helpers.mixed_tree()
    packed = g.group(params, 10**6)
    grads = jax.tree.map(lambda x: x[0], helpers.random_grads(params, 1))
    updates, _ = g.grouped(tx, max_leaf_size=10**6).update(
        packed.regroup(grads), tx.init(packed), packed
    )
    expected, _ = tx.update(grads, tx.init(params), params)
    helpers.assert_close_every_step(
        jax.tree.map(lambda x: x[None], updates.ungroup()),
        jax.tree.map(lambda x: x[None], expected),
        helpers.F32,
        "normalize grouped against per leaf",
    )


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
