"""`scale_by_rms`, `scale_by_stddev`, `scale_by_rss`: steps by hand and validation."""

import chex
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol
from tests import helpers

G1, G2, G3 = (
    jnp.array([2.0, -0.5, 0.0]),
    jnp.array([1.0, 3.0, 0.0]),
    jnp.array([-4.0, 0.5, 1.0]),
)
TOL = helpers.BY_HAND


@pytest.mark.parametrize("eps_in_sqrt", [True, False])
@pytest.mark.parametrize("bias_correction", [False, True])
def test_scale_by_rms_by_hand(eps_in_sqrt, bias_correction):
    rho, eps, v0 = 0.8, 1e-3, 0.25
    tx = jol.scale_by_rms(
        rho, eps, v0, eps_in_sqrt=eps_in_sqrt, bias_correction=bias_correction
    )
    outputs, state = helpers.run_updates(tx, [G1, G2, G3])
    v = np.full(3, v0)
    for t, (g, u) in enumerate(zip([G1, G2, G3], outputs), start=1):
        g = np.asarray(g, np.float64)
        v = rho * v + (1 - rho) * g**2
        v_hat = v / (1 - rho**t) if bias_correction else v
        want = g / np.sqrt(v_hat + eps) if eps_in_sqrt else g / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(u, want, rtol=TOL.rtol, atol=TOL.atol)
    np.testing.assert_allclose(state.nu, v, rtol=TOL.rtol)


def test_first_rms_step_is_the_sign_of_the_gradient():
    # With v_0 = 0 and tiny eps, v_1 = (1 - ρ) g², so u_1 = g / |g| / √(1 - ρ).
    (u1,), _ = helpers.run_updates(
        jol.scale_by_rms(0.9, eps=1e-12, eps_in_sqrt=False), [G1]
    )
    want = np.sign(G1) / np.sqrt(0.1)
    np.testing.assert_allclose(u1, want, rtol=1e-5)


@pytest.mark.parametrize("eps_in_sqrt", [True, False])
def test_scale_by_stddev_by_hand(eps_in_sqrt):
    rho, eps = 0.5, 1e-2
    tx = jol.scale_by_stddev(rho, eps, eps_in_sqrt=eps_in_sqrt)
    outputs, state = helpers.run_updates(tx, [G1, G2, G3])
    m, v = np.zeros(3), np.zeros(3)
    for g, u in zip([G1, G2, G3], outputs):
        g = np.asarray(g, np.float64)
        m = rho * m + (1 - rho) * g
        v = rho * v + (1 - rho) * g**2
        var = v - m**2
        want = g / np.sqrt(var + eps) if eps_in_sqrt else g / (np.sqrt(var) + eps)
        np.testing.assert_allclose(u, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state.mu, m, rtol=TOL.rtol)
    np.testing.assert_allclose(state.nu, v, rtol=TOL.rtol)


def test_scale_by_rss_by_hand_and_zero_guard():
    s0, eps = 0.0, 1e-4
    outputs, state = helpers.run_updates(jol.scale_by_rss(s0, eps), [G1, G2, G3])
    s = np.full(3, s0)
    for g, u in zip([G1, G2, G3], outputs):
        g = np.asarray(g, np.float64)
        s = s + g**2
        want = np.where(s > 0, g / np.sqrt(s + eps), 0.0)
        np.testing.assert_allclose(u, want, rtol=TOL.rtol, atol=TOL.atol)
    # The third coordinate saw only zeros for two steps: it did not move, no NaN.
    assert outputs[0][2] == 0 and outputs[1][2] == 0
    np.testing.assert_allclose(state.sum_of_squares, s, rtol=TOL.rtol)


def test_bias_corrected_state_counts_steps():
    _, state = helpers.run_updates(jol.scale_by_rms(bias_correction=True), [G1, G2])
    assert isinstance(state, jol.ScaleByRmsWithCountState) and int(state.count) == 2
    _, state = helpers.run_updates(jol.scale_by_stddev(bias_correction=True), [G1])
    assert isinstance(state, jol.ScaleByRStdDevWithCountState) and int(state.count) == 1


@pytest.mark.parametrize("factory", [jol.scale_by_rms, jol.scale_by_stddev])
def test_rms_validation(factory):
    name = factory.__name__
    with pytest.raises(ValueError, match=rf"{name}: `decay` must lie in \[0, 1\)"):
        factory(decay=1.0)
    with pytest.raises(
        ValueError, match=rf"{name}: `eps` must lie in \[0, inf\), got -1"
    ):
        factory(eps=-1e-8)
    with pytest.raises(ValueError, match=rf"{name}: `initial_scale` must lie"):
        factory(initial_scale=-0.5)
    with pytest.raises(
        ValueError, match=rf"{name}: `eps` and `initial_scale` cannot both be 0"
    ):
        factory(eps=0.0, initial_scale=0.0)
    with pytest.raises(
        TypeError, match=rf"{name}: `eps_in_sqrt` must be True or False"
    ):
        factory(eps_in_sqrt=None)
    with pytest.raises(
        TypeError, match=rf"{name}: `bias_correction` must be True or False"
    ):
        factory(bias_correction="no")
    factory(eps=0.0, initial_scale=1e-3)  # a positive v_0 keeps the division finite


def test_rss_validation():
    with pytest.raises(
        ValueError, match="scale_by_rss: `initial_accumulator_value` must lie"
    ):
        jol.scale_by_rss(initial_accumulator_value=-0.1)
    with pytest.raises(ValueError, match="scale_by_rss: `eps` must lie"):
        jol.scale_by_rss(eps=float("nan"))


def test_zero_gradient_never_gives_nan():
    zero = jnp.zeros(3)
    for tx in (jol.scale_by_rms(), jol.scale_by_stddev(), jol.scale_by_rss(0.0)):
        (u,), _ = helpers.run_updates(tx, [zero])
        chex.assert_tree_all_finite(u)
