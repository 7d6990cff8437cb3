"""Where the adaptive-step methods differ from `optax.contrib` on purpose.

1. prodigy and dadapt_adamw estimate d as r / ‖s‖₁. When ‖s‖₁ = 0 (a warmup
   schedule that starts at 0, as the methods' authors recommend, or zero
   gradients) Optax computes 0/0 and d is NaN for the rest of the run. Here
   the estimate is skipped (d keeps its value; the authors' packages skip
   the whole step there): the first step of a warmup from 0 is zero, and
   the run goes on. Pinned: the first step, and that Optax continues our
   state exactly.
2. momo and momo_adam apply weight decay as the paper's proximal step,
   x ← (x − τ·d)/(1 + αλ); Optax divides only x. Pinned: the paper's rule
   written out here, over several steps; and against the authors' package
   momo-opt (test_adaptive_references.py).
3. reduce_on_plateau's improvement margin is rtol·|best|; Optax's
   (1 − rtol)·best has the wrong sign for a negative loss, which then never
   plateaus. Pinned: a negative loss and its mirror image give the same
   scales; for positive losses both agree with Optax (also in
   test_adaptive_parity.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

from jaxopt_lessons import contrib
from tests import helpers
from tests.optimizers import _family


def warmup(count):
    """A linear warmup from 0, the schedule the authors advise."""
    return optax.linear_schedule(0.0, 1.0, transition_steps=5)(count)


@pytest.mark.parametrize("name", ["prodigy", "dadapt_adamw"])
def test_a_warmup_from_zero_is_not_a_nan(name):
    params = _family.small_tree()
    grads = helpers.random_grads(params, 12)
    at = lambda t: jax.tree.map(lambda g: g[t], grads)  # noqa: E731
    ours = getattr(contrib, name)(learning_rate=warmup, weight_decay=0.1)
    theirs = getattr(optax.contrib, name)(learning_rate=warmup, weight_decay=0.1)
    update = jax.jit(ours.update)
    reference = jax.jit(theirs.update)

    # Optax: 0/0 at the first step, and d is NaN from then on.
    state = theirs.init(params)
    _, state = reference(at(0), state, params)
    assert np.isnan(state.estim_lr)

    # Here: η₀ = 0 gives a zero step and keeps d = d₀.
    state = ours.init(params)
    step, state = update(at(0), state, params)
    assert all(np.all(np.asarray(u) == 0) for u in jax.tree.leaves(step))
    assert state.estim_lr == np.float32(1e-6)
    assert int(state.count) == 1

    # From there, s ≠ 0, and Optax's rule continues our state step for step.
    p_ours = p_theirs = params
    s_ours = s_theirs = state
    for t in range(1, 12):
        u, s_ours = update(at(t), s_ours, p_ours)
        v, s_theirs = reference(at(t), s_theirs, p_theirs)
        p_ours, p_theirs = (
            optax.apply_updates(p_ours, u),
            optax.apply_updates(p_theirs, v),
        )
    for a, b in zip(
        jax.tree.leaves((p_ours, s_ours)), jax.tree.leaves((p_theirs, s_theirs))
    ):
        np.testing.assert_allclose(a, b, rtol=helpers.F32.rtol, atol=helpers.F32.atol)
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves((p_ours, s_ours)))


@pytest.mark.parametrize("name", ["prodigy", "dadapt_adamw"])
def test_zero_gradients_keep_d(name):
    params = _family.small_tree()
    tx = getattr(contrib, name)()
    state = tx.init(params)
    zeros = jax.tree.map(jnp.zeros_like, params)
    update = jax.jit(tx.update)
    for _ in range(3):
        step, state = update(zeros, state, params)
    assert state.estim_lr == np.float32(1e-6)
    assert all(np.all(np.asarray(u) == 0) for u in jax.tree.leaves(step))


def _scales(tx, values):
    state = tx.init(jnp.zeros(2))
    update = jax.jit(tx.update)
    out = []
    for v in values:
        _, state = update(jnp.ones(2), state, value=jnp.float32(v))
        out.append(float(state.scale))
    return out


def test_a_negative_loss_plateaus_like_a_positive_one():
    kwargs = dict(factor=0.5, patience=2)
    flat = [1.0] * 8
    ours_pos = _scales(contrib.reduce_on_plateau(**kwargs), flat)
    ours_neg = _scales(contrib.reduce_on_plateau(**kwargs), [-v for v in flat])
    theirs_pos = _scales(optax.contrib.reduce_on_plateau(**kwargs), flat)
    theirs_neg = _scales(optax.contrib.reduce_on_plateau(**kwargs), [-v for v in flat])
    # Positive losses: as Optax. A flat loss halves the scale every 2 calls.
    assert ours_pos == theirs_pos == [1, 1, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]
    # Negative: the same here; Optax sees an "improvement" every time.
    assert ours_neg == ours_pos
    assert theirs_neg == [1.0] * 8


def test_a_worsening_negative_loss_is_not_an_improvement():
    """−1, −0.9, −0.8, ...: rising, so the scale must drop after `patience`."""
    values = [-1.0 + 0.1 * k for k in range(6)]
    ours = _scales(contrib.reduce_on_plateau(factor=0.5, patience=2), values)
    assert ours == [1, 1, 0.5, 0.5, 0.25, 0.25]
    # and real progress below zero still counts as progress
    falling = [-1.0 - 0.1 * k for k in range(6)]
    assert (
        _scales(contrib.reduce_on_plateau(factor=0.5, patience=2), falling) == [1.0] * 6
    )


def _quadratic(x):
    return jnp.sum(jnp.arange(1.0, 4.0) * x**2)


def _momo_by_hand(x, steps, alpha, lam, beta, f_star):
    """MoMo (Schaipp et al. 2024, Algorithm 1 with weight decay), written out
    in NumPy float64 on `_quadratic`: f̄, d and γ start at the first values."""
    x = np.asarray(x, np.float64)
    curvature = np.arange(1.0, 4.0)
    out = []
    fbar = d = gamma = None
    for k in range(steps):
        f, g = np.sum(curvature * x**2), 2 * curvature * x
        rho = 0.0 if k == 0 else beta
        fbar = f if k == 0 else rho * fbar + (1 - rho) * f
        d = g if k == 0 else rho * d + (1 - rho) * g
        gamma = g @ x if k == 0 else rho * gamma + (1 - rho) * (g @ x)
        h = (1 + alpha * lam) * (fbar - f_star - gamma) + d @ x
        tau = min(alpha, max(h, 0.0) / (d @ d))
        x = (x - tau * d) / (1 + alpha * lam)
        out.append(x)
    return np.stack(out)


def test_momo_weight_decay_is_the_papers_proximal_step(x64):
    alpha, lam, beta, f_star = 1.0, 0.1, 0.9, 0.0
    x0 = jnp.asarray([1.0, 2.0, 3.0])
    tx = contrib.momo(alpha, beta, f_star, lam)
    theirs = optax.contrib.momo(alpha, beta, f_star, lam)

    def run(tx):
        x, state, out = x0, tx.init(x0), []
        update = jax.jit(tx.update)
        for _ in range(8):
            value, grad = jax.value_and_grad(_quadratic)(x)
            u, state = update(grad, state, x, value=value)
            x = optax.apply_updates(x, u)
            out.append(x)
        return np.stack(out)

    expected = _momo_by_hand(x0, 8, alpha, lam, beta, f_star)
    np.testing.assert_allclose(run(tx), expected, rtol=1e-12, atol=1e-14)
    # Optax's first step is already off by τ·d·αλ/(1 + αλ).
    assert not np.allclose(run(theirs)[0], expected[0], rtol=1e-3)
