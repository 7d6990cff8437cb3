"""States are Optax's: a run can switch between Optax and us at any step.

Every optimizer's state is built from Optax's own state classes, so its tree
structure, node types included, is the structure of the Optax optimizer of the
same name. A state made by `optax.X` is then a state of `jol.X` (and the other
way round): it can be the carry of a `lax.scan` that calls the other library's
`update`, and a checkpoint written from one restores into the other.

Each check below runs Optax for K steps, hands the state over, runs the other
library for K more steps, and compares with Optax run throughout (both
running, nothing pasted). `rprop` is the one rule that differs on purpose
(Optax's update lags one step; the states are the same): after the hand-over
to us it is compared with our own uninterrupted run.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax
import orbax.checkpoint as ocp
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import checkpoint as ckpt
from jaxopt_lessons.transforms import _states
from tests import helpers
from tests.optimizers import _family
from tests.reliability import training

K = 4  # steps before and after the hand-over

#: Settings under which each optimizer equals Optax's step for step (the
#: learning rates the parity tables use; adadelta with an explicit rate).
SETTINGS = {
    "adabelief": dict(learning_rate=0.01),
    "adadelta": dict(learning_rate=1.0, weight_decay=0.01),
    "adafactor": dict(min_dim_size_to_factor=2, momentum=0.9),
    "adagrad": dict(learning_rate=0.1),
    "adam": dict(learning_rate=0.01),
    "adamax": dict(learning_rate=0.01),
    "adamaxw": dict(learning_rate=0.01),
    "adamw": dict(learning_rate=0.01),
    "adan": dict(learning_rate=0.01),
    "amsgrad": dict(learning_rate=0.01),
    "fromage": dict(learning_rate=0.01),
    "lamb": dict(learning_rate=0.01),
    "lars": dict(learning_rate=0.1),
    "lbfgs": dict(),  # the default zoom line search; see `_extra_args`
    "lion": dict(learning_rate=0.01),
    "nadam": dict(learning_rate=0.01),
    "nadamw": dict(learning_rate=0.01),
    "noisy_sgd": dict(learning_rate=0.01, key=0),
    "novograd": dict(learning_rate=0.01),
    "optimistic_adam_v2": dict(learning_rate=0.01),
    "optimistic_gradient_descent": dict(learning_rate=0.01),
    "polyak_sgd": dict(),
    "radam": dict(learning_rate=0.01),
    "rmsprop": dict(learning_rate=0.01, centered=True, momentum=0.9),
    "rprop": dict(learning_rate=0.01),
    "sgd": dict(learning_rate=0.01, momentum=0.9),
    "sign_sgd": dict(learning_rate=0.01),
    "signum": dict(learning_rate=0.01),
    "sm3": dict(learning_rate=0.1),
    "yogi": dict(learning_rate=0.01),
}

#: Optimizers whose state layout differs from Optax's on purpose (none).
OWN_LAYOUT: dict[str, str] = {}

#: Update rules that differ from Optax's on purpose (same states).
OWN_RULE = {"rprop": "optax 0.2.8 returns the previous step's update (PR #1725)"}

VALUE = 1.5  # the loss handed to polyak_sgd


# ----------------------------------------------------------------------------
# Optimizers whose `update` evaluates the loss (L-BFGS's line search): they
# get the loss at the params, the gradient and the loss function. The
# gradients are the random ones of the other optimizers, not the loss's: both
# libraries see the same numbers, which is all a hand-over needs.
NEEDS_LOSS = {"lbfgs"}


def _extra_args(name, params, grad):
    if name in NEEDS_LOSS:
        loss = training.sum_of_squares
        return {"value": loss(params), "grad": grad, "value_fn": loss}
    return {"value": VALUE}


def _params(name):
    # Optax's SM3 cannot take a 0-d leaf.
    return (
        _family.small_tree_without_scalars if name == "sm3" else _family.small_tree
    )(jnp.float32)


def _pair(name):
    kwargs = SETTINGS[name]
    return (
        optax.with_extra_args_support(getattr(optax, name)(**kwargs)),
        optax.with_extra_args_support(getattr(jol, name)(**kwargs)),
    )


def test_settings_cover_every_optimizer():
    assert set(SETTINGS) == set(jol.OPTIMIZERS)


@pytest.mark.parametrize("name", jol.OPTIMIZERS)
def test_init_state_has_optax_tree_structure(name):
    """The same tree, with the same node types (state classes), as Optax's."""
    if name in OWN_LAYOUT:
        pytest.skip(OWN_LAYOUT[name])
    theirs, ours = _pair(name)
    params = _params(name)
    assert jax.tree.structure(ours.init(params)) == jax.tree.structure(
        theirs.init(params)
    )


def test_state_classes_are_optax_classes():
    """Each exported state class is Optax's, and is what Optax's block returns."""
    params = {"w": jnp.ones((3, 4))}
    made_by_optax = {
        "ScaleByOptimisticGradientState": optax.scale_by_optimistic_gradient(),
        "ScaleByRmsWithCountState": optax.scale_by_rms(bias_correction=True),
        "ScaleByRStdDevWithCountState": optax.scale_by_stddev(bias_correction=True),
        "WeightDecaySchedule": optax.add_decayed_weights(lambda count: 0.1),
        "FactoredState": optax.scale_by_factored_rms(),
    }
    for name, tx in made_by_optax.items():
        assert type(tx.init(params)) is getattr(_states, name), name
    for name in _states.__all__:
        cls = getattr(jol, name)
        assert cls is getattr(_states, name)
        if hasattr(optax, name):
            assert cls is getattr(optax, name), name
    assert jol.AddDecayedWeightsState is optax.EmptyState


HANDED_OVER = [n for n in jol.OPTIMIZERS if n not in OWN_LAYOUT]


def _scan(txs, params, states, grads):
    """K steps of each transform in `txs` (a dict), as one `lax.scan` whose
    carry holds every optimizer's params and state."""

    def step(carry, grad):
        params, states = carry
        new_params, new_states, updates = {}, {}, {}
        for name, tx in txs.items():
            updates[name], new_states[name] = tx.update(
                grad[name],
                states[name],
                params[name],
                **_extra_args(name, params[name], grad[name]),
            )
            new_params[name] = optax.apply_updates(params[name], updates[name])
        return (new_params, new_states), updates

    (params, states), updates = jax.lax.scan(step, (params, states), grads)
    return params, states, updates


@functools.cache
def _runs():
    """Optax throughout; Optax then us; us then Optax; us throughout (rprop).

    One compiled program for every optimizer. Each second half is a new scan
    whose initial carry is the other library's state: it traces only if our
    `update` returns exactly the node types it was given.
    """
    optaxes = {n: _pair(n)[0] for n in HANDED_OVER}
    ourses = {n: _pair(n)[1] for n in HANDED_OVER}
    params = {n: _params(n) for n in HANDED_OVER}
    grads = {n: helpers.random_grads(params[n], 2 * K) for n in HANDED_OVER}
    first = jax.tree.map(lambda g: g[:K], grads)
    second = jax.tree.map(lambda g: g[K:], grads)

    @functools.partial(jax.jit, compiler_options=training.FAST_COMPILE)
    def run(params):
        optax_states = {n: tx.init(params[n]) for n, tx in optaxes.items()}
        our_states = {n: tx.init(params[n]) for n, tx in ourses.items()}
        out = {}
        out["optax"] = _scan(optaxes, params, optax_states, grads)
        own = [n for n in ourses if n in OWN_RULE]  # references for rprop only
        out["ours"] = _scan(
            {n: ourses[n] for n in own},
            {n: params[n] for n in own},
            {n: our_states[n] for n in own},
            {n: grads[n] for n in own},
        )
        p, s, _ = _scan(optaxes, params, optax_states, first)
        out["optax->ours"] = _scan(ourses, p, s, second)
        out["optax@K"] = (p, s)
        p, s, _ = _scan(ourses, params, our_states, first)
        out["ours->optax"] = _scan(optaxes, p, s, second)
        return out

    return run(params)


def _assert_continues(got, want, names, what):
    """`got` (the second half) equals the last K steps of `want`."""
    tol = helpers.F32
    for name in names:
        g_params, g_state, g_updates = got
        w_params, w_state, w_updates = want
        assert jax.tree.structure(g_state[name]) == jax.tree.structure(w_state[name]), (
            f"{what} {name}: the state's tree structure changed"
        )
        helpers.assert_close_every_step(
            g_updates[name],
            jax.tree.map(lambda u: u[K:], w_updates[name]),
            tol,
            f"{what} {name} updates",
        )
        helpers.assert_close_every_step(
            jax.tree.map(lambda x: x[None], _family._keys_to_data(g_state[name])),
            jax.tree.map(lambda x: x[None], _family._keys_to_data(w_state[name])),
            tol,
            f"{what} {name} state",
        )
        if name in OWN_RULE:
            # The two runs' params parted in the first half, where one
            # library's updates lag: updates and states are what carry over.
            continue
        helpers.assert_close_every_step(
            jax.tree.map(lambda x: x[None], g_params[name]),
            jax.tree.map(lambda x: x[None], w_params[name]),
            _params_tolerance(tol, w_updates[name]),
            f"{what} {name} params",
        )


def _params_tolerance(tol, updates):
    """Parameters add up every step's rounding: widen atol by rtol·Σ|u|."""
    total = sum(float(jnp.sum(jnp.abs(u))) for u in jax.tree.leaves(updates))
    return helpers.Tolerance(tol.rtol, tol.atol + tol.rtol * total, tol.reason)


@pytest.mark.parametrize("name", HANDED_OVER)
def test_optax_state_continues_with_our_update(name):
    """K Optax steps, then K of ours (a `lax.scan` carrying Optax's state),
    equal Optax throughout (rprop: our own run throughout)."""
    runs = _runs()
    want = runs["ours"] if name in OWN_RULE else runs["optax"]
    _assert_continues(runs["optax->ours"], want, [name], "optax->ours")


@pytest.mark.parametrize("name", HANDED_OVER)
def test_our_state_continues_with_optax_update(name):
    """K of our steps, then K of Optax's, equal Optax throughout (for rprop
    too: Optax returns the step stored in the state, which is the same)."""
    runs = _runs()
    _assert_continues(runs["ours->optax"], runs["optax"], [name], "ours->optax")


def test_scan_carries_an_optax_state_through_our_update():
    """The carry of one `lax.scan` is Optax's state; the body is our update."""
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    grads = helpers.random_grads(params, 5)
    for name in ("adam", "sgd", "rmsprop", "adamw", "lion", "adafactor"):
        theirs, ours = _pair(name)

        def body(carry, g, ours=ours):
            p, s = carry
            u, s = ours.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        start = (params, theirs.init(params))
        (_, state), _ = jax.lax.scan(body, start, grads)
        assert jax.tree.structure(state) == jax.tree.structure(start[1]), name


# ----------------------------------------------------------------------------
# Checkpoints across the libraries.


def test_optax_checkpoint_restores_into_our_optimizer(tmp_path):
    """Optax's states after K steps, saved with orbax (`checkpoint.save_orbax`),
    restored with our `init` as the template, continue with our update."""
    runs = _runs()
    params, states = runs["optax@K"]
    directory = ckpt.save_orbax(tmp_path / "optax", {"params": params, "opt": states})
    ourses = {n: _pair(n)[1] for n in HANDED_OVER}
    like = {
        "params": params,
        "opt": {n: tx.init(params[n]) for n, tx in ourses.items()},
    }
    restored = ckpt.restore_orbax(directory, like)
    # The restored tree is the saved one, node types included.
    assert jax.tree.structure(restored["opt"]) == jax.tree.structure(states)
    training.assert_bitwise_equal(restored["opt"], states, "restored")
    grads = jax.tree.map(
        lambda g: g[K:],
        {n: helpers.random_grads(_params(n), 2 * K) for n in HANDED_OVER},
    )
    resumed = jax.jit(
        functools.partial(_scan, ourses), compiler_options=training.FAST_COMPILE
    )(restored["params"], restored["opt"], grads)
    for name in HANDED_OVER:
        want = runs["ours"] if name in OWN_RULE else runs["optax"]
        _assert_continues(resumed, want, [name], "optax checkpoint->ours")


def test_our_checkpoint_restores_into_optax(tmp_path):
    """Our Adam state, saved with orbax's StandardCheckpointer and restored
    with `optax.adam`'s `init` as the template, continues with Optax."""
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    grads = helpers.random_grads(params, 2 * K)
    theirs, ours = _pair("adam")

    def run(tx, state, grads, params=params):
        return jax.jit(functools.partial(_scan, {"adam": tx}))(
            {"adam": params}, {"adam": state}, {"adam": grads}
        )

    first = jax.tree.map(lambda g: g[:K], grads)
    second = jax.tree.map(lambda g: g[K:], grads)
    p, state, _ = run(ours, ours.init(params), first)
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(tmp_path / "ours", state["adam"])
    with ocp.StandardCheckpointer() as checkpointer:
        restored = checkpointer.restore(tmp_path / "ours", theirs.init(params))
    assert jax.tree.structure(restored) == jax.tree.structure(state["adam"])
    resumed = run(theirs, restored, second, params=p["adam"])
    _assert_continues(
        resumed,
        run(theirs, theirs.init(params), grads),
        ["adam"],
        "ours checkpoint->optax",
    )
