"""`contrib.muon` and `contrib.scale_by_muon` against `optax.contrib` running.

Every case runs 50 steps of ours and of Optax's on the same random gradients
and compares the updates, every state leaf and the parameters at every step
(`helpers.assert_same_trajectory`). The cases of a table run side by side in
one compiled program (`_family.side_by_side`). The tree holds three matrices
of one shape (orthogonalised together here, one by one in Optax), a tall
matrix, a vector and a rank-3 leaf (Adam's, unless dimension
numbers make it a stack of matrices).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxopt_lessons import contrib
from jaxopt_lessons.contrib import newton_schulz as ns
from tests import helpers
from tests.optimizers._family import side_by_side

STEPS = 50
MDN = contrib.MuonDimensionNumbers


def tree(dtype=jnp.float32, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)

    def normal(*shape):
        return jnp.asarray(rng.standard_normal(shape), dtype)

    return {
        "hidden": [normal(4, 6), normal(4, 6), normal(4, 6)],
        "tall": normal(6, 3),
        "bias": normal(6),
        "conv": normal(2, 3, 4),
    }


def _dims(params):
    """The rank-3 leaf as two (3, 4) matrices; the vector and scalar to Adam."""
    return {
        "hidden": [MDN(), MDN(), MDN()],
        "tall": MDN(),
        "bias": None,
        "conv": MDN(reduction_axis=1, output_axis=2),
    }


def _decay_mask(params):
    return jax.tree.map(lambda p: p.shape != (6, 3), params)


def SCHEDULE(count):
    """A decaying learning rate in the default float type. (Optax's
    `linear_schedule` works in float32 even under x64, where eager and
    jitted runs may round it differently, by 1e-7.)"""
    return 0.05 / (1.0 + 0.1 * count)


# (id, kwargs of muon after the learning rate): every option of muon, a few
# per case (each case costs seconds of compilation).
CASES = {
    "default": {},
    "spectral, no nesterov, adaptive": dict(
        preconditioning="spectral",
        nesterov=False,
        adaptive=True,
        ns_coeffs="standard",
        ns_steps=3,
    ),
    "aol, rows, adam options": dict(
        preconditioning="aol",
        ns_coeffs=ns.DION_NS_COEFFS[1:],
        ns_steps=6,
        adam_b1=0.8,
        adam_b2=0.99,
        adam_eps_root=1e-6,
        adam_weight_decay=0.05,
        adam_learning_rate=0.003,
    ),
    "schatten, dimension numbers, consistent rms, mu_dtype": dict(
        preconditioning="schatten",
        muon_weight_dimension_numbers=_dims,
        consistent_rms=0.2,
        mu_dtype=jnp.float32,  # a cast in the float64 table
    ),
    "dion, decay and mask, schedule": dict(
        learning_rate=SCHEDULE,
        ns_coeffs="dion",
        weight_decay=0.1,
        weight_decay_mask=_decay_mask,
        beta=0.8,
        eps=1e-3,
    ),
}


def _both(kwargs: dict) -> tuple:
    kwargs = {"learning_rate": 0.02, **kwargs}
    return contrib.muon(**kwargs), optax.contrib.muon(**kwargs)


def _table(names, extra=()) -> tuple:
    pairs = {name: _both(CASES[name]) for name in names}
    pairs.update(dict(extra))
    ours = side_by_side({k: a for k, (a, _) in pairs.items()})
    ref = side_by_side({k: b for k, (_, b) in pairs.items()})
    return ours, ref, list(pairs)


def _extra_cases() -> list:
    """inject_hyperparams (every number traced, ns_steps too: Newton–Schulz
    then runs as a loop) and scale_by_muon alone on a tree of matrices."""
    only_matrices = {  # MaskedNode where optax.masked hides a leaf
        "hidden": [MDN(), MDN(), MDN()],
        "tall": MDN(),
        "bias": optax.MaskedNode(),
        "conv": MDN(reduction_axis=(0, 1), output_axis=2),
    }
    return [
        (
            "inject",
            tuple(
                optax.inject_hyperparams(m.muon)(
                    learning_rate=SCHEDULE,
                    beta=0.9,
                    ns_steps=4,
                    weight_decay=0.02,
                    preconditioning="aol",
                )
                for m in (contrib, optax.contrib)
            ),
        ),
        (
            "scale_by_muon",
            tuple(
                optax.chain(
                    optax.masked(
                        m.scale_by_muon(
                            nesterov=False, weight_dimension_numbers=only_matrices
                        ),
                        lambda p: jax.tree.map(lambda x: x.ndim >= 2, p),
                    ),
                    optax.scale(-0.01),
                )
                for m in (contrib, optax.contrib)
            ),
        ),
    ]


#: Less LLVM optimisation: half the compile time; the comparison is the same.
FAST_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_llvm_disable_expensive_passes": True,
}


def _trajectory(tx, params, grads, jit):
    """(updates, state leaves, params) at every step, as `helpers.run_trajectories`
    gives them; jitted as one scan with `FAST_COMPILE`, or step by step eagerly."""

    def step(carry, grad):
        params, state = carry
        updates, state = tx.update(grad, state, params)
        params = optax.apply_updates(params, updates)
        return (params, state), (updates, jax.tree.leaves(state), params)

    if jit:
        run = jax.jit(
            lambda p, g: jax.lax.scan(step, (p, tx.init(p)), g)[1],
            compiler_options=FAST_COMPILE,
        )
        return run(params, grads)
    carry, history = (params, tx.init(params)), []
    for t in range(STEPS):
        carry, out = step(carry, jax.tree.map(lambda g, t=t: g[t], grads))
        history.append(out)
    return jax.tree.map(lambda *xs: jnp.stack(xs), *history)


def _run(ours, ref, names, dtype, jit):
    """Ours (jitted, or eagerly) against Optax (jitted: Optax's eager Muon
    compiles its loops at every call, seconds per step) at every step."""
    params = {name: tree(dtype) for name in names}
    tol = helpers.tolerance_for(dtype)
    grads = helpers.random_grads(params, STEPS)
    got = _trajectory(ours, params, grads, jit)
    want = _trajectory(ref, params, grads, True)
    helpers.assert_close_every_step(got[0], want[0], tol, "updates")
    helpers.assert_close_every_step(got[1], want[1], tol, "state")
    drift = jax.tree.map(
        lambda u: tol.rtol * np.cumsum(np.abs(np.asarray(u, np.float64)), axis=0),
        want[0],
    )
    helpers.assert_close_every_step(got[2], want[2], tol, "params", extra_atol=drift)
    return got, want


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_every_option_jitted(dtype):
    with jax.enable_x64(dtype == jnp.float64):
        ours, ref, names = _table(CASES, _extra_cases())
        _run(ours, ref, names, dtype, jit=True)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_eagerly(dtype):
    with jax.enable_x64(dtype == jnp.float64):
        ours, ref, names = _table(["dion, decay and mask, schedule"])
        _run(ours, ref, names, dtype, jit=False)


def test_states_are_optax_states():
    """Same classes and tree structure: a state saved from one runs the other."""
    params = tree()
    a, b = _both(CASES["schatten, dimension numbers, consistent rms, mu_dtype"])
    state = b.init(params)
    assert jax.tree.structure(a.init(params)) == jax.tree.structure(state)
    grads = jax.tree.map(jnp.ones_like, params)
    (ua, sa), (ub, sb) = (
        jax.jit(a.update)(grads, state, params),
        jax.jit(b.update)(grads, state, params),
    )
    helpers.assert_close_every_step(
        jax.tree.map(lambda x: x[None], (ua, sa)),
        jax.tree.map(lambda x: x[None], (ub, sb)),
        helpers.F32,
        "one step from Optax's state",
    )


def test_same_shape_matrices_run_as_one_batch():
    """Three (4, 6) matrices: one Newton–Schulz program, its products batched."""
    tx = contrib.scale_by_muon(ns_steps=1)
    params = {"hidden": tree()["hidden"]}
    jaxpr = jax.make_jaxpr(tx.update)(params, tx.init(params))
    dots = [e for e in jaxpr.jaxpr.eqns if e.primitive.name == "dot_general"]
    assert len(dots) == 3  # X·Xᵀ, A·A, B·X once, for all three matrices
    assert all(e.outvars[0].aval.shape[0] == 3 for e in dots)


def test_bad_arguments_are_refused_at_construction():
    with pytest.raises(ValueError, match="muon: `ns_coeffs` names no preset"):
        contrib.muon(0.1, ns_coeffs="muon")
    with pytest.raises(ValueError, match="`ns_coeffs` must have shape"):
        contrib.muon(0.1, ns_coeffs=(1.0, 2.0))
    with pytest.raises(ValueError, match="more than `ns_steps`"):
        contrib.muon(0.1, ns_coeffs="dion", ns_steps=3)
    with pytest.raises(ValueError, match="`preconditioning` must be one of"):
        contrib.scale_by_muon(preconditioning="polar")
    with pytest.raises(ValueError, match="muon: `adam_b2`"):
        contrib.muon(0.1, adam_b2=1.0)
    with pytest.raises(TypeError, match="`ns_steps` must be an int"):
        contrib.scale_by_muon(ns_steps=2.5)
    tx = contrib.scale_by_muon()
    with pytest.raises(ValueError, match="Newton–Schulz needs matrices"):
        tx.update({"b": jnp.ones(3)}, tx.init({"b": jnp.ones(3)}))
