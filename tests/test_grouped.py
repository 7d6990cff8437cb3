"""Grouped execution gives the per-leaf numbers, and refuses what it cannot group."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import grouping as g
from jaxopt_lessons.grouping import declarations
from tests import helpers

STEPS = 3


def _tree_with_large_leaf(dtype=jnp.float32):
    tree = helpers.mixed_tree(dtype)
    tree["big"] = jnp.asarray(np.random.default_rng(3).standard_normal((40, 30)), dtype)
    return tree


def _ungroup_state(state):
    return jax.tree.map(
        lambda x: x.ungroup() if g.is_grouped(x) else x, state, is_leaf=g.is_grouped
    )


def _run(tx, params, grads):
    """Updates, state leaves (ungrouped) and params at every step, stacked.

    Eager: on these small trees the operations compiled once are shared by
    every test, which is cheaper than compiling one program per run.
    `params` may be a GroupedTree (the gradients are then grouped the same way).
    """

    def plain(x):
        return x.ungroup() if g.is_grouped(x) else x

    state = tx.init(params)
    history = []
    for t in range(STEPS):
        grad = jax.tree.map(lambda x, t=t: x[t], grads)
        if g.is_grouped(params):
            grad = params.regroup(grad)
        updates, state = tx.update(grad, state, params)
        params = optax.apply_updates(params, updates)
        ungrouped = jax.tree.leaves(_ungroup_state(state))
        history.append((plain(updates), ungrouped, plain(params)))
    return jax.tree.map(lambda *xs: jnp.stack(xs), *history)


def _assert_same(ours, ref, tol=helpers.F32):
    helpers.assert_close_every_step(ours, ref, tol, "trajectory")


def test_group_round_trip_and_layout():
    tree = _tree_with_large_leaf()
    tree["half"] = jnp.ones((3,), jnp.bfloat16)
    packed = g.group(tree, max_leaf_size=100)
    # small float32 leaves share one buffer, bfloat16 another, the 40x30 stays alone
    assert [b.shape for b in packed.buffers] == [(33,), (3,), (40, 30)]
    assert [b.dtype for b in packed.buffers] == [jnp.float32, jnp.bfloat16, jnp.float32]
    back = packed.ungroup()
    assert jax.tree.structure(back) == jax.tree.structure(tree)
    for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(tree), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert len(g.group(tree, max_leaf_size=0).buffers) == len(jax.tree.leaves(tree))
    assert len(g.group(tree, max_leaf_size=10**9).buffers) == 2  # one per dtype


def test_grouped_tree_is_a_pytree_of_its_buffers():
    packed = g.group(helpers.mixed_tree())
    doubled = jax.jit(lambda t: jax.tree.map(lambda x: 2 * x, t))(packed)
    assert g.is_grouped(doubled)
    np.testing.assert_allclose(
        doubled.ungroup()["dense"]["kernel"],
        2 * helpers.mixed_tree()["dense"]["kernel"],
    )
    # gradients of a loss written on the ordinary tree come back grouped
    grads = jax.jit(
        jax.grad(lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p.ungroup())))
    )(packed)
    assert g.is_grouped(grads)
    np.testing.assert_allclose(grads.buffers[0], 2 * packed.buffers[0], rtol=1e-6)


# Elementwise rules that must be accepted, and per-leaf ones that must be refused
# (checked only for those this package has).
MUST_GROUP = {
    "sgd",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
    "amsgrad",
    "adamax",
    "adagrad",
    "lion",
}
MUST_REFUSE = {"lamb", "lars", "novograd", "fromage", "adafactor", "sm3", "noisy_sgd"}


@pytest.mark.parametrize("name", jol.OPTIMIZERS)
def test_every_optimizer_grouped_equals_per_leaf(name):
    """Every optimizer: the grouped fast path (params kept grouped) gives the
    per-leaf numbers, or the optimizer is refused with its name. Eager, on a
    tiny tree, so that the operations compiled once serve every optimizer."""
    params = {"s": jnp.float32(0.5), "v": jnp.linspace(-1, 1, 5), "m": jnp.ones((3, 4))}
    grads = helpers.random_grads(params, 3)
    try:
        ours = getattr(jol, name)(1e-2)
    except TypeError:
        pytest.skip(f"{name} needs more than a learning rate")
    grouped_tx = g.grouped(ours, max_leaf_size=6, name=name)
    try:
        state = grouped_tx.init(params)
    except g.NotElementwiseError as error:
        assert f"`{name}`" in str(error)
        assert name not in MUST_GROUP, str(error)
        return
    assert name not in MUST_REFUSE, f"{name} was grouped but is not elementwise"
    packed, ref_params, ref_state = g.group(params, 6), params, ours.init(params)
    extra = {"value": jnp.float32(0.5)} if name == "polyak_sgd" else {}
    for t in range(3):
        grad = jax.tree.map(lambda x, t=t: x[t], grads)
        updates, state = grouped_tx.update(packed.regroup(grad), state, packed, **extra)
        packed = optax.apply_updates(packed, updates)
        ref_updates, ref_state = ours.update(grad, ref_state, ref_params, **extra)
        ref_params = optax.apply_updates(ref_params, ref_updates)
        for what, a, b in (
            ("updates", updates.ungroup(), ref_updates),
            ("params", packed.ungroup(), ref_params),
            (
                "state",
                jax.tree.leaves(_ungroup_state(state)),
                jax.tree.leaves(ref_state),
            ),
        ):
            helpers.assert_close_every_step(
                jax.tree.map(lambda x: x[None], a),
                jax.tree.map(lambda x: x[None], b),
                helpers.F32,
                f"{name} step {t} {what}",
            )


@pytest.mark.parametrize("name", ["adamw"])
def test_grouped_paths_equal_optax(name):
    """Both grouped paths (params grouped; plain trees in and out) against Optax."""
    params = _tree_with_large_leaf()
    grads = helpers.random_grads(params, STEPS)
    ref = _run(getattr(optax, name)(1e-2), params, grads)
    grouped_tx = g.grouped(getattr(jol, name)(1e-2), max_leaf_size=100)
    _assert_same(_run(grouped_tx, g.group(params, 100), grads), ref)
    _assert_same(_run(grouped_tx, params, grads), ref)


def test_grouped_mixed_dtypes_schedule_and_inject():
    params = helpers.mixed_tree(jnp.float32)
    params["half"] = jnp.linspace(-1, 1, 6, dtype=jnp.bfloat16)
    grads = helpers.random_grads(params, STEPS)
    schedule = optax.cosine_decay_schedule(1e-2, 50)
    tx = optax.inject_hyperparams(jol.adam)(learning_rate=schedule, b1=0.8)
    ref = _run(tx, params, grads)
    _assert_same(_run(g.grouped(tx), g.group(params), grads), ref, helpers.BF16)


def test_grouped_train_step_donates_and_matches():
    params = _tree_with_large_leaf()
    grads = helpers.random_grads(params, 5)
    tx = jol.adamw(1e-2)
    step = jol_training().make_apply_step(g.grouped(tx, max_leaf_size=100))
    packed = g.group(params, 100)
    state = g.grouped(tx, max_leaf_size=100).init(packed)
    ref_params, ref_state = params, tx.init(params)
    ref_update = jax.jit(tx.update)
    for t in range(5):
        grad = jax.tree.map(lambda x, t=t: x[t], grads)
        old = packed.buffers[0]
        packed, state = step(packed, state, packed.regroup(grad))
        assert old.is_deleted()  # donated
        u, ref_state = ref_update(grad, ref_state, ref_params)
        ref_params = optax.apply_updates(ref_params, u)
    for a, b in zip(
        jax.tree.leaves(packed.ungroup()), jax.tree.leaves(ref_params), strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=helpers.F32.rtol, atol=helpers.F32.atol)


def jol_training():
    from jaxopt_lessons import training

    return training


@pytest.mark.parametrize(
    "name, tx, culprit",
    [
        ("lamb", optax.lamb(1e-3), "scale_by_trust_ratio"),
        ("adafactor", optax.adafactor(1e-3), "reduce"),
        (
            "adamw",
            jol.adamw(1e-3, mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p)),
            "mask",
        ),
        (
            "noisy sgd",
            optax.chain(optax.add_noise(0.1, 0.5, 0), jol.sgd(1e-2)),
            "add_noise",
        ),
        (
            "per-leaf clip",
            optax.chain(optax.clip_by_block_rms(1.0), jol.sgd(1e-2)),
            "reduce",
        ),
    ],
)
def test_refuses_what_is_not_elementwise(name, tx, culprit):
    with pytest.raises(g.NotElementwiseError) as info:
        g.grouped(tx, name=name).init(helpers.mixed_tree())
    message = str(info.value)
    assert f"`{name}`" in message and culprit in message


def test_factored_state_is_refused_even_without_clipping():
    tx = optax.adafactor(1e-3, clipping_threshold=None)
    with pytest.raises(g.NotElementwiseError, match="scale_by_factored_rms"):
        g.check_elementwise(tx, helpers.mixed_tree(), name="adafactor")


def _my_norm_scaling():
    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u / (1.0 + jnp.abs(u)), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def test_declarations_override_the_trace():
    factory = g.not_elementwise("it keeps a per-leaf statistic in a side channel")(
        _my_norm_scaling
    )
    assert factory is _my_norm_scaling
    tx = optax.chain(jol.sgd(1e-2), factory())
    try:
        with pytest.raises(g.NotElementwiseError, match="side channel"):
            g.grouped(tx, name="custom").init(helpers.mixed_tree())
    finally:
        declarations._DECLARED.pop(declarations._key(_my_norm_scaling))
    # without the declaration its update is elementwise and accepted
    g.grouped(optax.chain(jol.sgd(1e-2), _my_norm_scaling())).init(helpers.mixed_tree())


def test_partition_invariant_global_norm_is_accepted():
    tx = optax.chain(optax.clip_by_global_norm(0.5), jol.adam(1e-2))
    params = helpers.mixed_tree()
    grads = helpers.random_grads(params, STEPS)
    _assert_same(_run(g.grouped(tx), g.group(params), grads), _run(tx, params, grads))


def test_bad_arguments():
    with pytest.raises(
        ValueError, match="grouped: `max_leaf_size` must be an int >= 0"
    ):
        g.grouped(jol.sgd(0.1), max_leaf_size=-1)
    with pytest.raises(TypeError, match="grouped: `tx` must be"):
        g.grouped("adam")
    with pytest.raises(ValueError, match="group: the tree has no leaves"):
        g.group({})
    with pytest.raises(TypeError, match="not_elementwise: `reason`"):
        g.not_elementwise("")
    packed = g.group(helpers.mixed_tree())
    with pytest.raises(ValueError, match="structure"):
        packed.regroup({"a": jnp.ones(3)})


def test_plain_trees_are_packed_as_the_state_was_built():
    params = _tree_with_large_leaf()
    grad = jax.tree.map(lambda x: x[0], helpers.random_grads(params, 1))
    tx = g.grouped(jol.adam(1e-2))  # default max_leaf_size groups everything here
    state = tx.init(g.group(params, max_leaf_size=4))  # but the state was built finer
    updates, _ = jax.jit(tx.update)(grad, state, params)
    expected, _ = jax.jit(jol.adam(1e-2).update)(grad, jol.adam(1e-2).init(params))
    helpers.assert_close_every_step(
        jax.tree.map(lambda x: x[None], updates),
        jax.tree.map(lambda x: x[None], expected),
        helpers.F32,
        "updates",
    )


def _leaf_loss(tree):
    """A loss that reads every leaf once, written on the ordinary tree."""
    return sum(jnp.sum(jnp.tanh(x) * (i + 1.0)) for i, x in enumerate(jax.tree.leaves(tree)))


def test_gradient_through_ungroup_equals_the_plain_trees():
    tree = _tree_with_large_leaf()
    packed = g.group(tree, max_leaf_size=100)
    grad = jax.jit(jax.grad(lambda p: _leaf_loss(p.ungroup())))(packed)
    assert g.is_grouped(grad) and grad.layout == packed.layout
    expected = jax.jit(jax.grad(_leaf_loss))(tree)
    for a, b in zip(
        jax.tree.leaves(grad.ungroup()), jax.tree.leaves(expected), strict=True
    ):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    # Forward mode works too (`split` has a JVP), so does a Hessian-vector product.
    tangent = jax.tree.map(jnp.ones_like, packed)
    _, jvp = jax.jvp(lambda p: _leaf_loss(p.ungroup()), (packed,), (tangent,))
    _, jvp_plain = jax.jvp(_leaf_loss, (tree,), (jax.tree.map(jnp.ones_like, tree),))
    np.testing.assert_allclose(float(jvp), float(jvp_plain), rtol=1e-5)


@pytest.mark.parametrize("n_leaves", [3, 40])
def test_train_step_packs_gradients_without_per_leaf_pads(n_leaves):
    """The backward pass of `ungroup` is one concatenate per buffer.

    Slicing each leaf out of the buffer would transpose to a `pad` of the
    whole buffer per leaf and an `add` to sum them: work of leaves x buffer.
    """
    tree = [jnp.full((16,), i, jnp.float32) for i in range(n_leaves)]
    packed = g.group(tree)
    tx = g.grouped(jol.adam(1e-3))
    step = jol.make_train_step(_leaf_loss, tx, donate=False)
    hlo = step.lower(packed, tx.init(packed)).compile().as_text()
    assert hlo.count(" pad(") == 0
    assert hlo.count(" concatenate(") <= 1
    # ... and the step equals the per-leaf step on the ordinary tree.
    new, _, _ = step(packed, tx.init(packed))
    plain = jol.adam(1e-3)
    plain_step = jol.make_train_step(_leaf_loss, plain, donate=False)
    expected, _, _ = plain_step(tree, plain.init(tree))
    for a, b in zip(jax.tree.leaves(new.ungroup()), expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


@jax.tree_util.register_pytree_with_keys_class
class _Box:
    """A wrapper around one leaf, as Flax NNX's variables are."""

    def __init__(self, value):
        self.value = value

    def tree_flatten_with_keys(self):
        return ((jax.tree_util.GetAttrKey("value"), self.value),), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)


def test_update_accepts_the_init_tree_without_its_leaf_wrappers():
    plain = {"b": jnp.ones(3), "w": jnp.full((2, 2), 2.0)}
    boxed = {k: _Box(v) for k, v in plain.items()}
    tx = g.grouped(jol.adam(0.1))
    state = tx.init(boxed)  # NNX builds the state from wrapped params ...
    grads = jax.tree.map(lambda x: 0.5 * x, plain)
    updates, _ = tx.update(grads, state, plain)  # ... and updates with arrays
    expected, _ = jol.adam(0.1).update(grads, jol.adam(0.1).init(plain), plain)
    assert jax.tree.structure(updates) == jax.tree.structure(plain)
    for a, b in zip(jax.tree.leaves(updates), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    renamed = {"a": grads["b"], "w": grads["w"]}
    with pytest.raises(ValueError, match="structure the buffers were built for"):
        tx.update(renamed, state)


def test_ordinary_trees_group_only_small_leaves_by_default():
    """On ordinary trees every grouped element is copied in and out each step,
    so `grouped` groups fewer leaves than `group` does for grouped params."""
    tree = {"small": jnp.ones(2**10), "medium": jnp.ones(2**11), "big": jnp.ones(2**15)}
    state = g.grouped(jol.adam(1e-3)).init(tree)
    plain_layout = state[0].mu.layout
    assert plain_layout.n_groups == 1
    # the group first, then the leaves kept alone in tree order (big, medium)
    assert plain_layout.buffer_shapes == ((2**10,), (2**15,), (2**11,))
    assert g.group(tree).layout.buffer_shapes == ((2**10 + 2**11,), (2**15,))
    wide = g.grouped(jol.adam(1e-3), max_leaf_size=2**14).init(tree)
    assert wide[0].mu.layout.buffer_shapes == ((2**10 + 2**11,), (2**15,))


def test_padded_buffers_split_evenly_and_change_nothing():
    tree = _tree_with_large_leaf()
    tree["half"] = jnp.ones((3,), jnp.bfloat16)
    packed = g.group(tree, max_leaf_size=100, multiple_of=8)
    assert [b.shape for b in packed.buffers] == [(40,), (8,), (40, 30)]
    for a, b in zip(jax.tree.leaves(packed.ungroup()), jax.tree.leaves(tree), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # traced: the same leaves, and the padding gets a zero gradient
    grad = jax.jit(jax.grad(lambda p: _leaf_loss(p.ungroup())))(packed)
    np.testing.assert_array_equal(np.asarray(grad.buffers[0][33:]), 0.0)
    params = {k: v for k, v in tree.items() if k != "half"}
    grads = helpers.random_grads(params, STEPS)
    tx = g.grouped(jol.adam(1e-2), max_leaf_size=100, multiple_of=8)
    _assert_same(_run(tx, params, grads), _run(jol.adam(1e-2), params, grads))
    with pytest.raises(ValueError, match="`multiple_of` must be an int >= 1"):
        g.group(tree, multiple_of=0)
