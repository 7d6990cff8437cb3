"""`contrib.sam` and `contrib.normalize` against `optax.contrib`, and the two fixes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib as oc
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import contrib
from tests import helpers
from tests.contrib import _parity
from tests.contrib._parity import assert_parity


def _loss(params):
    """Not quadratic, so the gradient at the adversarial point is not linear in it."""
    return sum(jnp.sum(jnp.cos(p) + 0.25 * p**4) for p in jax.tree.leaves(params))


def _grad_fn(params, i):
    del i
    return jax.grad(_loss)(params)


# name: (outer, its lr), (adversarial, its rho), sync_period, reset_state, opaque_mode
SETTINGS = {
    "adam/normalize-sgd/3/keep": (("adam", 0.01), ("sgd", 0.05), 3, False, False),
    "sgd/normalize-adam/2": (("sgd", 0.02), ("adam", 0.01), 2, True, False),
    "opaque:adam/normalize-sgd/3": (("adam", 0.01), ("sgd", 0.05), 3, True, True),
    "opaque:sgd/normalize-adam/2/keep": (("sgd", 0.02), ("adam", 0.01), 2, False, True),
}


def _pairs(names):
    """(ours, Optax's) for each named setting."""
    pairs = {}
    for name in names:
        (outer, lr), (adv, rho), period, reset, opaque = SETTINGS[name]
        built = []
        for module, sam, norm in (
            (jol, contrib.sam, contrib.normalize),
            (optax, oc.sam, oc.normalize),
        ):
            built.append(
                sam(
                    getattr(module, outer)(lr),
                    module.chain(norm(), getattr(module, adv)(rho)),
                    sync_period=period,
                    reset_state=reset,
                    opaque_mode=opaque,
                )
            )
        pairs[name] = tuple(built)
    return pairs


# Transparent mode ignores `grad_fn`; opaque mode calls it sync_period − 1 times.
EXTRA = {"grad_fn": _grad_fn}


def test_sam_matches_optax_jitted_float32():
    assert_parity(_pairs(SETTINGS), dtype=jnp.float32, jit=True, extra_args=EXTRA)


def test_sam_matches_optax_jitted_float64(x64):
    names = ["adam/normalize-sgd/3/keep", "opaque:sgd/normalize-adam/2/keep"]
    assert_parity(_pairs(names), dtype=jnp.float64, jit=True, extra_args=EXTRA)


def test_sam_matches_optax_eagerly():
    # Opaque mode runs the same blocks in a Python loop; it is compared jitted.
    names = ["adam/normalize-sgd/3/keep"]
    assert_parity(
        _pairs(names),
        _parity.small,
        dtype=jnp.float32,
        jit=False,
        extra_args=EXTRA,
        steps=50,
    )


def _small(dtype):
    return {
        "w": jnp.asarray([[0.5, -1.0], [2.0, 0.25]], dtype),
        "b": jnp.ones(3, dtype),
    }


def _run(tx, params, steps):
    grad = jax.grad(_loss)
    state = tx.init(params)
    out = [params]
    for _ in range(steps):
        updates, state = tx.update(grad(params), state, params)
        params = optax.apply_updates(params, updates)
        out.append(params)
    return out


def test_sync_period_one_is_the_outer_optimizer():
    """Optax 0.2.8's transparent mode with sync_period=1 uses its cache before
    refreshing it, so each step starts from the params of the step before:
    θ_{t+1} = θ_{t−1} + opt(g_t). Here (and in Optax's opaque mode) a round of
    one call is the outer optimizer's step."""
    params = jnp.asarray([1.5, -0.5, 2.0])
    adv = optax.chain(contrib.normalize(), jol.sgd(0.05))
    plain = _run(jol.sgd(0.1), params, 5)
    ours = _run(contrib.sam(jol.sgd(0.1), adv, sync_period=1), params, 5)
    opaque = contrib.sam(jol.sgd(0.1), adv, sync_period=1, opaque_mode=True)
    state = opaque.init(params)
    p = params
    for t in range(5):
        np.testing.assert_allclose(ours[t], plain[t], rtol=1e-6)
        updates, state = opaque.update(jax.grad(_loss)(p), state, p, grad_fn=_grad_fn)
        p = optax.apply_updates(p, updates)
        np.testing.assert_allclose(p, plain[t + 1], rtol=1e-6)
    # Optax's transparent mode: θ₂ = θ₀ + opt(g₁), one step back.
    theirs = _run(
        oc.sam(optax.sgd(0.1), optax.chain(oc.normalize(), optax.sgd(0.05)), 1),
        params,
        2,
    )
    step_1 = -0.1 * jax.grad(_loss)(theirs[1])
    np.testing.assert_allclose(theirs[2], params + step_1, rtol=1e-6)
    assert not np.allclose(theirs[2], plain[2])


def test_the_branch_not_taken_cannot_poison_the_step():
    """Optax picks with c·a + (1 − c)·b: an inf in the adversarial result makes
    the outer step NaN (0 · inf). A select keeps the outer step."""
    params = jnp.asarray([1.0, 2.0])
    grads = jnp.asarray([0.5, -1.0])
    blow_up = optax.scale(jnp.inf)  # an adversarial step that overflows
    results = {}
    for name, sam in (("ours", contrib.sam), ("optax", oc.sam)):
        tx = sam(optax.sgd(0.1), blow_up, sync_period=2)
        state = tx.init(params)
        _, state = tx.update(grads, state, params)  # adversarial call
        results[name], _ = tx.update(grads, state, params)  # outer call
    np.testing.assert_allclose(results["ours"], -0.1 * grads)
    assert np.isnan(results["optax"]).all()


def test_normalize_matches_optax_and_maps_zero_to_zero():
    tree = _small(jnp.float32)
    ours, _ = contrib.normalize().update(tree, optax.EmptyState())
    theirs, _ = oc.normalize().update(tree, optax.EmptyState())
    helpers.assert_close_every_step(
        jax.tree.map(lambda x: x[None], ours),
        jax.tree.map(lambda x: x[None], theirs),
        helpers.F32,
        "normalize",
    )
    np.testing.assert_allclose(
        jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(ours))), 1.0, rtol=1e-6
    )
    zeros = jax.tree.map(jnp.zeros_like, tree)
    out, _ = contrib.normalize().update(zeros, optax.EmptyState())
    assert all(bool(jnp.all(x == 0)) for x in jax.tree.leaves(out))
    out, _ = oc.normalize().update(zeros, optax.EmptyState())
    assert all(bool(jnp.all(jnp.isnan(x))) for x in jax.tree.leaves(out))


def test_states_are_optax_states_and_interchange():
    params = _small(jnp.float32)
    ours = contrib.sam(jol.adam(0.01), optax.chain(contrib.normalize(), jol.sgd(0.05)))
    theirs = oc.sam(optax.adam(0.01), optax.chain(oc.normalize(), optax.sgd(0.05)))
    state = theirs.init(params)
    assert isinstance(ours.init(params), oc.SAMState)
    assert jax.tree.structure(ours.init(params)) == jax.tree.structure(state)
    grads = jax.tree.map(jnp.ones_like, params)
    for _ in range(3):  # Optax's state continues with our update
        _, state = ours.update(grads, state, params)
        _, state = theirs.update(grads, state, params)


def test_bad_arguments_are_refused_at_construction():
    sgd = jol.sgd(0.1)
    with pytest.raises(
        TypeError, match="sam: `optimizer` must be an optax.GradientTransformation"
    ):
        contrib.sam(jol.sgd, sgd)
    with pytest.raises(TypeError, match="sam: `adv_optimizer`"):
        contrib.sam(sgd, None)
    with pytest.raises(ValueError, match="sam: `sync_period` must be an integer >= 1"):
        contrib.sam(sgd, sgd, sync_period=0)
    with pytest.raises(TypeError, match="sam: `sync_period` must be an integer"):
        contrib.sam(sgd, sgd, sync_period=2.0)
    with pytest.raises(TypeError, match="sam: `opaque_mode`"):
        contrib.sam(sgd, sgd, opaque_mode=1)
    with pytest.raises(TypeError, match="sam: `batch_axis_name`"):
        contrib.sam(sgd, sgd, batch_axis_name=0)
    tx = contrib.sam(sgd, sgd, opaque_mode=True)
    params = jnp.ones(3)
    with pytest.raises(
        ValueError, match="sam: with opaque_mode=True, `update` needs `grad_fn=`"
    ):
        tx.update(params, tx.init(params), params)
