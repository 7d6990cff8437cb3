"""Sweeps: every method gives the numbers of a plain Python loop over settings."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from tests import helpers

STEPS = 30


def _train(setting, x0, hessian):
    """SGD with momentum on ½ xᵀAx, built inside from the traced setting."""
    opt = jol.sgd(setting["lr"], momentum=setting["beta"])

    def step(carry, _):
        x, state = carry
        loss = 0.5 * x @ (hessian @ x)
        updates, state = opt.update(hessian @ x, state, x)
        return (jol.apply_updates(x, updates), state), loss

    (x, _), losses = jax.lax.scan(step, (x0, opt.init(x0)), None, length=STEPS)
    return {"loss": losses, "final": x}


def _problem():
    hessian = jnp.diag(jnp.array([1.0, 0.1, 0.01]))
    return jnp.array([1.0, -2.0, 3.0]), hessian


def _plain_loop(settings, x0, hessian):
    rows = []
    for lr, beta in zip(settings["lr"], settings["beta"], strict=True):
        setting = {"lr": jnp.float32(lr), "beta": jnp.float32(beta)}
        rows.append(jax.device_get(_train(setting, x0, hessian)))
    return jax.tree.map(lambda *xs: np.stack(xs), *rows)


SETTINGS = sweeps.grid(lr=[0.1, 0.5, 1.0], beta=[0.0, 0.5, 0.9])


@pytest.mark.parametrize("method", ["vmap", "map", "loop"])
def test_each_method_matches_a_python_loop(method):
    x0, hessian = _problem()
    expected = _plain_loop(SETTINGS, x0, hessian)
    result = sweeps.sweep(_train, SETTINGS, x0, hessian, method=method)
    assert result.method == method
    assert result.size == 9
    assert result.outputs["loss"].shape == (9, STEPS)
    tol = helpers.F32
    chex.assert_trees_all_close(result.outputs, expected, rtol=tol.rtol, atol=tol.atol)


def test_map_with_batch_size_matches():
    x0, hessian = _problem()
    expected = _plain_loop(SETTINGS, x0, hessian)
    result = sweeps.sweep(_train, SETTINGS, x0, hessian, method="map", batch_size=4)
    tol = helpers.F32
    chex.assert_trees_all_close(result.outputs, expected, rtol=tol.rtol, atol=tol.atol)


def test_auto_says_which_method_ran():
    x0, hessian = _problem()
    result = sweeps.sweep(_train, SETTINGS, x0, hessian)
    expected = "loop" if jax.default_backend() == "cpu" else "vmap"
    assert result.method == expected == sweeps.resolve_method("auto")


def test_list_of_dicts_and_setting_accessor():
    x0, hessian = _problem()
    as_list = [{"lr": 0.1, "beta": 0.0}, {"lr": 0.5, "beta": 0.9}]
    result = sweeps.sweep(_train, as_list, x0, hessian, method="loop")
    assert result.setting(1) == pytest.approx({"lr": 0.5, "beta": 0.9})
    np.testing.assert_array_equal(result.output(1)["loss"], result.outputs["loss"][1])


def test_grid_order_last_axis_fastest():
    g = sweeps.grid(a=[1, 2], b=[10, 20, 30])
    np.testing.assert_array_equal(g["a"], [1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(g["b"], [10, 20, 30, 10, 20, 30])


def test_compiles_once_per_function():
    x0, hessian = _problem()
    sweeps.sweep(_train, SETTINGS, x0, hessian, method="loop")
    before = sweeps._compiled.cache_info().hits
    sweeps.sweep(_train, SETTINGS, x0 * 2, hessian, method="loop")
    assert sweeps._compiled.cache_info().hits == before + 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "pmap"}, "`method` must be one of"),
        ({"batch_size": 0}, "`batch_size` must be an int >= 1"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    x0, hessian = _problem()
    with pytest.raises(ValueError, match=match):
        sweeps.sweep(_train, SETTINGS, x0, hessian, **kwargs)


def test_rejects_ragged_settings():
    with pytest.raises(ValueError, match="share one non-empty leading axis"):
        sweeps.sweep(_train, {"lr": np.zeros(3), "beta": np.zeros(2)})
    with pytest.raises(ValueError, match="must name at least one axis"):
        sweeps.grid()


def test_select_returns_the_chosen_transforms_update():
    transforms = [jol.sgd(0.1), jol.sgd(0.1, momentum=0.9), jol.adam(0.1)]
    g = jnp.array([1.0, -2.0])
    for i, tx in enumerate(transforms):
        picked = sweeps.select(transforms, jnp.int32(i))
        state, ref_state = picked.init(g), tx.init(g)
        for _ in range(3):
            u, state = jax.jit(picked.update)(g, state, g)
            ref_u, ref_state = tx.update(g, ref_state, g)
            np.testing.assert_allclose(u, ref_u, rtol=1e-6)
    with pytest.raises(ValueError, match="`transforms` must hold at least one"):
        sweeps.select([], 0)


def test_switch_runs_only_the_chosen_transform():
    params = {"w": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
    grads = [jax.tree.map(lambda p, k=k: jnp.sin(p + k), params) for k in range(3)]
    chosen = [jol.sgd(0.1, momentum=0.9), jol.adamw(0.01)]

    @jax.jit
    def steps(index):
        opt = sweeps.switch(chosen, index)
        state, out = opt.init(params), []
        for g in grads:
            u, state = opt.update(g, state, params)
            out.append(u)
        return out

    for index, opt in enumerate(chosen):
        state = opt.init(params)
        for g, got in zip(grads, steps(index), strict=True):
            want, state = opt.update(g, state, params)
            jax.tree.map(
                lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5), got, want
            )
    with pytest.raises(ValueError, match="`transforms` must hold at least one"):
        sweeps.switch([], 0)
