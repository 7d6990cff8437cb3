"""`scale_by_adam`, `scale_by_amsgrad`, `scale_by_adamax`: steps by hand, dtypes, validation.

By-hand references are computed in float64 with NumPy; float32 rounding of
1 − β₂ᵗ loses about four digits at t = 1, hence the wider tolerance.
"""

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol
from tests import helpers

G = [
    jnp.array([0.5, -1.0, 2.0]),
    jnp.array([1.5, 0.25, -2.0]),
    jnp.array([-0.5, 0.75, 0.0]),
]
RTOL = 1e-4  # float32 against a float64 formula: 1 − β₂ᵗ cancels ~4 digits at t = 1


@pytest.mark.parametrize("nesterov", [False, True])
def test_scale_by_adam_by_hand(nesterov):
    b1, b2, eps, eps_root = 0.8, 0.9, 1e-3, 1e-4
    tx = jol.scale_by_adam(b1, b2, eps, eps_root, nesterov=nesterov)
    outputs, state = helpers.run_updates(tx, G)
    m = v = np.zeros(3)
    for t, (g, u) in enumerate(zip(G, outputs), start=1):
        g = np.asarray(g, np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        if nesterov:
            m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
        else:
            m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        np.testing.assert_allclose(
            u, m_hat / (np.sqrt(v_hat + eps_root) + eps), rtol=RTOL
        )
    np.testing.assert_allclose(state.mu, m, rtol=1e-6)
    np.testing.assert_allclose(state.nu, v, rtol=1e-6)
    assert int(state.count) == 3


def test_first_adam_step_has_unit_size():
    # m̂_1 = g and v̂_1 = g², so u_1 = g / (|g| + ε) ≈ sign(g): every coordinate
    # moves by the learning rate, whatever its gradient's scale.
    g = jnp.array([1e3, 1.0, -1e-3])
    (u,), _ = helpers.run_updates(jol.scale_by_adam(eps=1e-12), [g])
    np.testing.assert_allclose(u, np.sign(g), rtol=1e-5)


@pytest.mark.parametrize("bc_mu", [True, False])
@pytest.mark.parametrize("bc_nu", [True, False])
def test_scale_by_amsgrad_by_hand(bc_mu, bc_nu):
    b1, b2, eps = 0.5, 0.75, 1e-3
    tx = jol.scale_by_amsgrad(
        b1, b2, eps, bias_correction_mu=bc_mu, bias_correction_nu=bc_nu
    )
    outputs, state = helpers.run_updates(tx, G)
    m = v = n = np.zeros(3)
    for t, (g, u) in enumerate(zip(G, outputs), start=1):
        g = np.asarray(g, np.float64)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t) if bc_mu else m
        v_hat = v / (1 - b2**t) if bc_nu else v
        n = np.maximum(n, v_hat)
        np.testing.assert_allclose(u, m_hat / (np.sqrt(n) + eps), rtol=RTOL)
    np.testing.assert_allclose(state.nu_max, n, rtol=1e-5)


def test_amsgrad_scale_never_shrinks():
    grads = [jnp.array([10.0]), jnp.array([0.1]), jnp.array([0.1]), jnp.array([0.1])]
    _, state = helpers.run_updates(jol.scale_by_amsgrad(b2=0.5), grads[:1])
    peak = float(state.nu_max[0])
    _, state = helpers.run_updates(jol.scale_by_amsgrad(b2=0.5), grads)
    assert float(state.nu_max[0]) >= peak


def test_scale_by_adamax_by_hand():
    b1, b2, eps = 0.5, 0.75, 1e-3
    outputs, state = helpers.run_updates(jol.scale_by_adamax(b1, b2, eps), G)
    m = n = np.zeros(3)
    for t, (g, u) in enumerate(zip(G, outputs), start=1):
        g = np.asarray(g, np.float64)
        m = b1 * m + (1 - b1) * g
        n = np.maximum(b2 * n, np.abs(g) + eps)
        np.testing.assert_allclose(u, m / (1 - b1**t) / n, rtol=1e-5)
    np.testing.assert_allclose(state.nu, n, rtol=1e-6)


def test_nu_dtype_keeps_float16_squares_from_overflowing():
    # 1e3² = 1e6 overflows float16 (max 65504); a float32 second moment does not.
    params = jnp.zeros(2, jnp.float16)
    grad = jnp.array([1e3, -1e3], jnp.float16)
    plain = jol.scale_by_adam()
    wide = jol.scale_by_adam(nu_dtype=jnp.float32)
    u_plain, s_plain = plain.update(grad, plain.init(params))
    u_wide, s_wide = wide.update(grad, wide.init(params))
    assert s_wide.nu.dtype == jnp.float32 and s_plain.nu.dtype == jnp.float16
    assert not np.all(np.isfinite(np.asarray(s_plain.nu, np.float32)))
    chex.assert_tree_all_finite((u_wide, s_wide))
    np.testing.assert_allclose(np.asarray(u_wide, np.float32), [1.0, -1.0], rtol=1e-3)


def test_mu_dtype_and_nu_dtype_are_honoured():
    params = {"w": jnp.ones((2, 2), jnp.bfloat16)}
    tx = jol.scale_by_adam(mu_dtype=jnp.float32, nu_dtype=jnp.float32)
    state = tx.init(params)
    _, state = tx.update(params, state)
    assert state.mu["w"].dtype == jnp.float32 and state.nu["w"].dtype == jnp.float32
    tx = jol.scale_by_amsgrad(mu_dtype=jnp.float32)
    _, state = tx.update(params, tx.init(params))
    assert state.mu["w"].dtype == jnp.float32 and state.nu["w"].dtype == jnp.bfloat16


@pytest.mark.parametrize(
    "factory", [jol.scale_by_adam, jol.scale_by_amsgrad, jol.scale_by_adamax]
)
def test_adam_family_validation(factory):
    name = factory.__name__
    for arg in ("b1", "b2"):
        for bad in (-0.1, 1.0, float("nan")):
            with pytest.raises(
                ValueError, match=rf"{name}: `{arg}` must lie in \[0, 1\)"
            ):
                factory(**{arg: bad})
        with pytest.raises(TypeError, match=rf"{name}: `{arg}` must be a real number"):
            factory(**{arg: "0.9"})
    with pytest.raises(ValueError, match=rf"{name}: `eps` must"):
        factory(eps=-1.0)


@pytest.mark.parametrize("factory", [jol.scale_by_adam, jol.scale_by_amsgrad])
def test_adam_needs_some_epsilon(factory):
    with pytest.raises(ValueError, match="`eps` and `eps_root` cannot both be 0"):
        factory(eps=0.0, eps_root=0.0)
    with pytest.raises(ValueError, match="`eps_root` must lie in"):
        factory(eps_root=-1e-8)
    factory(eps=0.0, eps_root=1e-8)


def test_adamax_needs_positive_eps():
    with pytest.raises(ValueError, match="scale_by_adamax: `eps` must be positive"):
        jol.scale_by_adamax(eps=0.0)


def test_adam_dtype_arguments_are_checked():
    with pytest.raises(
        ValueError, match="scale_by_adam: `mu_dtype` must be a floating"
    ):
        jol.scale_by_adam(mu_dtype=jnp.int8)
    with pytest.raises(TypeError, match="scale_by_adam: `nu_dtype` must be a dtype"):
        jol.scale_by_adam(nu_dtype="not a dtype")
