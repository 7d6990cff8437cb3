"""Non-finite gradients: our optimizers inside `optax.apply_if_finite` and after
`optax.zero_nans`.

A NaN or inf gradient is injected at a few steps of a short training run. With
`apply_if_finite` the poisoned steps are skipped: no NaN reaches the params
and the run ends with exactly the bits of a run that never saw those steps.
With `zero_nans` the NaN entries become zero gradients, exactly as if the
gradient had been zero there. Without either, one NaN ruins the run; the last
tests show it, so that the protection is seen to matter.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tests.reliability import training

STEPS = 16
POISONED = {3: np.nan, 4: np.nan, 9: np.inf}  # step -> value injected


def poison(grads, value):
    """The gradient with one entry of each leaf replaced by `value`."""
    return jax.tree.map(
        lambda g: g.reshape(-1).at[0].set(value).reshape(g.shape), grads
    )


@pytest.fixture(scope="module")
def apply_if_finite_runs():
    """Every optimizer, wrapped, trained twice: with the poisoned steps, and
    without them. One compiled program steps all optimizers at once (about a
    third of the compile time of one program each)."""
    txs = {
        f.id: optax.apply_if_finite(training.make(f), max_consecutive_errors=3)
        for f in training.OPTIMIZERS
    }

    @jax.jit
    def step_all(params, states, value, poisoned):
        new_params, new_states, finite = {}, {}, {}
        for name, tx in txs.items():
            grads = training.grads_of(params[name])
            grads = jax.lax.cond(
                poisoned, lambda g: poison(g, value), lambda g: g, grads
            )
            new_params[name], new_states[name] = training.step(
                tx, params[name], states[name], grads
            )
            finite[name] = jnp.all(
                jnp.stack(
                    [
                        jnp.all(jnp.isfinite(p))
                        for p in jax.tree.leaves(new_params[name])
                    ]
                )
            )
        return new_params, new_states, finite

    def run(skip_poisoned):
        params = {name: training.initial_params() for name in txs}
        states = {name: tx.init(params[name]) for name, tx in txs.items()}
        always_finite = dict.fromkeys(txs, True)
        for t in range(STEPS):
            if t in POISONED and skip_poisoned:
                continue
            params, states, finite = step_all(
                params, states, POISONED.get(t, 0.0), t in POISONED
            )
            for name in txs:
                always_finite[name] &= bool(finite[name])
        return params, states, always_finite

    return run(skip_poisoned=False), run(skip_poisoned=True)


@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_apply_if_finite_skips_poisoned_steps_exactly(factory, apply_if_finite_runs):
    (params, states, finite), (clean_params, clean_states, _) = apply_if_finite_runs
    name = factory.id
    assert finite[name], "a non-finite value reached the params"
    state = states[name]
    assert int(state.total_notfinite) == len(POISONED)
    assert int(state.notfinite_count) == 0 and bool(state.last_finite)
    # Skipping a step leaves params and inner state untouched, so the run is
    # the run without those steps, bit for bit.
    training.assert_bitwise_equal(params[name], clean_params[name], "params")
    training.assert_bitwise_equal(
        state.inner_state, clean_states[name].inner_state, "state"
    )
    assert training.loss(params[name]) < training.loss(training.initial_params())


@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_zero_nans_turns_nan_entries_into_zero_gradients(factory):
    """Run op by op (four steps are cheaper than compiling each optimizer)."""
    tx = optax.chain(optax.zero_nans(), training.make(factory))
    plain = training.make(factory)
    params = ref_params = training.initial_params()
    state, ref_state = tx.init(params), plain.init(ref_params)
    found = []
    for t in range(4):
        grads = training.grads_of(params)
        zeroed = grads
        if t in (1, 2):
            grads = poison(grads, np.nan)
            zeroed = poison(zeroed, 0.0)
        params, state = training.step(tx, params, state, grads)
        ref_params, ref_state = training.step(plain, ref_params, ref_state, zeroed)
        found.append(state[0].found_nan)
    assert [bool(f["w"]) for f in found] == [False, True, True, False]
    assert all(bool(jnp.all(jnp.isfinite(p))) for p in jax.tree.leaves(params))
    training.assert_bitwise_equal(params, ref_params, "params")
    training.assert_bitwise_equal(state[1], ref_state, "state")


def test_without_protection_one_nan_ruins_adam():
    """What the wrappers prevent: Adam's moments keep the NaN forever."""
    from tests.reliability import rules

    adam = next(f for f in rules.factories("optimizers") if f.id == "adam")
    tx = training.make(adam)
    params = training.initial_params()
    state = tx.init(params)
    for t in range(5):
        grads = training.grads_of(params)
        params, state = training.step(
            tx, params, state, poison(grads, np.nan) if t == 1 else grads
        )
    assert bool(jnp.isnan(params["w"][0, 0]))  # the poisoned entry never recovers


def test_zero_nans_does_not_catch_inf():
    """An inf gradient passes `zero_nans`, and Adam's inf / inf is NaN:
    use `apply_if_finite` (or both) when overflow is possible."""
    from tests.reliability import rules

    adam = next(f for f in rules.factories("optimizers") if f.id == "adam")
    tx = optax.chain(optax.zero_nans(), training.make(adam))
    params = training.initial_params()
    state = tx.init(params)
    params, state = training.step(
        tx, params, state, poison(training.grads_of(params), np.inf)
    )
    assert bool(jnp.isnan(params["w"][0, 0]))
    safe = optax.chain(optax.zero_nans(), optax.apply_if_finite(training.make(adam), 3))
    params = training.initial_params()
    state = safe.init(params)
    params, state = training.step(
        safe, params, state, poison(training.grads_of(params), np.inf)
    )
    training.assert_bitwise_equal(params, training.initial_params(), "params")
