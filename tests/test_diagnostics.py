"""Diagnostics: the wrapper records the right numbers and never changes an update."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics
from tests import helpers

INNERS = {
    "nesterov": lambda: jol.sgd(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: jol.rmsprop(0.01),
    "adam": lambda: jol.adam(0.01),
    "optax_adamw": lambda: optax.adamw(0.01),
}
# jit on a mixed tree for every inner; eager (slow to dispatch) on one vector.
CASES = [(name, True) for name in INNERS] + [("adam", False)]


@pytest.mark.parametrize(
    "name, jit", CASES, ids=[f"{n}-{'jit' if j else 'eager'}" for n, j in CASES]
)
def test_updates_identical_to_unwrapped(name, jit, mixed_tree):
    """Both fed the same gradients and params; updates and inner state bit-equal."""
    inner = INNERS[name]()
    wrapped = diagnostics.diagnose(inner, history=5)
    steps = 6 if jit else 2
    maybe_jit = jax.jit if jit else (lambda f: f)
    update, wrapped_update = maybe_jit(inner.update), maybe_jit(wrapped.update)
    params = mixed_tree if jit else jnp.array([0.5, -1.0, 2.0])
    state, wrapped_state = inner.init(params), wrapped.init(params)
    grads = helpers.random_grads(params, steps=steps)
    for t in range(steps):
        g = jax.tree.map(lambda a, t=t: a[t], grads)
        u, state = update(g, state, params)
        wu, wrapped_state = wrapped_update(g, wrapped_state, params)
        chex.assert_trees_all_equal(wu, u)
        chex.assert_trees_all_equal(wrapped_state.inner, state)
        params = optax.apply_updates(params, u)
    assert int(wrapped_state.count) == steps


def _by_numpy(g, u, p, prev):
    g, u, p, prev = (np.asarray(a, np.float64) for a in (g, u, p, prev))
    r = np.log10(np.abs(u) / np.abs(g))
    flips = np.mean(np.sign(u) != np.sign(prev))
    return {
        "grad_norm": np.linalg.norm(g),
        "update_norm": np.linalg.norm(u),
        "cosine": -(u @ g) / (np.linalg.norm(u) * np.linalg.norm(g)),
        "update_param_rms": np.sqrt(np.mean(u**2)) / np.sqrt(np.mean(p**2)),
        "step_spread_log10": r.max() - r.min(),
        "step_log10_std": r.std(),
        "zigzag": flips,
    }


def test_step_stats_match_numpy():
    rng = np.random.default_rng(0)
    g, u, p, prev = (jnp.asarray(rng.standard_normal(7), jnp.float32) for _ in range(4))
    got = diagnostics.step_stats(g, u, p, prev)._asdict()
    expected = _by_numpy(g, u, p, prev)
    for key, value in expected.items():
        np.testing.assert_allclose(float(got[key]), value, rtol=1e-5, err_msg=key)


def test_sgd_has_one_step_size_and_points_downhill():
    params = {"a": jnp.array([1.0, -2.0]), "b": jnp.array(3.0)}
    _, stats = diagnostics.run(jol.sgd(0.1), lambda x: x, params, 3)
    np.testing.assert_allclose(stats.cosine, 1.0, rtol=1e-6)
    np.testing.assert_allclose(stats.step_spread_log10, 0.0, atol=1e-6)
    np.testing.assert_allclose(stats.update_param_rms, 0.1, rtol=1e-6)
    assert np.isnan(stats.zigzag[0])
    np.testing.assert_array_equal(stats.zigzag[1:], 0.0)  # x shrinks, never crosses 0


def test_gd_in_a_ravine_flips_every_step():
    # ½(x1² + 0.01 x2²) at lr 2/(L+μ): both coordinates overshoot 0 every step.
    hessian = jnp.array([1.0, 0.01])
    lr = 2.0 / 1.01
    _, stats = diagnostics.run(jol.sgd(lr), lambda x: hessian * x, jnp.ones(2), 10)
    np.testing.assert_array_equal(stats.zigzag[1:], 0.5)  # the steep one flips only
    _, stats = diagnostics.run(jol.sgd(1.0), lambda x: hessian * x, jnp.ones(2), 10)
    np.testing.assert_array_equal(stats.zigzag[1:], 0.0)  # lr = 1/L lands on the axis


def test_rmsprop_spreads_effective_steps_by_the_gradient_ratio():
    # First RMSprop step: |u_i| / |g_i| = lr / sqrt(0.1 g_i² + eps) ∝ 1 / |g_i|.
    grad_fn = lambda x: jnp.array([1000.0, 1.0]) * x
    _, stats = diagnostics.run(jol.rmsprop(0.01), grad_fn, jnp.ones(2), 1)
    np.testing.assert_allclose(stats.step_spread_log10[0], 3.0, atol=1e-3)
    np.testing.assert_allclose(stats.step_log10_std[0], 1.5, atol=1e-3)


def test_history_matches_last():
    wrapped = diagnostics.diagnose(jol.adam(0.1), history=4)
    x = jnp.array([1.0, -1.0, 0.5])
    state = wrapped.init(x)
    lasts = []
    for _ in range(6):  # more steps than the history keeps
        u, state = jax.jit(wrapped.update)(x**3, state, x)
        x = x + u
        lasts.append(state.last)
    for i in range(4):
        for field in diagnostics.StepStats._fields:
            np.testing.assert_array_equal(
                getattr(state.history, field)[i], getattr(lasts[i], field)
            )


def test_zero_gradient_gives_nan_not_error():
    stats = diagnostics.step_stats(
        jnp.zeros(3), jnp.zeros(3), jnp.ones(3), jnp.zeros(3)
    )
    assert np.isnan(stats.cosine) and np.isnan(stats.step_spread_log10)
    assert np.isnan(stats.zigzag)
    assert float(stats.grad_norm) == 0.0


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`history` must be None or an int >= 1"):
        diagnostics.diagnose(jol.sgd(0.1), history=0)
    with pytest.raises(
        TypeError, match="`inner` must be an optax.GradientTransformation"
    ):
        diagnostics.diagnose(lambda g: g)
