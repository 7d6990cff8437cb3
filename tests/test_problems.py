"""Problems: deterministic from a key, correct gradients, the stated structure."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxopt_lessons import problems


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("rotated", [True, False])
def test_ravine_structure(rotated):
    r = problems.make_ravine(100.0, 5, rotated=rotated, key=3)
    np.testing.assert_allclose(r.eigenvalues, np.geomspace(0.01, 1, 5), rtol=1e-6)
    assert r.kappa == pytest.approx(100.0, rel=1e-5)
    np.testing.assert_allclose(np.linalg.eigvalsh(r.hessian), r.eigenvalues, rtol=1e-4)
    q = np.asarray(r.basis, np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-6)
    if not rotated:
        np.testing.assert_array_equal(r.basis, np.eye(5))
    x = jnp.arange(5.0)
    np.testing.assert_allclose(r.grad(x), jax.grad(r.loss)(x), rtol=1e-5)


def test_ravine_deterministic_from_key():
    _assert_same(
        problems.make_ravine(10.0, 4, key=7), problems.make_ravine(10.0, 4, key=7)
    )
    _assert_same(
        problems.make_ravine(10.0, 4, key=jax.random.key(7)),
        problems.make_ravine(10.0, 4, key=7),
    )
    a, b = problems.make_ravine(10.0, 4, key=7), problems.make_ravine(10.0, 4, key=8)
    assert not np.allclose(a.hessian, b.hessian)


def test_theory_constants():
    r = problems.make_ravine(100.0, 2, key=0)
    assert r.gd_step_size() == pytest.approx(2 / 1.01, rel=1e-6)
    alpha, beta = r.heavy_ball_constants()
    assert alpha == pytest.approx((2 / 1.1) ** 2, rel=1e-5)
    assert beta == pytest.approx((9 / 11) ** 2, rel=1e-5)
    lr, momentum = r.nesterov_constants()
    assert (lr, momentum) == pytest.approx((1.0, 9 / 11), rel=1e-5)


def test_ravine_is_a_pytree_for_jit():
    r = problems.make_ravine(10.0, 3, key=0)
    value = jax.jit(lambda p: p.loss(p.x0))(r)
    np.testing.assert_allclose(value, r.loss(r.x0), rtol=1e-6)


def test_scaled_bowl_default_is_1000_to_1():
    bowl = problems.make_scaled_bowl()
    np.testing.assert_array_equal(bowl.hessian, np.diag([1000.0, 1.0]))
    np.testing.assert_array_equal(bowl.x0, [1.0, 1.0])
    np.testing.assert_array_equal(bowl.grad(bowl.x0), [1000.0, 1.0])
    rotated = problems.make_scaled_bowl(np.logspace(0, 3, 4), rotated=True, key=1)
    assert rotated.kappa == pytest.approx(1000.0, rel=1e-5)
    assert (
        np.abs(np.asarray(rotated.hessian) - np.diag(np.diag(rotated.hessian))).max()
        > 1
    )


def test_noisy_quadratic_noise_and_exact_floor():
    nq = problems.make_noisy_quadratic(kappa=10.0, dim=3, sigma=0.5, key=0)
    keys = jax.random.split(jax.random.key(1), 4000)
    x = nq.x0
    draws = jax.vmap(lambda k: nq.noisy_grad(x, k))(keys) - nq.grad(x)
    np.testing.assert_allclose(np.std(np.asarray(draws), axis=0), 0.5, rtol=0.05)
    # SGD's closed form, Σ η σ² / (2 (2 − η λ)), against the Lyapunov solve.
    lam = np.asarray(nq.quadratic.eigenvalues, np.float64)
    eta = 0.3
    assert nq.stationary_loss(eta) == pytest.approx(
        np.sum(eta * 0.25 / (2 * (2 - eta * lam))), rel=1e-9
    )
    assert nq.stationary_loss(2.5) == float("inf")  # unstable for λ = 1
    # Heavy ball at the same effective step: the same floor for small steps.
    assert nq.stationary_loss(0.0005, 0.9) == pytest.approx(
        nq.stationary_loss(0.005), rel=0.01
    )


def test_least_squares_optimum_and_minibatches():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((50, 4)), rng.standard_normal(50)
    ls = problems.make_least_squares(x, y)
    np.testing.assert_allclose(ls.grad(ls.w_star), 0.0, atol=1e-5)
    w = jnp.ones(4)
    np.testing.assert_allclose(ls.grad(w), jax.grad(ls.loss)(w), rtol=1e-5)
    keys = jax.random.split(jax.random.key(0), 1000)
    draws = jax.jit(jax.vmap(lambda k: ls.minibatch_grad(w, k, 8)))(keys)
    error = np.abs(np.asarray(draws).mean(0) - np.asarray(ls.grad(w)))
    assert np.all(error < 4 * np.asarray(draws).std(0) / np.sqrt(1000))  # unbiased


def test_diabetes_least_squares():
    ls = problems.diabetes_least_squares(0)
    assert ls.x.shape == (442, 10)
    np.testing.assert_allclose(np.asarray(ls.x).mean(0), 0.0, atol=1e-5)
    eig = ls.hessian_eigenvalues()
    assert 1e-3 < eig[0] < 0.05 and 3 < eig[-1] < 5  # κ in the hundreds
    other = problems.diabetes_least_squares(1)  # same rows whatever the split
    np.testing.assert_allclose(other.x, ls.x, atol=1e-5)
    np.testing.assert_allclose(other.w_star, ls.w_star, atol=1e-5)


def test_logistic_regression_gradient_and_raw_scales():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 3)), (rng.uniform(size=40) > 0.5).astype(float)
    lr = problems.make_logistic_regression(x, y)
    w = jnp.array([0.3, -0.2, 0.1, 0.5])
    np.testing.assert_allclose(lr.grad(w), jax.grad(lr.loss)(w), rtol=1e-5, atol=1e-7)
    assert float(lr.loss(lr.init())) == pytest.approx(np.log(2), rel=1e-6)
    raw, (x_test, _) = problems.breast_cancer_logistic(standardize=False, seed=0)
    means = np.abs(np.asarray(raw.x).mean(0))
    assert means.max() / means.min() > 1e4  # features on wildly different scales
    assert raw.dim == 31 and x_test.shape[1] == 30
    std, _ = problems.breast_cancer_logistic(standardize=True, seed=0)
    np.testing.assert_allclose(np.asarray(std.x).mean(0), 0.0, atol=1e-4)


def test_rosenbrock():
    r = problems.make_rosenbrock()
    np.testing.assert_array_equal(r.x0, np.float32([-1.2, 1.0]))
    assert float(r.loss(r.x0)) == pytest.approx(24.2, rel=1e-6)
    assert float(r.loss(r.minimiser)) == 0.0
    np.testing.assert_allclose(r.grad(r.minimiser), 0.0)
    r4 = problems.make_rosenbrock(4, key=0)
    _assert_same(r4, problems.make_rosenbrock(4, key=0))
    assert not np.allclose(r4.x0, [-1.2, 1.0, -1.2, 1.0])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: problems.make_ravine(0.5), "`kappa` must be >= 1"),
        (lambda: problems.make_ravine(10.0, 1), "`dim` must be an int >= 2"),
        (lambda: problems.quadratic([1.0, -1.0]), "`eigenvalues` must all be > 0"),
        (lambda: problems.quadratic([1.0, 2.0], x0=[1.0]), "`x0` must have shape"),
        (lambda: problems.make_noisy_quadratic(sigma=-1.0), "`sigma` must be >= 0"),
        (lambda: problems.make_rosenbrock(1), "`dim` must be an int >= 2"),
        (
            lambda: problems.make_least_squares(np.ones(3), np.ones(3)),
            "must be \\(n, d\\)",
        ),
        (
            lambda: problems.make_logistic_regression(np.ones((2, 1)), [0, 2]),
            "must hold only 0 and 1",
        ),
    ],
)
def test_rejects_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_rejects_bad_key():
    with pytest.raises(TypeError, match="`key` must be an int seed or a PRNG key"):
        problems.make_ravine(10.0, 2, key="zero")


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_noisy_quadratic_closed_form_floor_for_every_stable_step(beta):
    """The closed form against scipy's Lyapunov solver, on the whole stable range.

    Built independently of `stationary_loss`: the heavy ball as the
    second-order recursion x' = (1 + β − αλ) x − β x₋ − ασξ, state (x, x₋).
    """
    from scipy.linalg import solve_discrete_lyapunov

    nq = problems.make_noisy_quadratic(kappa=10.0, dim=4, sigma=0.5, key=3)
    lam = np.asarray(nq.quadratic.eigenvalues, np.float64)
    edge = nq.edge_learning_rate(beta)
    assert edge == pytest.approx(2 * (1 + beta) / lam.max())
    for alpha in edge * np.array([0.01, 0.3, 0.75, 0.99]):
        expected = 0.0
        for one in lam:
            m = np.array([[1 + beta - alpha * one, -beta], [1.0, 0.0]])
            q = np.array([[alpha**2 * 0.25, 0.0], [0.0, 0.0]])
            expected += 0.5 * one * solve_discrete_lyapunov(m, q)[0, 0]
        assert nq.closed_form_loss(alpha, beta) == pytest.approx(expected, rel=1e-9)
        assert nq.stationary_loss(alpha, beta) == pytest.approx(expected, rel=1e-9)
    assert nq.closed_form_loss(1.01 * edge, beta) == float("inf")
    assert nq.stationary_loss(1.01 * edge, beta) == float("inf")


def test_noisy_quadratic_momentum_floor_matches_small_steps_only():
    """Same effective step η: equal floors for η λ ≪ 1, lower for heavy ball near
    SGD's edge, and stable where SGD diverges."""
    nq = problems.make_noisy_quadratic(kappa=10.0, dim=10, sigma=0.5, key=0)
    beta = 0.9
    sgd_edge = nq.edge_learning_rate(0.0)
    for eta in (0.001, 0.01):
        ratio = nq.closed_form_loss(eta * (1 - beta), beta) / nq.closed_form_loss(eta)
        # Per direction 1 − ηλβ/(1 + β) + O((ηλ)²), with λ <= 1: within η of 1.
        assert 1 - eta <= ratio < 1
    near_edge = 0.75 * sgd_edge
    ratio = nq.closed_form_loss(near_edge * (1 - beta), beta) / nq.closed_form_loss(
        near_edge
    )
    assert ratio < 0.7
    beyond = 1.5 * sgd_edge
    assert nq.closed_form_loss(beyond) == float("inf")
    assert np.isfinite(nq.closed_form_loss(beyond * (1 - beta), beta))
