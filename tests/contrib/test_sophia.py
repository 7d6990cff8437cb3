"""`contrib.sophia`, `scale_by_sophia` and Hutchinson's estimator against `optax.contrib`.

The estimator draws its random signs from the key in its state: given the
same key and the same `obj_fn`, ours and Optax's must give the same Hessian
estimates, so the whole trajectory can be compared. `update_interval` = 3
re-estimates the Hessian 20 times in 60 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib as oc
import pytest
from optax.contrib import _sophia

from jaxopt_lessons import contrib
from tests.contrib._parity import assert_parity, small


def _obj_fn(params):
    """Not quadratic: the Hessian's diagonal changes with the params."""
    return sum(jnp.sum(jnp.cos(p) + 0.1 * p**4) for p in jax.tree.leaves(params))


EXTRA = {"obj_fn": _obj_fn}


def _pairs():
    def both(ours, theirs, **kwargs):
        def hutchinson(module_fn, key):
            return module_fn(random_seed=jax.random.PRNGKey(key))

        ours_kwargs, theirs_kwargs = dict(kwargs), dict(kwargs)
        if "key" in kwargs:
            key = ours_kwargs.pop("key")
            theirs_kwargs.pop("key")
            ours_kwargs["hessian_diagonal_fn"] = hutchinson(
                contrib.hutchinson_estimator_diag_hessian, key
            )
            theirs_kwargs["hessian_diagonal_fn"] = hutchinson(
                oc.hutchinson_estimator_diag_hessian, key
            )
        return ours(**ours_kwargs), theirs(**theirs_kwargs)

    return {
        "sophia": both(
            contrib.sophia, oc.sophia, learning_rate=0.02, update_interval=3
        ),
        "sophia-wd-mask": both(
            contrib.sophia,
            oc.sophia,
            learning_rate=optax.linear_schedule(0.05, 0.01, 40),
            b1=0.9,
            weight_decay=0.1,
            weight_decay_mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p),
            gamma=0.05,
            clip_threshold=0.5,
            update_interval=4,
            key=3,
        ),
        "scale_by_sophia-no-clip": both(
            lambda **k: optax.chain(contrib.scale_by_sophia(**k), optax.scale(-1e-3)),
            lambda **k: optax.chain(_sophia.scale_by_sophia(**k), optax.scale(-1e-3)),
            clip_threshold=None,
            eps=1e-2,
            update_interval=2,
            key=9,
        ),
    }


def test_matches_optax_jitted_float32():
    pairs = _pairs()
    # inject_hyperparams: the hyperparameters become traced state entries
    pairs["inject_hyperparams"] = (
        optax.inject_hyperparams(contrib.sophia)(learning_rate=0.02, gamma=0.02),
        optax.inject_hyperparams(oc.sophia)(learning_rate=0.02, gamma=0.02),
    )
    assert_parity(pairs, dtype=jnp.float32, jit=True, extra_args=EXTRA)


def test_matches_optax_jitted_float64(x64):
    pairs = {k: v for k, v in _pairs().items() if k != "sophia"}
    assert_parity(pairs, dtype=jnp.float64, jit=True, extra_args=EXTRA)


def test_matches_optax_eagerly():
    pairs = {"sophia-wd-mask": _pairs()["sophia-wd-mask"]}
    assert_parity(
        pairs,
        small,
        dtype=jnp.float32,
        jit=False,
        extra_args=EXTRA,
        steps=50,
        reference_jitted=True,
    )


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    """z ⊙ (Hz) = diag(H) when H is diagonal, whatever the signs (z² = 1)."""
    curvature = {"a": jnp.asarray([1.0, 2.0, 3.0]), "b": jnp.asarray([[0.5, 4.0]])}

    def loss(p):
        return sum(
            jnp.sum(0.5 * c * x**2)
            for c, x in zip(jax.tree.leaves(curvature), jax.tree.leaves(p))
        )

    params = jax.tree.map(jnp.ones_like, curvature)
    tx = contrib.hutchinson_estimator_diag_hessian(jax.random.PRNGKey(1))
    state = tx.init(params)
    for _ in range(2):
        estimate, state = tx.update(params, state, params, obj_fn=loss)
        for e, c in zip(jax.tree.leaves(estimate), jax.tree.leaves(curvature)):
            np.testing.assert_allclose(e, c, rtol=1e-6)


def test_hutchinson_keeps_each_leafs_dtype():
    """Optax casts every sign to the tree's lowest dtype, and jax.jvp then
    refuses float32 params with bfloat16 tangents."""
    params = {"f32": jnp.ones(3, jnp.float32), "bf16": jnp.ones(2, jnp.bfloat16)}
    tx = contrib.hutchinson_estimator_diag_hessian()
    estimate, _ = jax.jit(lambda p, s: tx.update(p, s, p, obj_fn=_obj_fn))(
        params, tx.init(params)
    )
    assert {k: v.dtype for k, v in estimate.items()} == {
        "f32": jnp.float32,
        "bf16": jnp.bfloat16,
    }
    theirs = oc.hutchinson_estimator_diag_hessian()
    with pytest.raises(TypeError):
        jax.eval_shape(
            lambda p, s: theirs.update(p, s, p, obj_fn=_obj_fn),
            params,
            theirs.init(params),
        )


def test_states_are_optax_states():
    params = {"w": jnp.ones((2, 3))}
    state = contrib.sophia(0.1).init(params)
    assert jax.tree.structure(state) == jax.tree.structure(oc.sophia(0.1).init(params))
    assert isinstance(state[0], oc.SophiaState)
    assert isinstance(state[0].hessian_fn_state, oc.HutchinsonState)


def test_bad_arguments():
    with pytest.raises(ValueError, match="sophia: `eps` must be positive"):
        contrib.sophia(0.1, eps=0.0)
    with pytest.raises(ValueError, match="sophia: `b2` must lie in"):
        contrib.sophia(0.1, b2=1.0)
    with pytest.raises(TypeError, match="sophia: `update_interval` must be an integer"):
        contrib.sophia(0.1, update_interval=2.5)
    with pytest.raises(ValueError, match="scale_by_sophia: `verbose=True` needs"):
        contrib.scale_by_sophia(verbose=True)
    with pytest.raises(TypeError, match="sophia: `hessian_diagonal_fn`"):
        contrib.sophia(0.1, hessian_diagonal_fn=jnp.square)
    with pytest.raises(TypeError, match="`random_seed`"):
        contrib.hutchinson_estimator_diag_hessian(random_seed="0")
    tx = contrib.sophia(0.1)
    params = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match="`obj_fn=`"):
        tx.update(params, tx.init(params), params)
    with pytest.raises(ValueError, match="sophia: `update` needs the current `params`"):
        tx.update(params, tx.init(params))
