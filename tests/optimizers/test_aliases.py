"""The public API is a drop-in for Optax: same signatures, defaults and state layout."""

import inspect

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers

FOUNDATION_OPTIMIZERS = [
    "sgd", "rmsprop", "adam", "adamw", "nadam", "nadamw",
    "adamax", "adamaxw", "amsgrad", "adagrad",
]  # fmt: skip
FOUNDATION_BLOCKS = [
    "trace", "ema", "scale_by_rms", "scale_by_stddev", "scale_by_rss", "scale_by_adam",
    "scale_by_amsgrad", "scale_by_adamax", "scale", "scale_by_learning_rate",
    "scale_by_schedule", "add_decayed_weights",
]  # fmt: skip
# Arguments we add on purpose (keyword-only, defaulting to Optax's behaviour).
OUR_EXTRAS = {"nu_dtype"}


def _optax_signature(name):
    ref = getattr(optax, name)
    if isinstance(ref, __import__("functools").partial):  # nadam, nadamw
        return inspect.signature(ref)
    return inspect.signature(ref)


@pytest.mark.parametrize("name", FOUNDATION_OPTIMIZERS + FOUNDATION_BLOCKS)
def test_same_arguments_and_defaults_as_optax(name):
    ours = inspect.signature(getattr(jol, name)).parameters
    theirs = _optax_signature(name).parameters
    ours_shared = [p for p in ours if p not in OUR_EXTRAS]
    assert ours_shared == list(theirs), f"{name}: argument order differs"
    for arg, param in theirs.items():
        mine = ours[arg]
        assert mine.kind == param.kind, (
            f"{name}({arg}): kind {mine.kind} vs {param.kind}"
        )
        assert mine.default == param.default or (mine.default is param.default), (
            f"{name}({arg}): default {mine.default!r} vs {param.default!r}"
        )
    for extra in OUR_EXTRAS & set(ours):
        assert ours[extra].kind == inspect.Parameter.KEYWORD_ONLY
        assert ours[extra].default is None


def test_public_lists_are_complete():
    for name in FOUNDATION_OPTIMIZERS:
        assert name in jol.OPTIMIZERS
    for name in FOUNDATION_BLOCKS:
        assert name in jol.TRANSFORMS
    for name in jol.__all__:
        assert hasattr(jol, name), name


@pytest.mark.parametrize("name", FOUNDATION_OPTIMIZERS)
def test_optimizers_are_optax_transforms_with_optax_state_layout(name):
    params = helpers.mixed_tree()
    ours, ref = getattr(jol, name)(0.1), getattr(optax, name)(0.1)
    assert isinstance(ours, optax.GradientTransformationExtraArgs)
    ours_state, ref_state = ours.init(params), ref.init(params)
    ours_leaves, ref_leaves = jax.tree.leaves(ours_state), jax.tree.leaves(ref_state)
    assert [x.shape for x in ours_leaves] == [x.shape for x in ref_leaves]
    assert [x.dtype for x in ours_leaves] == [x.dtype for x in ref_leaves]

    # Same NamedTuple field names, so optax.tree.get / set work on our states.
    def fields(state):
        return [
            type(s).__name__ + ":" + ",".join(getattr(s, "_fields", ()))
            for s in jax.tree.leaves(state, is_leaf=lambda x: hasattr(x, "_fields"))
        ]

    assert [f.split(":")[1] for f in fields(ours_state)] == [
        f.split(":")[1] for f in fields(ref_state)
    ]


def test_optax_tree_utilities_work_on_our_state():
    params = {"w": jnp.ones(3)}
    opt = jol.adam(0.1)
    state = opt.init(params)
    _, state = opt.update({"w": jnp.ones(3)}, state, params)
    nu = optax.tree.get(state, "nu")
    assert nu["w"].shape == (3,)
    state = optax.tree.set(state, nu={"w": jnp.zeros(3)})
    assert float(optax.tree.get(state, "nu")["w"].sum()) == 0.0


def test_flat_import_works_in_a_training_loop():
    # The README's example, run for a few steps on a least-squares problem.
    x = jnp.linspace(-1, 1, 16)[:, None]
    y = 3.0 * x[:, 0] - 1.0
    params = {"w": jnp.zeros((1,)), "b": jnp.zeros(())}

    def loss(p):
        return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)

    opt = jol.adam(0.1)
    state = opt.init(params)

    @jax.jit
    def step(params, state):
        grads = jax.grad(loss)(params)
        updates, state = opt.update(grads, state, params)
        return jol.apply_updates(params, updates), state

    start = loss(params)
    for _ in range(200):
        params, state = step(params, state)
    assert loss(params) < 1e-3 * start
