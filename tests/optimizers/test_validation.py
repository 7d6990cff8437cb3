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
    with pytest.raises(ValueError, match=r"rmsprop: `decay` must lie in \[0, 1\)"):
        jol.rmsprop(0.1, decay=1.0)
    with pytest.raises(ValueError, match=r"rmsprop: `decay` must lie"):
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
        ValueError, match=rf"{name}: `weight_decay` must lie in \[0, inf\)"
    ):
        getattr(jol, name)(0.1, weight_decay=-1e-4)
    getattr(jol, name)(0.1, weight_decay=optax.constant_schedule(1e-4))


def test_adagrad_rules():
    with pytest.raises(
        ValueError, match="adagrad: `initial_accumulator_value` must lie"
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


# One invalid argument per optimizer, chosen among those its inner blocks
# check (b1 is checked by scale_by_adam, momentum by trace, ...): the message
# must still name the function the user called.
INNER_ARGUMENT = {
    "adabelief": dict(learning_rate=0.1, b1=2.0),
    "adadelta": dict(rho=2.0),
    "adafactor": dict(decay_rate=-1.0),
    "adagrad": dict(learning_rate=0.1, eps=-1.0),
    "adam": dict(learning_rate=0.1, b1=2.0),
    "adamax": dict(learning_rate=0.1, b2=2.0),
    "adamaxw": dict(learning_rate=0.1, weight_decay=-1.0),
    "adamw": dict(learning_rate=0.1, eps=-1.0),
    "adan": dict(learning_rate=0.1, b3=2.0),
    "amsgrad": dict(learning_rate=0.1, b2=1.0),
    "fromage": dict(learning_rate=0.1, min_norm=-1.0),
    "lamb": dict(learning_rate=0.1, eps_root=-1.0),
    "lars": dict(learning_rate=0.1, trust_coefficient=-1.0),
    "lbfgs": dict(memory_size=0),
    "lion": dict(learning_rate=0.1, b2=1.0),
    "nadam": dict(learning_rate=0.1, b2=1.0),
    "nadamw": dict(learning_rate=0.1, weight_decay=-1.0),
    "noisy_sgd": dict(learning_rate=0.1, eta=-1.0, key=0),
    "novograd": dict(learning_rate=0.1, b2=1.0),
    "optimistic_adam_v2": dict(learning_rate=0.1, eps=-1.0),
    "optimistic_gradient_descent": dict(learning_rate=0.1, beta=-1.0),
    "polyak_sgd": dict(max_learning_rate=-1.0),
    "radam": dict(learning_rate=0.1, threshold=float("nan")),
    "rmsprop": dict(learning_rate=0.1, initial_scale=-1.0),
    "rprop": dict(learning_rate=0.1, eta_plus=0.5),
    "sgd": dict(learning_rate=0.1, momentum=2.0),
    "sign_sgd": dict(learning_rate=-1.0),
    "signum": dict(learning_rate=0.1, beta=2.0),
    "sm3": dict(learning_rate=0.1, momentum=2.0),
    "yogi": dict(learning_rate=0.1, eps=-1.0),
}


def test_every_optimizer_has_an_inner_argument_case():
    assert set(INNER_ARGUMENT) == set(jol.OPTIMIZERS)


@pytest.mark.parametrize("name", jol.OPTIMIZERS)
def test_messages_name_the_optimizer_called(name):
    """`adam(b1=2)` says "adam: `b1` ...", not the inner block's name."""
    kwargs = INNER_ARGUMENT[name]
    with pytest.raises(ValueError) as info:
        getattr(jol, name)(**kwargs)
    message = str(info.value)
    assert message.startswith(f"{name}: "), message
    bad = [k for k in kwargs if k not in ("learning_rate", "key")] or ["learning_rate"]
    assert f"`{bad[0]}`" in message, message


@pytest.mark.parametrize(
    "block, kwargs",
    [("scale_by_adam", dict(b1=2.0)), ("trace", dict(decay=2.0)),
     ("add_decayed_weights", dict(weight_decay=-1.0)),
     ("scale_by_learning_rate", dict(learning_rate=-1.0))],
)  # fmt: skip
def test_blocks_called_directly_name_themselves(block, kwargs):
    with pytest.raises(ValueError, match=rf"^{block}: "):
        getattr(jol, block)(**kwargs)


def test_update_errors_name_the_optimizer_too():
    """The blocks take their name when built, so `update` names `adam` as well."""
    opt = jol.adam(0.1)
    state = opt.init({"w": jnp.ones(3), "b": jnp.ones(2)})
    with pytest.raises(ValueError, match="^adam: the structure of `updates`"):
        opt.update({"w": jnp.ones(3)}, state)
