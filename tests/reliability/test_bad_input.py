"""Bad input, fuzzed: every public factory, every argument, drawn values.

Invalid hyperparameters raise ValueError or TypeError whose message names the
function, the argument and the value; valid ones build a transform that runs
`init` and `update`. In `update`, a tree that does not match the state and
mismatched shapes are reported by path; integer and bool params are refused.
The factories and their arguments come from `rules.py`.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.reliability import rules, training

# Drawing `key=None` or `seed=` for add_noise warns by design.
pytestmark = pytest.mark.filterwarnings(
    "ignore:add_noise:UserWarning", "ignore:add_noise:DeprecationWarning"
)

FACTORIES = rules.factories()
ARGUMENTS = [(f, p.name) for f in FACTORIES for p in f.parameters]

# Bounded and repeatable: the same examples on every run. Each example draws
# one value for every argument of the factory and tries them one at a time.
FUZZ = settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: the messages name the value, and a failing run stays short.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Regression cases: values that once slipped through or were reported under
# another name (an inner block's argument), each checked by name below and
# fuzzed like every other value: factory id -> argument -> (bad value, what
# went wrong before).
_RENAMED = "passed `{arg}` on to `{block}`, whose message named `{inner}` instead"
_MINUS_INF = "check_interval(fn, name, value, -inf, inf) let -inf through"


def _renamed(arg, block, inner, value=-1.0):
    return (value, _RENAMED.format(arg=arg, block=block, inner=inner))


REGRESSIONS = {
    "sgd": {
        "momentum": _renamed("momentum", "trace", "decay", 1.5),
        "accumulator_dtype": (
            jnp.int32,
            "without momentum, sgd never checked `accumulator_dtype`",
        ),
    },
    "rmsprop": {"momentum": _renamed("momentum", "trace", "decay")},
    "lars": {"momentum": _renamed("momentum", "trace", "decay")},
    "sm3": {"momentum": _renamed("momentum", "scale_by_sm3", "b1")},
    "signum": {"beta": _renamed("beta", "ema", "decay")},
    "polyak_sgd": {
        "scaling": _renamed("scaling", "sgd", "learning_rate"),
        "f_min": (-float("inf"), _MINUS_INF),
    },
    "scale_by_polyak": {"f_min": (-float("inf"), _MINUS_INF)},
    "adafactor": {
        "decay_offset": _renamed(
            "decay_offset", "scale_by_factored_rms", "step_offset"
        ),
        "eps": _renamed("eps", "scale_by_factored_rms", "epsilon"),
        "momentum": _renamed("momentum", "ema", "decay"),
        "clipping_threshold": _renamed(
            "clipping_threshold", "clip_by_block_rms", "threshold"
        ),
        "dtype_momentum": (
            jnp.int32,
            "without momentum, adafactor never checked `dtype_momentum`",
        ),
        "weight_decay_rate": _renamed(
            "weight_decay_rate", "add_decayed_weights", "weight_decay"
        ),
    },
    "scale": {"step_size": (-float("inf"), _MINUS_INF)},
    "radam": {"threshold": (-float("inf"), _MINUS_INF)},
    "scale_by_radam": {"threshold": (-float("inf"), _MINUS_INF)},
    "torch.sgd": {"dampening": (-float("inf"), _MINUS_INF)},
}
for _name in (
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "nadam",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
):
    REGRESSIONS.setdefault(f"torch.{_name}", {})["lr"] = (
        [0.1],
        "check_lr's message for a non-scalar showed its shape, not the value",
    )


def _update(tx):
    """`tx.update`, given a loss value (and function) when it takes extra args."""

    def update(grads, state, params):
        extra = training.extra_args(tx, params, grads, training.sum_of_squares)
        return tx.update(grads, state, params, **extra)

    return update


def test_every_argument_has_a_rule():
    """New factories must come with rules for their new argument names."""
    missing = [
        f"{f.id}.{name}" for f, name in ARGUMENTS if not rules.known_rule(f, name)
    ]
    assert not missing, (
        "arguments without a rule in tests/reliability/rules.py (add each to RULES "
        f"by name, or to OVERRIDES): {', '.join(missing)}"
    )
    for factory in FACTORIES:
        rules.base_kwargs(factory)  # every argument without a default has a value


def test_factories_are_found():
    ids = {f.id for f in FACTORIES}
    assert {"sgd", "adam", "trace", "scale_by_adam"} <= ids
    assert len(FACTORIES) >= 20


def assert_names_call(error, factory, name, value):
    """The message names the function, the argument and the value."""
    message = str(error)
    # Optimizers and blocks name themselves, never an inner block they are
    # built from (`adam(b1=2)` says "adam: ...", not "scale_by_adam: ...").
    functions = {factory.message_name}
    if factory.family == "torch":
        functions |= rules.block_names()
    head = message.split(":", 1)[0]
    assert head in functions, (
        f"{factory.id}({name}={value!r}) raised {type(error).__name__}: {message!r}; "
        f"it should start with {factory.message_name!r} and a colon"
    )
    assert re.search(rf"`{re.escape(name)}(\[\d\])?[`=]", message), (
        f"{factory.id}({name}={value!r}): the message does not name `{name}`: "
        f"{message!r}"
    )
    forms = rules.shown_forms(value)
    assert any(form in message for form in forms), (
        f"{factory.id}({name}={value!r}): the message does not show the value "
        f"(looked for {forms}): {message!r}"
    )


def _refused(factory, name, value):
    rules.TRIED["invalid"] += 1
    kwargs = rules.call_with(factory, name, value)
    try:
        factory.fn(**kwargs)
    except (ValueError, TypeError) as error:
        assert_names_call(error, factory, name, value)
    else:
        raise AssertionError(
            f"{factory.id}({name}={value!r}) did not raise. If this value is "
            "valid for this factory, give it its own rule in "
            "tests/reliability/rules.py (OVERRIDES)."
        )


def _not_default(factory, name):
    default = rules.default_of(factory, name)
    return lambda value: not rules.same_value(value, default)


def _fuzzed(factory, kind):
    """The factory's arguments whose rule has values of `kind`."""
    out = []
    for p in factory.parameters:
        rule = rules.rule_for(factory, p.name)
        if getattr(rule, kind) is not None:
            out.append((p.name, rule))
    return out


@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
@FUZZ
@given(data=st.data())
def test_invalid_hyperparameters_are_refused(factory, data):
    """Out-of-range values, NaN and inf (ValueError) and wrong types (TypeError
    is documented; either is accepted) are refused with a message that names
    the function, the argument and the value."""
    rules.FUZZED.add(factory.id)
    for kind in ("bad_values", "bad_types"):
        for name, rule in _fuzzed(factory, kind):
            strategy = getattr(rule, kind).filter(_not_default(factory, name))
            _refused(factory, name, data.draw(strategy, label=f"{kind} {name}"))


@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
@settings(FUZZ, max_examples=3)
@given(data=st.data())
def test_valid_hyperparameters_build_a_working_transform(factory, data):
    """Each drawn value alone builds the transform; all of them together build
    one whose `init` and `update` trace without error (traced, not run: every
    error JAX code raises is raised while tracing, and tracing skips the
    compilation that each new value would cost)."""
    drawn = {}
    for name, rule in _fuzzed(factory, "valid"):
        default = rules.default_of(factory, name)
        choices = rule.valid
        if default is not rules.inspect.Parameter.empty:
            choices = st.one_of(st.just(default), choices)
        drawn[name] = value = data.draw(choices, label=name)
        rules.TRIED["valid"] += 1
        try:
            factory.fn(**rules.call_with(factory, name, value))
        except Exception as error:
            raise AssertionError(
                f"{factory.id}({name}={value!r}) should work but raised "
                f"{type(error).__name__}: {error}"
            ) from error
    kwargs = rules.call_together(factory, drawn)
    try:
        tx = factory.fn(**kwargs)
        if factory.id in training.PER_EXAMPLE:  # gradients of one example
            tx = training.one_example_batch(tx)
        params, grads = rules.trees_for(factory)
        state = jax.eval_shape(tx.init, params)
        updates, _ = jax.eval_shape(_update(tx), grads, state, params)
    except Exception as error:
        raise AssertionError(
            f"{factory.id}(**{kwargs!r}) should work but raised "
            f"{type(error).__name__}: {error}"
        ) from error
    assert jax.tree.structure(updates) == jax.tree.structure(grads)


@pytest.mark.parametrize(
    "factory, name",
    [
        pytest.param(f, name, id=f"{f.id}.{name}")
        for f in FACTORIES
        for name in REGRESSIONS.get(f.id, {})
    ],
)
def test_regressions(factory, name):
    """Each value is refused, by this factory's name and argument."""
    _refused(factory, name, REGRESSIONS[factory.id][name][0])


# ----------------------------------------------------------------------------
# Joint rules: two arguments that are each valid but not together.

# Yogi's second moment starts at a positive `initial_accumulator_value`, so
# eps = eps_root = 0 cannot divide by zero.
JOINT_EXEMPT = {"scale_by_yogi"}


@pytest.mark.parametrize(
    "factory, kwargs",
    [
        pytest.param(f, kw, id=f"{f.id}-{'-'.join(kw)}")
        for f in FACTORIES
        for kw in ({"eps": 0.0, "eps_root": 0.0}, {"eps": 0.0, "initial_scale": 0.0})
        if set(kw) <= {p.name for p in f.parameters} and f.id not in JOINT_EXEMPT
    ],
)
def test_zero_eps_with_zero_eps_root_or_initial_scale(factory, kwargs):
    """Both terms that keep a division finite at 0: a zero gradient gives 0/0."""
    with pytest.raises(ValueError, match="cannot both be 0") as info:
        factory.fn(**rules.base_kwargs(factory), **kwargs)
    for name in kwargs:
        assert f"`{name}`" in str(info.value)
    other = {k: (1e-8 if k == "eps" else 0.0) for k in kwargs}
    factory.fn(**rules.base_kwargs(factory), **other)


@pytest.mark.parametrize(
    "factory",
    [
        f
        for f in FACTORIES
        if {"nesterov", "momentum"} <= {p.name for p in f.parameters}
        and rules.default_of(f, "momentum") in (None, 0)
    ],
    ids=repr,
)
def test_nesterov_without_momentum(factory):
    no_momentum = rules.default_of(factory, "momentum")
    with pytest.raises(ValueError, match="nesterov") as info:
        factory.fn(**rules.base_kwargs(factory), nesterov=True, momentum=no_momentum)
    assert "momentum" in str(info.value)


# ----------------------------------------------------------------------------
# update: trees, shapes and dtypes that do not match.


def _default_transform(factory):
    kwargs = rules.base_kwargs(factory)
    names = {p.name for p in factory.parameters}
    if "momentum" in names and rules.default_of(factory, "momentum") in (None, 0):
        kwargs["momentum"] = 0.9  # so that plain SGD has a state to match
    if "learning_rate" in names and rules.default_of(factory, "learning_rate") is None:
        kwargs["learning_rate"] = 0.1  # not the identity
    return factory.fn(**kwargs)


def _has_tree_state(state):
    """Whether the state holds per-parameter leaves (not only counters)."""
    return any(jnp.ndim(leaf) > 0 for leaf in jax.tree.leaves(state))


def _ours(error, factory):
    head = str(error).split(":", 1)[0]
    return head in {factory.message_name} | rules.block_names()


@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
def test_update_with_a_tree_that_does_not_match_the_state(factory):
    if factory.id in rules.UPDATE_CHECKS_DO_NOT_APPLY:
        pytest.skip(rules.UPDATE_CHECKS_DO_NOT_APPLY[factory.id])
    tx = _default_transform(factory)
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(rules.vector_shape(factory, 3))}
    state = tx.init(params)
    if not _has_tree_state(state):
        pytest.skip("stateless: there is no tree to match")
    missing = {"w": jnp.ones((2, 3))}
    with pytest.raises((ValueError, TypeError)) as info:
        _update(tx)(missing, state, missing)
    assert _ours(info.value, factory), f"not our message: {info.value}"
    assert "structure" in str(info.value) and "'b'" in str(info.value)


@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
def test_update_with_mismatched_shapes(factory):
    if factory.id in rules.UPDATE_CHECKS_DO_NOT_APPLY:
        pytest.skip(rules.UPDATE_CHECKS_DO_NOT_APPLY[factory.id])
    tx = _default_transform(factory)
    three, five = rules.vector_shape(factory, 3), rules.vector_shape(factory, 5)
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(three)}
    state = tx.init(params)
    if not _has_tree_state(state):
        pytest.skip("stateless: there is no shape to match")
    wrong = {"w": jnp.ones((2, 3)), "b": jnp.ones(five)}
    with pytest.raises((ValueError, TypeError)) as info:
        _update(tx)(wrong, state, wrong)
    message = str(info.value)
    assert _ours(info.value, factory), f"not our message: {message}"
    assert "['b']" in message and str(five) in message and str(three) in message, (
        message
    )


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_], ids=["int32", "bool"])
@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
def test_integer_and_bool_params_are_refused(factory, dtype):
    tx = _default_transform(factory)
    params = {"w": jnp.ones((2, 3)), "n": jnp.zeros(3, dtype)}
    grads = {"w": jnp.ones((2, 3)), "n": jnp.zeros(3, dtype)}
    with pytest.raises(TypeError) as info:
        state = tx.init(params)
        _update(tx)(grads, state, params)
    message = str(info.value)
    assert _ours(info.value, factory), f"not our message: {message}"
    assert "params['n']" in message and jnp.dtype(dtype).name in message, message
