"""`jaxopt_lessons.sharding` in this process: the layout rule, grouped padding
and the steps on a one-device mesh (the 8-device and multi-process runs are
in `test_zero1.py` and `test_multiprocess.py`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import AbstractMesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxopt_lessons as jol
from jaxopt_lessons import sharding
from tests import helpers
from tests.distributed import problem

DATA = AbstractMesh((8,), ("data",))
TWO_D = AbstractMesh((4, 2), ("data", "model"))


def _specs(plans):
    return {p.path: p.spec for p in plans}


def test_each_state_leaf_is_split_along_its_first_dimension_that_divides():
    params = {"w": jnp.zeros((3, 16)), "b": jnp.zeros(8), "odd": jnp.zeros((3, 5))}
    specs = _specs(sharding.plan_state(jol.adam(1e-3), params, DATA))
    assert specs["[0].mu['w']"] == P(None, "data")
    assert specs["[0].nu['b']"] == P("data")
    assert specs["[0].mu['odd']"] == P(None, None)
    assert specs["[0].count"] == P()
    notes = {p.path: p.note for p in sharding.plan_state(jol.adam(1e-3), params, DATA)}
    assert notes["[0].mu['odd']"] == "replicated: no dimension of (3, 5) divides by 8"
    assert notes["[0].count"] == "replicated: a scalar"


def test_the_state_keeps_its_parameters_own_sharding():
    """Params sharded over `model` (tensor parallel) or already over `data`
    (fully sharded): the state adds the data axis where it is not used yet."""

    def param(shape, spec):
        return jax.ShapeDtypeStruct(
            shape, jnp.float32, sharding=NamedSharding(TWO_D, spec)
        )

    params = {
        "rows": param((16, 8), P("model", None)),
        "vec": param((8,), P("model")),
        "fsdp": param((8, 6), P("data", None)),
    }
    specs = _specs(sharding.plan_state(jol.adam(1e-3), params, TWO_D))
    assert specs["[0].mu['rows']"] == P("model", "data")
    assert specs["[0].mu['vec']"] == P(("model", "data"))
    assert specs["[0].mu['fsdp']"] == P("data", None)


def test_factored_statistics_are_split_too():
    params = {"m": jnp.zeros((32, 48))}
    plans = sharding.plan_state(
        jol.adafactor(1e-2, min_dim_size_to_factor=16), params, DATA
    )
    factored = [p for p in plans if p.shape in ((32,), (48,))]
    assert factored
    assert all(p.spec == P("data") for p in factored)


def test_state_shardings_is_a_tree_like_the_state():
    params = {"w": jnp.zeros((8, 4)), "b": jnp.zeros(())}
    tx = jol.adam(1e-3)
    shardings = sharding.state_shardings(tx, params, DATA)
    assert jax.tree.structure(shardings) == jax.tree.structure(tx.init(params))
    assert all(isinstance(s, NamedSharding) for s in jax.tree.leaves(shardings))


@pytest.mark.parametrize(
    ("mesh", "axis", "error", "match"),
    [
        ("not a mesh", "data", TypeError, "must be a jax.sharding.Mesh"),
        (DATA, "model", ValueError, "must name an axis of the mesh"),
        (DATA, 0, ValueError, "must name an axis of the mesh"),
    ],
)
def test_bad_mesh_or_axis_is_refused(mesh, axis, error, match):
    with pytest.raises(error, match=match):
        sharding.plan_state(jol.sgd(0.1), {"w": jnp.zeros(8)}, mesh, axis)


def test_steps_need_a_concrete_mesh():
    with pytest.raises(TypeError, match="must be a jax.sharding.Mesh"):
        sharding.make_sharded_train_step(problem.loss_fn, jol.adam(1e-3), DATA)
    with pytest.raises(TypeError, match="must be True or False"):
        mesh = jax.make_mesh((1,), ("data",))
        sharding.make_sharded_apply_step(jol.adam(1e-3), mesh, donate=1)


def test_grouped_buffers_are_padded_to_split_evenly():
    params = problem.initial_params()
    grouped = sharding.group_for_mesh(params, DATA)
    size = sum(np.size(p) for p in jax.tree.leaves(params))
    assert size % 8 != 0
    assert grouped.buffers[0].shape == (-(-size // 8) * 8,)
    assert np.all(np.asarray(grouped.buffers[0])[size:] == 0)
    for a, b in zip(jax.tree.leaves(grouped.ungroup()), jax.tree.leaves(params)):
        np.testing.assert_array_equal(a, b)
    x, y = problem.batch()
    grads = jax.jit(jax.grad(lambda g: problem.loss_fn(g.ungroup(), x, y)))(grouped)
    want = grouped.regroup(jax.jit(jax.grad(problem.loss_fn))(params, x, y))
    assert grads.buffers[0].shape == grouped.buffers[0].shape
    assert np.all(np.asarray(grads.buffers[0])[size:] == 0)
    np.testing.assert_allclose(grads.buffers[0], want.buffers[0], rtol=1e-5, atol=1e-7)


def test_grouped_optimizer_on_padded_buffers_gives_the_per_leaf_numbers():
    params = problem.initial_params()
    grouped = sharding.group_for_mesh(params, DATA)
    tx, gtx = jol.adam(1e-2), jol.grouped(jol.adam(1e-2))

    @jax.jit
    def run(params, grouped, grads):
        state, gstate = tx.init(params), gtx.init(grouped)
        for g in grads:
            updates, state = tx.update(g, state, params)
            params = optax.apply_updates(params, updates)
            gupdates, gstate = gtx.update(grouped.regroup(g), gstate, grouped)
            grouped = optax.apply_updates(grouped, gupdates)
        return params, grouped

    params, grouped = run(params, grouped, problem.gradients(params, 3))
    for a, b in zip(jax.tree.leaves(grouped.ungroup()), jax.tree.leaves(params)):
        np.testing.assert_allclose(a, b, rtol=helpers.F32.rtol, atol=helpers.F32.atol)


def test_train_step_on_one_device_is_make_train_step():
    """On a one-device mesh the sharded step is the ordinary step (the
    8-device runs of `test_zero1.py` use a mesh of each axis type)."""
    mesh = jax.make_mesh((1,), ("data",))
    x, y = problem.batch()
    tx = jol.adam(1e-2)
    params = problem.initial_params()
    ref_step = jol.make_train_step(problem.loss_fn, tx)
    ref_params, ref_state = jax.tree.map(jnp.asarray, params), tx.init(params)
    step = sharding.make_sharded_train_step(problem.loss_fn, tx, mesh)
    mine = sharding.replicate(params, mesh)
    state = sharding.init_state(tx, mine, mesh)
    batch = sharding.shard_batch((x, y), mesh)
    for _ in range(2):
        ref_params, ref_state, ref_loss = ref_step(ref_params, ref_state, x, y)
        mine, state, loss = step(mine, state, *batch)
    np.testing.assert_allclose(loss, ref_loss, rtol=helpers.F32.rtol)
    for a, b in zip(
        jax.tree.leaves((mine, state)), jax.tree.leaves((ref_params, ref_state))
    ):
        np.testing.assert_allclose(a, b, rtol=helpers.F32.rtol, atol=helpers.F32.atol)


def test_apply_step_passes_extra_arguments_and_has_aux_works():
    mesh = jax.make_mesh((1,), ("data",))
    params = sharding.replicate({"w": np.ones(4, np.float32)}, mesh)
    tx = jol.polyak_sgd(max_learning_rate=1.0)
    state = sharding.init_state(tx, params, mesh)
    step = sharding.make_sharded_apply_step(tx, mesh, donate=False)
    grads = {"w": jnp.full(4, 0.5)}
    new, _ = step(params, state, grads, value=jnp.float32(2.0))
    want, _ = tx.update(grads, tx.init(params), params, value=2.0)
    np.testing.assert_allclose(new["w"], params["w"] + want["w"], rtol=1e-6)

    def loss_with_aux(p, x):
        return jnp.mean((x * p["w"]) ** 2), {"norm": jnp.sum(p["w"] ** 2)}

    train = sharding.make_sharded_train_step(
        loss_with_aux, jol.sgd(0.1), mesh, has_aux=True
    )
    x = sharding.shard_batch(np.ones((2, 4), np.float32), mesh)
    out = train(params, sharding.init_state(jol.sgd(0.1), params, mesh), x)
    assert len(out) == 4
    np.testing.assert_allclose(out[3]["norm"], 4.0)
