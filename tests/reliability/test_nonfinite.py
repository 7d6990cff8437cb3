"""Non-finite gradients: every optimizer after `optax.zero_nans` and inside
`optax.apply_if_finite`.

Each optimizer runs as ``chain(zero_nans(), apply_if_finite(opt, 3))`` (the
composition `docs/reliability.md` recommends) while NaN and inf are injected
into its gradient at a few steps. A NaN entry becomes a zero gradient: the
run has exactly the bits of a run fed 0 there. An inf passes `zero_nans`, and
`apply_if_finite` skips that step: the run has exactly the bits of a run that
never saw it. No non-finite value reaches the params, and the loss still
falls. The last tests show each guard alone, and what happens with neither.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from tests.reliability import rules, training

STEPS = 14
INJECTED = {2: np.nan, 3: np.nan, 6: np.inf, 7: np.inf, 11: -np.inf}  # step -> value


@pytest.fixture(scope="module")
def runs():
    """(poisoned, clean): every optimizer with the injections, and without
    them (0 in place of each NaN, the inf steps left out)."""
    txs, step_all = training.every_optimizer()
    poisoned = [(INJECTED.get(t, 0.0), t in INJECTED) for t in range(STEPS)]
    clean = [
        (0.0, t in INJECTED)  # a zero where the NaN was ...
        for t in range(STEPS)
        if not np.isinf(INJECTED.get(t, 0.0))  # ... and no step where the inf was
    ]
    return (
        training.run(step_all, *training.start(txs), poisoned),
        training.run(step_all, *training.start(txs), clean),
    )


@pytest.mark.parametrize("factory", training.OPTIMIZERS, ids=repr)
def test_nan_is_zeroed_and_inf_is_skipped_exactly(factory, runs):
    (params, states, finite), (clean_params, clean_states, _) = runs
    name = factory.id
    assert finite[name], "a non-finite value reached the params"
    zero_nans_state, guard = states[name]
    skipped = sum(np.isinf(v) for v in INJECTED.values())
    assert int(guard.total_notfinite) == skipped
    assert int(guard.notfinite_count) == 0 and bool(guard.last_finite)
    training.assert_bitwise_equal(params[name], clean_params[name], "params")
    training.assert_bitwise_equal(
        guard.inner_state, clean_states[name][1].inner_state, "state"
    )
    assert training.loss(params[name]) < training.loss(training.initial_params())


def _adam():
    return training.make(
        next(f for f in rules.factories("optimizers") if f.id == "adam")
    )


def _train(tx, injected, steps=4, jit=False):
    update = jax.jit(training.step, static_argnums=0) if jit else training.step
    params = training.initial_params()
    state = tx.init(params)
    for t in range(steps):
        grads = training.poison(
            training.grads_of(params), injected.get(t, 0.0), t in injected
        )
        params, state = update(tx, params, state, grads)
    return params


def test_without_protection_one_nan_ruins_adam():
    """What the guards prevent: Adam's moments keep the NaN for ever."""
    params = _train(_adam(), {1: np.nan})
    assert bool(jnp.isnan(params["w"][0, 0]))


def test_zero_nans_alone_does_not_catch_inf():
    """An inf passes `zero_nans`, and Adam's inf / inf is NaN."""
    params = _train(optax.chain(optax.zero_nans(), _adam()), {1: np.inf})
    assert bool(jnp.isnan(params["w"][0, 0]))


def test_apply_if_finite_alone_skips_nan_steps():
    guarded = optax.apply_if_finite(_adam(), max_consecutive_errors=3)
    skipped = _train(guarded, {1: np.nan, 2: np.nan}, steps=5, jit=True)
    clean = _train(guarded, {}, steps=3, jit=True)
    training.assert_bitwise_equal(skipped, clean, "params")


def test_apply_if_finite_gives_up_after_max_consecutive_errors():
    """More bad steps in a row than allowed: the update is applied, NaN and all
    (the guard is for rare spikes, not for a diverged run)."""
    guarded = optax.apply_if_finite(_adam(), max_consecutive_errors=2)
    params = _train(guarded, {0: np.nan, 1: np.nan, 2: np.nan}, steps=3, jit=True)
    assert bool(jnp.isnan(params["w"][0, 0]))
