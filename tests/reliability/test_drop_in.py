"""Drop-in details: what Optax accepts is accepted, and misuse gets a clear message.

- Hyperparameters may be real scalars of any dtype (Python, NumPy or JAX;
  bfloat16, float16, integers): their value is checked, not their dtype.
- `add_decayed_weights` passes None updates through, as Optax does.
- Gradients may hold Python floats, in every optimizer and block.
- Stateless transforms compare the updates with the params they are given,
  so a gradient tree with a key missing fails in `update`, by name, instead
  of in `apply_updates` as a raw JAX error.
- `update` given something that is not its state (arguments swapped, params
  or a string in the state's place) says what it expected and what it got.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests.reliability import rules, training

FACTORIES = rules.factories("optimizers", "transforms", "contrib")
PARAMS = {"w": jnp.asarray([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), "b": jnp.ones(3)}
GRADS = {"w": jnp.asarray([[0.1, 0.2, -0.3], [0.0, -1.0, 2.0]]), "b": -jnp.ones(3)}


#: Factories these checks cannot apply to, with the reason.
NOT_A_PARAMS_TREE = {
    "contrib.dpsgd": "takes per-example gradients (a batch axis on every leaf)",
    "contrib.differentially_private_aggregate": (
        "takes per-example gradients (a batch axis on every leaf)"
    ),
}
MATRICES_ONLY = {
    "contrib.scale_by_muon": "orthogonalises matrices: a 0-d leaf is refused",
}


def _skip_if_not_applicable(factory, *tables):
    for table in tables:
        if factory.id in table:
            pytest.skip(table[factory.id])


def _build(factory):
    """The factory with its required arguments; plain SGD stays plain."""
    kwargs = rules.base_kwargs(factory)
    names = {p.name for p in factory.parameters}
    if "key" in names:
        kwargs["key"] = 0
    if "learning_rate" in names and rules.default_of(factory, "learning_rate") is None:
        kwargs["learning_rate"] = 0.1
    return factory.fn(**kwargs)


def _update(tx, grads, state, params):
    extra = training.extra_args(tx, params, grads, training.sum_of_squares)
    return tx.update(grads, state, params, **extra)


# ----------------------------------------------------------------------------
# Hyperparameters: any real scalar.

REAL_DTYPES = [jnp.float32, jnp.bfloat16, jnp.float16, np.float64]
SCALAR_FORMS = {
    "jax": lambda v, d: jnp.asarray(v, d),
    "numpy-0d": lambda v, d: np.asarray(v, d),
    "numpy-scalar": lambda v, d: np.dtype(d).type(v),
}


@pytest.mark.parametrize("form", SCALAR_FORMS)
@pytest.mark.parametrize("dtype", REAL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_real_scalars_of_any_float_dtype_are_numbers(form, dtype):
    make = SCALAR_FORMS[form]
    tx = jol.adam(make(0.5, dtype), b1=make(0.5, dtype), b2=make(0.875, dtype))
    state = tx.init(PARAMS)
    updates, _ = tx.update(GRADS, state, PARAMS)
    reference = optax.adam(0.5, b1=0.5, b2=0.875)
    expected, _ = reference.update(GRADS, reference.init(PARAMS), PARAMS)
    for got, want in zip(jax.tree.leaves(updates), jax.tree.leaves(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    # Their values are still checked.
    with pytest.raises(ValueError, match=r"adam: `b2` must lie in \[0, 1\), got"):
        jol.adam(0.1, b2=make(1.0, dtype))
    with pytest.raises(ValueError, match=r"adam: `learning_rate` must lie in"):
        jol.adam(make(-0.5, dtype))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, jnp.uint8, np.int64])
def test_integer_scalars_are_numbers(dtype):
    tx = jol.sgd(np.asarray(1, dtype), momentum=jnp.asarray(0, dtype))
    updates, _ = tx.update(GRADS, tx.init(PARAMS), PARAMS)
    np.testing.assert_array_equal(updates["b"], jnp.ones(3))
    with pytest.raises(ValueError, match=r"sgd: `momentum` must lie in \[0, 1\)"):
        jol.sgd(0.1, momentum=jnp.asarray(2, dtype))


def test_bools_and_complex_numbers_are_still_refused():
    with pytest.raises(TypeError, match="adam: `b1` must be a real number"):
        jol.adam(0.1, b1=jnp.asarray(True))
    with pytest.raises(TypeError, match="adam: `b1` must be a real number"):
        jol.adam(0.1, b1=jnp.asarray(0.9 + 0j))


def test_inject_hyperparams_with_bfloat16_and_float32_arrays():
    """The example of the report: mixed float32 and bfloat16 0-d arrays."""
    kwargs = dict(b1=jnp.array(0.9, jnp.float32), b2=jnp.asarray(0.95, jnp.bfloat16))
    ours = optax.inject_hyperparams(jol.scale_by_adam)(**kwargs)
    theirs = optax.inject_hyperparams(optax.scale_by_adam)(**kwargs)
    got, got_state = ours.update(GRADS, ours.init(PARAMS), PARAMS)
    want, want_state = theirs.update(GRADS, theirs.init(PARAMS), PARAMS)
    for a, b in zip(
        jax.tree.leaves((got, got_state)), jax.tree.leaves((want, want_state))
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6)


# ----------------------------------------------------------------------------
# add_decayed_weights and None updates.


@pytest.mark.parametrize(
    "weight_decay", [0.1, optax.linear_schedule(0.1, 0.0, 10)], ids=["const", "sched"]
)
@pytest.mark.parametrize(
    "updates",
    [None, {"w": None, "b": jnp.full(3, 0.5)}],
    ids=["all-none", "subtree-none"],
)
def test_add_decayed_weights_passes_none_through_like_optax(weight_decay, updates):
    ours = jol.add_decayed_weights(weight_decay)
    theirs = optax.add_decayed_weights(weight_decay)
    got, got_state = ours.update(updates, ours.init(PARAMS), PARAMS)
    want, want_state = theirs.update(updates, theirs.init(PARAMS), PARAMS)
    assert jax.tree.structure(got, is_leaf=lambda x: x is None) == jax.tree.structure(
        want, is_leaf=lambda x: x is None
    )
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b)
    assert jax.tree.structure(got_state) == jax.tree.structure(want_state)
    for a, b in zip(jax.tree.leaves(got_state), jax.tree.leaves(want_state)):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# Python floats as gradient leaves.

TREE = {"w": jnp.asarray([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), "s": jnp.asarray(0.5)}
FLOAT_GRADS = {"w": jnp.asarray([[0.1, 0.2, -0.3], [0.0, -1.0, 2.0]]), "s": 0.25}


@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
def test_python_float_gradient_leaves(factory):
    """A Python float among the gradients gives what the same value as a
    0-d array gives (Optax's adam, sgd, ... accept them too)."""
    _skip_if_not_applicable(factory, NOT_A_PARAMS_TREE, MATRICES_ONLY)
    tx = _build(factory)
    state = tx.init(TREE)
    got = _update(tx, FLOAT_GRADS, state, TREE)
    as_arrays = jax.tree.map(jnp.asarray, FLOAT_GRADS)
    want = _update(tx, as_arrays, state, TREE)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        if jnp.issubdtype(jnp.result_type(b), jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# Stateless transforms: the updates against the params.


def _holds_arrays(state):
    return any(jnp.ndim(leaf) > 0 for leaf in jax.tree.leaves(state))


STATELESS = [f for f in FACTORIES if not _holds_arrays(_build(f).init(PARAMS))]


def test_stateless_transforms_are_found():
    ids = {f.id for f in STATELESS}
    assert {
        "sgd",
        "scale",
        "scale_by_learning_rate",
        "clip",
        "add_decayed_weights",
    } <= ids


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("factory", STATELESS, ids=repr)
def test_stateless_update_checks_the_updates_against_params(factory, jit):
    _skip_if_not_applicable(factory, NOT_A_PARAMS_TREE)
    tx = _build(factory)
    state = tx.init(PARAMS)

    def update(grads):
        return _update(tx, grads, state, PARAMS)

    update = jax.jit(update) if jit else update
    with pytest.raises(ValueError) as info:
        update({"w": GRADS["w"]})
    message = str(info.value)
    assert message.startswith(f"{factory.message_name}: the structure of `updates`")
    assert "missing from updates: ['b']" in message
    with pytest.raises(ValueError) as info:
        update({"w": GRADS["w"], "b": jnp.ones(5)})
    message = str(info.value)
    assert message.startswith(f"{factory.message_name}: the update at ['b']"), message
    assert "(5,)" in message and "(3,)" in message
    # The right tree passes, with or without jit.
    updates, _ = update(GRADS)
    assert jax.tree.structure(updates) == jax.tree.structure(PARAMS)


def test_the_check_adds_nothing_to_the_program():
    """Structure and shapes are read at trace time: the jaxpr is Optax's."""
    for ours, theirs in [
        (jol.scale(0.1), optax.scale(0.1)),
        (jol.sgd(0.1), optax.sgd(0.1)),
    ]:
        jaxprs = [
            str(jax.make_jaxpr(tx.update)(GRADS, tx.init(PARAMS), PARAMS))
            for tx in (ours, theirs)
        ]
        assert jaxprs[0] == jaxprs[1]


# ----------------------------------------------------------------------------
# Something else in the state's place.


@pytest.mark.parametrize("factory", FACTORIES, ids=repr)
def test_update_refuses_what_is_not_its_state(factory):
    tx = _build(factory)
    state = tx.init(PARAMS)
    expected = f"{factory.message_name}: `state` must be the state returned by this "
    cases = {
        "swapped": lambda: tx.update(state, GRADS),
        "a string": lambda: _update(tx, GRADS, "state", PARAMS),
        "the params": lambda: _update(tx, GRADS, PARAMS, PARAMS),
    }
    for what, call in cases.items():
        if what == "a string" and isinstance(state, optax.EmptyState):
            # A stateless block never reads its state: it refuses only a state
            # holding arrays (the gradients or params in the wrong place).
            assert call() is not None
            continue
        with pytest.raises(TypeError) as info:
            call()
        message = str(info.value)
        assert message.startswith(expected), f"{what}: {message}"
        assert "got " in message and "swapped" in message, f"{what}: {message}"
