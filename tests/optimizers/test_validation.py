"""Every validation rule of the optimizers; bad trees and params in init/update."""

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxopt_lessons as jol

OPTIMIZERS = ["sgd", "rmsprop", "adam", "adamw", "nadam", "nadamw", "adamax", "adamaxw", "amsgrad", "adagrad"]  # fmt: skip


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), -float("inf")])
def test_invalid_learning_rate(name, lr):
    with pytest.raises(
        ValueError, match=r"`learning_rate` must lie in \[0, inf\), got"
    ):
        getattr(jol, name)(lr)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_learning_rate_of_wrong_type(name):
    with pytest.raises(
        TypeError,
        match=rf"{name}: `learning_rate` must be a number, an array or a schedule",
    ):
        getattr(jol, name)(None)
    with pytest.raises(TypeError, match="`learning_rate` must be a real number"):
        getattr(jol, name)("1e-3")


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_learning_rate_schedule_and_array_are_accepted(name):
    getattr(jol, name)(optax.constant_schedule(0.1))
    getattr(jol, name)(jnp.asarray(0.1))
    getattr(jol, name)(0)


@pytest.mark.parametrize(
    "name", ["adam", "adamw", "nadam", "nadamw", "adamax", "adamaxw", "amsgrad"]
)
@pytest.mark.parametrize("arg", ["b1", "b2"])
@pytest.mark.parametrize("bad", [-0.5, 1.0, 2.0, float("nan")])
def test_betas_outside_unit_interval(name, arg, bad):
    with pytest.raises(ValueError, match=rf"`{arg}` must lie in \[0, 1\), got {bad}"):
        getattr(jol, name)(0.1, **{arg: bad})


@pytest.mark.parametrize(
    "name", ["adam", "adamw", "nadam", "nadamw", "amsgrad", "rmsprop", "adagrad"]
)
def test_negative_eps(name):
    with pytest.raises(ValueError, match=r"`eps` must lie in \[0, inf\), got -1e-08"):
        getattr(jol, name)(0.1, eps=-1e-8)


def test_sgd_rules():
    with pytest.raises(
        ValueError, match="sgd: `nesterov=True` needs a `momentum` value"
    ):
        jol.sgd(0.1, nesterov=True)
    with pytest.raises(
        ValueError, match=r"sgd: `momentum` must lie in \[0, 1\), got 1.0"
    ):
        jol.sgd(0.1, momentum=1.0)
    with pytest.raises(
        ValueError, match=r"sgd: `momentum` must lie in \[0, 1\), got -0.9"
    ):
        jol.sgd(0.1, momentum=-0.9)
    with pytest.raises(TypeError, match="sgd: `nesterov` must be True or False"):
        jol.sgd(0.1, momentum=0.9, nesterov="True")


def test_rmsprop_rules():
    with pytest.raises(
        ValueError, match="rmsprop: `nesterov=True` needs a `momentum` value"
    ):
        jol.rmsprop(0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"scale_by_rms: `decay` must lie in \[0, 1\)"):
        jol.rmsprop(0.1, decay=1.0)
    with pytest.raises(ValueError, match=r"scale_by_stddev: `decay` must lie"):
        jol.rmsprop(0.1, decay=-0.1, centered=True)
    with pytest.raises(TypeError, match="rmsprop: `centered` must be True or False"):
        jol.rmsprop(0.1, centered=1)
    with pytest.raises(ValueError, match="`eps` and `initial_scale` cannot both be 0"):
        jol.rmsprop(0.1, eps=0.0)
    with pytest.raises(ValueError, match=r"rmsprop: `momentum` must lie in \[0, 1\)"):
        jol.rmsprop(0.1, momentum=1.5)


@pytest.mark.parametrize("name", ["adamw", "nadamw", "adamaxw"])
def test_weight_decay_rules(name):
    with pytest.raises(
        ValueError, match=r"add_decayed_weights: `weight_decay` must lie in \[0, inf\)"
    ):
        getattr(jol, name)(0.1, weight_decay=-1e-4)
    getattr(jol, name)(0.1, weight_decay=optax.constant_schedule(1e-4))


def test_adagrad_rules():
    with pytest.raises(
        ValueError, match="scale_by_rss: `initial_accumulator_value` must lie"
    ):
        jol.adagrad(0.1, initial_accumulator_value=-1.0)


def test_dtype_rules():
    with pytest.raises(
        ValueError, match="`mu_dtype` must be a floating or complex dtype, got int32"
    ):
        jol.adam(0.1, mu_dtype=jnp.int32)
    with pytest.raises(ValueError, match="`accumulator_dtype` must be a floating"):
        jol.sgd(0.1, momentum=0.9, accumulator_dtype=jnp.bool_)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_with_a_tree_that_does_not_match_the_state(name):
    opt = getattr(jol, name)(0.1, **({"momentum": 0.9} if name == "sgd" else {}))
    params = {"w": jnp.ones(3), "b": jnp.ones(2)}
    state = opt.init(params)
    with pytest.raises(ValueError, match="structure of `updates` does not match"):
        opt.update({"w": jnp.ones(3)}, state, {"w": jnp.ones(3)})
    with pytest.raises(
        ValueError, match=r"the update at \['b'\] has shape \(5,\), but"
    ):
        opt.update(
            {"w": jnp.ones(3), "b": jnp.ones(5)},
            state,
            {"w": jnp.ones(3), "b": jnp.ones(5)},
        )


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "sgd"])
def test_integer_params_are_refused_at_init(name):
    opt = getattr(jol, name)(0.1)
    with pytest.raises(TypeError, match=r"params\['n'\] has dtype int32"):
        opt.init({"w": jnp.ones(3), "n": jnp.arange(3)})


def test_tracers_are_not_validated():
    """Under jit and vmap the hyperparameters are traced; building still works."""

    @jax.jit
    def build_and_step(lr, b1):
        opt = jol.adam(lr, b1=b1)
        return opt.update(jnp.ones(2), opt.init(jnp.ones(2)), jnp.ones(2))[0]

    assert build_and_step(0.1, 0.9).shape == (2,)
    assert jax.vmap(lambda lr: build_and_step(lr, 0.9))(
        jnp.array([0.1, 0.2])
    ).shape == (2, 2)
