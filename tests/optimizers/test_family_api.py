"""The family is a drop-in for Optax: signatures, defaults, state layout, wrappers."""

import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests.optimizers import _family

OPTIMIZERS = [
    "lion", "radam", "yogi", "adabelief", "lamb", "lars", "adafactor", "novograd",
    "sm3", "sign_sgd", "signum", "noisy_sgd", "rprop", "fromage", "adan",
    "adadelta", "polyak_sgd", "optimistic_gradient_descent", "optimistic_adam_v2",
]  # fmt: skip
BLOCKS = [
    "scale_by_lion", "scale_by_radam", "scale_by_yogi", "scale_by_belief",
    "scale_by_trust_ratio", "scale_by_factored_rms", "scale_by_novograd",
    "scale_by_sm3", "scale_by_sign", "add_noise", "scale_by_rprop", "scale_by_adan",
    "scale_by_adadelta", "scale_by_polyak", "scale_by_optimistic_gradient", "clip",
    "clip_by_global_norm", "clip_by_block_rms", "adaptive_grad_clip",
    "scale_by_param_block_rms",
]  # fmt: skip


@pytest.mark.parametrize("name", OPTIMIZERS + BLOCKS)
def test_same_arguments_kinds_and_defaults_as_optax(name):
    ours = inspect.signature(getattr(jol, name)).parameters
    theirs = inspect.signature(getattr(optax, name)).parameters
    assert list(ours) == list(theirs), f"{name}: arguments differ"
    for arg, param in theirs.items():
        mine = ours[arg]
        assert mine.kind == param.kind, f"{name}({arg}): kind differs"
        if inspect.isfunction(param.default):  # factored_rms: decay_rate_fn
            steps = jnp.arange(5)
            np.testing.assert_allclose(
                mine.default(steps, 0.8), param.default(steps, 0.8)
            )
        else:
            assert mine.default == param.default, (
                f"{name}({arg}): default {mine.default!r} vs {param.default!r}"
            )


def _build(module, name):
    if name == "polyak_sgd":
        return module.polyak_sgd()
    if name == "noisy_sgd":
        return module.noisy_sgd(0.1, key=0)
    if name == "adafactor":
        return module.adafactor(min_dim_size_to_factor=2)
    return getattr(module, name)(0.1)


def _fields(state):
    nodes = jax.tree.leaves(state, is_leaf=lambda x: hasattr(x, "_fields"))
    return [getattr(s, "_fields", None) for s in nodes]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_has_optax_layout(name):
    params = (
        _family.small_tree_without_scalars()
        if name == "sm3"
        else (_family.small_tree())
    )
    ours, ref = _build(jol, name), _build(optax, name)
    assert isinstance(ours, optax.GradientTransformationExtraArgs)
    ours_state, ref_state = ours.init(params), ref.init(params)
    ours_leaves, ref_leaves = jax.tree.leaves(ours_state), jax.tree.leaves(ref_state)
    assert [(x.shape, x.dtype) for x in ours_leaves] == [
        (x.shape, x.dtype) for x in ref_leaves
    ]
    # Same NamedTuple fields in the same places: optax.tree.get/set work alike.
    assert _fields(ours_state) == _fields(ref_state)


def test_state_values_can_be_read_with_optax_tree_get():
    params = _family.small_tree()
    opt = jol.lion(0.1)
    state = opt.init(params)
    _, state = opt.update(params, state, params)
    mu = optax.tree.get(state, "mu")
    assert jax.tree.structure(mu) == jax.tree.structure(params)


def test_public_lists_hold_the_family():
    assert set(OPTIMIZERS) <= set(jol.OPTIMIZERS)
    assert set(BLOCKS) <= set(jol.TRANSFORMS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jol.noisy_sgd(0.1, key=0)  # no warning when a key is given


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_works_inside_inject_hyperparams(name):
    """Hyperparameters become traced state: no Python decision may read them."""
    params = _family.small_tree_without_scalars()
    kwargs = {"polyak_sgd": {}, "noisy_sgd": {"key": 0}}.get(name, {})
    if name != "polyak_sgd":
        kwargs["learning_rate"] = 0.1
    # Shapes and keys cannot be traced (Optax's own test does the same).
    static = {"noisy_sgd": ("key",), "adafactor": ("min_dim_size_to_factor",)}
    static = static.get(name, ())
    injected = optax.inject_hyperparams(getattr(jol, name), static_args=static)(
        **kwargs
    )
    plain = getattr(jol, name)(**kwargs)
    extra = {"value": 1.0} if name == "polyak_sgd" else {}
    u_injected, _ = injected.update(params, injected.init(params), params, **extra)
    u_plain, _ = plain.update(params, plain.init(params), params, **extra)
    for a, b in zip(jax.tree.leaves(u_injected), jax.tree.leaves(u_plain)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bfloat16_params_give_bfloat16_updates_and_stable_state(name):
    params = jax.tree.map(
        lambda p: p.astype(jnp.bfloat16), _family.small_tree_without_scalars()
    )
    opt = _build(jol, name)
    state = opt.init(params)
    extra = {"value": 1.0} if name == "polyak_sgd" else {}
    updates, new_state = opt.update(params, state, params, **extra)
    assert all(u.dtype == jnp.bfloat16 for u in jax.tree.leaves(updates))
    assert jax.tree.map(lambda x: x.dtype, state) == jax.tree.map(
        lambda x: x.dtype, new_state
    )
