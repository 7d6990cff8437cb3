"""Low precision: bfloat16 and float16 params, and where float32 state is needed.

float16 tops out at 65504, so a gradient of 1e4 has a square (1e8) that
overflows: Adam's second moment becomes inf and the step silently becomes 0.
float16 also flushes Adam's default ε = 1e-8 to zero, so a zero gradient gives
0/0. `nu_dtype=jnp.float32` keeps the second moment (and the division) in
float32 while the params, gradients and first moment stay in float16.
bfloat16 has float32's range but 8 significant bits: β₂ = 0.999 rounds to 1
and the average drifts.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.reliability import rules, training

LOW = [jnp.bfloat16, jnp.float16]


@pytest.mark.parametrize("dtype", LOW, ids=["bf16", "f16"])
@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_dtypes_are_kept(factory, dtype):
    """Updates and new params in the params' dtype; the state never changes
    dtype between steps (traced with jax.eval_shape: dtypes, not numbers)."""
    tx = training.make(factory)
    params = training.initial_params(dtype)
    state = jax.eval_shape(tx.init, params)
    new_params, new_state = jax.eval_shape(
        lambda p, s: training.step(tx, p, s, training.grads_of(p)), params, state
    )
    for leaf in jax.tree.leaves(new_params):
        assert leaf.dtype == dtype
    before = [leaf.dtype for leaf in jax.tree.leaves(state)]
    after = [leaf.dtype for leaf in jax.tree.leaves(new_state)]
    assert before == after


NU_DTYPE = [
    f for f in rules.factories() if "nu_dtype" in inspect.signature(f.fn).parameters
]


def _second_moment(state):
    """The `nu` leaves of a state (Optax's field name for the second moment)."""
    found = []

    def visit(node):
        if hasattr(node, "_fields"):
            for field in node._fields:
                value = getattr(node, field)
                (found.append(value) if field == "nu" else visit(value))
        elif isinstance(node, (tuple, list)):
            for value in node:
                visit(value)

    visit(state)
    assert len(found) == 1, "expected one second moment `nu` in the state"
    return found[0]


def _big_f16_step(factory, **kwargs):
    names = inspect.signature(factory.fn).parameters
    lr = {"learning_rate": 1e-3} if "learning_rate" in names else {}
    tx = factory.fn(**lr, **kwargs)
    params = {"w": jnp.ones(5, jnp.float16)}
    grads = {"w": jnp.asarray([1e4, -1e4, 200.0, 1.0, 0.0], jnp.float16)}
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    return updates["w"], _second_moment(state)["w"]


def test_nu_dtype_is_offered_by_the_adam_family():
    assert {"adam", "adamw", "nadam", "nadamw", "scale_by_adam"} <= {
        f.id for f in NU_DTYPE
    }


@pytest.mark.parametrize("factory", NU_DTYPE, ids=repr)
def test_float32_second_moment_holds_float16_gradients_up_to_1e4(factory):
    updates, nu = _big_f16_step(factory, nu_dtype=jnp.float32)
    # The division happens in float32 too, so the update comes out float32;
    # `optax.apply_updates` casts it back to the params' float16.
    assert nu.dtype == jnp.float32
    # v₁ = (1 − β₂) g², exact to float32 rounding: 1e8 · 1e-3 = 1e5, no overflow.
    g = np.asarray([1e4, -1e4, 200.0, 1.0, 0.0])
    np.testing.assert_allclose(np.asarray(nu), 1e-3 * g**2, rtol=1e-6)
    assert bool(jnp.all(jnp.isfinite(updates)))
    # After one step m̂/√v̂ = sign(g): every nonzero gradient moves its entry.
    assert bool(jnp.all(updates[g != 0] != 0))


@pytest.mark.parametrize("factory", NU_DTYPE, ids=repr)
def test_float16_second_moment_overflows_without_it(factory):
    """The failure `nu_dtype` exists for: g² = 1e8 overflows float16 (max 65504),
    so v = inf and the step for the largest gradients is silently 0; and
    ε = 1e-8 rounds to 0 in float16, so a zero gradient gives 0/0 = NaN."""
    updates, nu = _big_f16_step(factory)
    assert nu.dtype == jnp.float16
    assert bool(jnp.all(jnp.isinf(nu[:2])))
    # The proper first step is ±η (±1 without a learning rate); what is left is
    # 0, the weight decay alone, or NaN (the look-ahead's inf / inf).
    step = 1e-3 if "learning_rate" in inspect.signature(factory.fn).parameters else 1.0
    assert not bool(jnp.any(jnp.abs(updates[:2]) >= 0.5 * step))
    assert bool(jnp.isnan(updates[4]))
    assert bool(jnp.isfinite(nu[2])) and bool(updates[2] != 0)


def test_bfloat16_second_moment_drifts_without_float32():
    """bfloat16 rounds β₂ = 0.999 to 1, so v stops decaying: after 300 steps of
    |g| = 1 it is ~30 % above (1 − β₂³⁰⁰); float32 `nu` matches to rounding."""
    scale_by_adam = next(f for f in NU_DTYPE if f.id == "scale_by_adam").fn
    exact = 1 - 0.999**300

    def nu_after(nu_dtype):
        tx = scale_by_adam(b2=0.999, nu_dtype=nu_dtype)
        params = jnp.ones(3, jnp.bfloat16)

        def body(state, _):
            return tx.update(jnp.ones(3, jnp.bfloat16), state, params)[1], None

        state, _ = jax.lax.scan(body, tx.init(params), None, length=300)
        return float(state.nu[0])

    assert abs(nu_after(jnp.float32) - exact) < 1e-5 * exact
    assert abs(nu_after(None) - exact) > 0.1 * exact
