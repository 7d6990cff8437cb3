"""`scale_by_polyak` and `polyak_sgd`: the step size by hand, and validation."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol


@pytest.mark.parametrize(
    "value, f_min, variant, want_step",
    [
        (3.0, 1.0, "sps", 2.0 / 25.0),  # gap 2 over ‖g‖² = 25
        (100.0, 0.0, "sps", 0.5),  # capped at max_learning_rate
        (0.0, 1.0, "sps", -1.0 / 25.0),  # below f*: an uphill step
        (0.0, 1.0, "sps+", 0.0),  # ...which sps+ refuses
    ],
)
def test_step_size_by_hand(value, f_min, variant, want_step):
    g = {"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}
    tx = jol.scale_by_polyak(f_min=f_min, max_learning_rate=0.5, variant=variant)
    u, _ = tx.update(g, tx.init(g), value=jnp.asarray(value))
    np.testing.assert_allclose(u["a"], [3.0 * want_step], rtol=1e-6)
    np.testing.assert_allclose(u["b"], [[4.0 * want_step]], rtol=1e-6)


def test_zero_gradient_gives_a_zero_step():
    tx = jol.scale_by_polyak()
    u, _ = tx.update(jnp.zeros(3), tx.init(jnp.zeros(3)), value=1.0)
    np.testing.assert_array_equal(u, np.zeros(3))


def test_polyak_sgd_reaches_a_quadratic_minimum_in_one_step():
    # f(θ) = ½‖θ‖² with f* = 0: γ = ½‖θ‖² / ‖θ‖² = ½ halves θ each step.
    opt = jol.polyak_sgd(max_learning_rate=10.0)
    theta = jnp.array([2.0, -4.0])
    u, _ = jax.jit(opt.update)(theta, opt.init(theta), theta, value=0.5 * theta @ theta)
    np.testing.assert_allclose(optax.apply_updates(theta, u), theta / 2, rtol=1e-6)


def test_validation():
    fn = "scale_by_polyak"
    with pytest.raises(ValueError, match="polyak_sgd: `variant` must be one of"):
        jol.polyak_sgd(variant="sps++")
    with pytest.raises(ValueError, match="polyak_sgd: `max_learning_rate` must lie"):
        jol.polyak_sgd(max_learning_rate=-1.0)
    with pytest.raises(ValueError, match="polyak_sgd: `eps` must lie"):
        jol.polyak_sgd(eps=-1.0)
    with pytest.raises(ValueError, match="polyak_sgd: `f_min` must lie"):
        jol.polyak_sgd(f_min=float("nan"))
    with pytest.raises(ValueError, match="polyak_sgd: `scaling` must lie"):
        jol.polyak_sgd(scaling=-1.0)
    tx = jol.scale_by_polyak()
    with pytest.raises(TypeError, match=f"{fn}: `update` needs the current loss"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
