"""`trace` and `ema`: steps by hand, dtypes and validation."""

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol
from tests import helpers

G1, G2, G3 = jnp.array([1.0, -2.0]), jnp.array([3.0, 4.0]), jnp.array([-0.5, 0.25])


@pytest.mark.parametrize("nesterov", [False, True], ids=["heavy_ball", "nesterov"])
def test_trace_three_steps_by_hand(nesterov):
    beta = 0.5
    (u1, u2, u3), state = helpers.run_updates(
        jol.trace(beta, nesterov=nesterov), [G1, G2, G3]
    )
    m1 = G1
    m2 = G2 + beta * m1
    m3 = G3 + beta * m2
    want = (
        [G1 + beta * m1, G2 + beta * m2, G3 + beta * m3] if nesterov else [m1, m2, m3]
    )
    # Every number here is exact in float32 (halves and quarters).
    chex.assert_trees_all_equal((u1, u2, u3), tuple(want))
    chex.assert_trees_all_equal(state.trace, m3)


def test_trace_with_zero_decay_is_the_identity():
    (u1, u2), _ = helpers.run_updates(jol.trace(0.0), [G1, G2])
    chex.assert_trees_all_equal((u1, u2), (G1, G2))


@pytest.mark.parametrize("debias", [True, False])
def test_ema_three_steps_by_hand(debias):
    beta = 0.75
    (u1, u2, u3), state = helpers.run_updates(
        jol.ema(beta, debias=debias), [G1, G2, G3]
    )
    e1 = (1 - beta) * G1
    e2 = beta * e1 + (1 - beta) * G2
    e3 = beta * e2 + (1 - beta) * G3
    if debias:
        want = [e1 / (1 - beta), e2 / (1 - beta**2), e3 / (1 - beta**3)]
    else:
        want = [e1, e2, e3]
    tol = helpers.BY_HAND
    chex.assert_trees_all_close((u1, u2, u3), tuple(want), rtol=tol.rtol, atol=tol.atol)
    chex.assert_trees_all_close(state.ema, e3, rtol=tol.rtol, atol=tol.atol)
    assert int(state.count) == 3


def test_debiased_ema_of_a_constant_is_that_constant():
    (u1, u2, u3), _ = helpers.run_updates(jol.ema(0.9), [G1, G1, G1])
    for u in (u1, u2, u3):
        np.testing.assert_allclose(u, G1, rtol=1e-6)


@pytest.mark.parametrize("factory", [jol.trace, jol.ema])
def test_accumulator_dtype_is_kept(factory):
    tx = factory(0.9, accumulator_dtype=jnp.bfloat16)
    params = {"w": jnp.ones((3,), jnp.float32)}
    state = tx.init(params)
    leaf = state.trace["w"] if factory is jol.trace else state.ema["w"]
    assert leaf.dtype == jnp.bfloat16
    _, state = tx.update({"w": jnp.full((3,), 0.3, jnp.float32)}, state)
    leaf = state.trace["w"] if factory is jol.trace else state.ema["w"]
    assert leaf.dtype == jnp.bfloat16


@pytest.mark.parametrize("factory", [jol.trace, jol.ema])
@pytest.mark.parametrize("decay", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_rejects_decay_outside_unit_interval(factory, decay):
    with pytest.raises(
        ValueError, match=rf"{factory.__name__}: `decay` must lie in \[0, 1\)"
    ):
        factory(decay)


def test_rejects_non_bool_flags():
    with pytest.raises(TypeError, match="trace: `nesterov` must be True or False"):
        jol.trace(0.9, nesterov="yes")
    with pytest.raises(TypeError, match="ema: `debias` must be True or False"):
        jol.ema(0.9, debias=1)


def test_rejects_integer_accumulator_dtype():
    with pytest.raises(ValueError, match="`accumulator_dtype` must be a floating"):
        jol.trace(0.9, accumulator_dtype=jnp.int32)
