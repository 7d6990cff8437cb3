"""`scale_by_rprop` and `rprop`: the current step's update, pinned three ways.

Optax 0.2.8's rprop returns the step computed on the previous call (optax PR
#1725, open). Ours returns the current one, like the paper and
torch.optim.Rprop. Shown here: (1) steps by hand; (2) torch's trajectory, in
float64; (3) against Optax, the states agree at every step and our update at
step t is Optax's at step t + 1, while plain parity fails (a strict xfail,
which turns into an error once Optax is fixed).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.optimizers import _family


def test_three_steps_by_hand():
    lr, eta_minus, eta_plus = 0.1, 0.5, 1.2
    opt = jol.rprop(lr, eta_minus, eta_plus, min_step_size=0.03, max_step_size=0.11)
    grads = [jnp.array([1.0, -2.0, 0.0, 3.0]), jnp.array([2.0, 1.0, 5.0, -1.0]),
             jnp.array([-1.0, 1.0, -1.0, -1.0])]  # fmt: skip
    state = opt.init(grads[0])
    # Step 1: no history, every step size stays 0.1; u = −0.1 · sign(g).
    u, state = opt.update(grads[0], state)
    np.testing.assert_allclose(u, [-0.1, 0.1, 0.0, -0.1], rtol=1e-6)
    # Step 2: coordinate 0 kept its sign (Δ = min(0.12, 0.11)), 1 and 3 flipped
    # (Δ = 0.05, and no move), 2 had no history (Δ stays 0.1).
    u, state = opt.update(grads[1], state)
    np.testing.assert_allclose(u, [-0.11, 0.0, -0.1, 0.0], rtol=1e-6)
    np.testing.assert_allclose(state[0].step_sizes, [0.11, 0.05, 0.1, 0.05], rtol=1e-6)
    # Step 3: 0 flips (Δ = 0.055); 1 and 3 follow a skipped step (Δ kept);
    # 2 flips (Δ = 0.05).
    u, state = opt.update(grads[2], state)
    np.testing.assert_allclose(u, [0.0, -0.05, 0.0, 0.05], rtol=1e-6)
    np.testing.assert_allclose(
        state[0].step_sizes, [0.055, 0.05, 0.05, 0.05], rtol=1e-6
    )


def test_matches_torch_rprop(x64):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((40, 7)) * rng.choice([0.0, 1.0], (40, 7), p=[0.1, 0.9])
    grads += 0.3  # a drift, so that some signs hold for a while
    kwargs = dict(eta_minus=0.4, eta_plus=1.3, min_step_size=1e-3, max_step_size=0.5)
    opt = jol.rprop(0.05, **kwargs)
    params = jnp.zeros(7, jnp.float64)
    state = opt.init(params)
    update = jax.jit(opt.update)
    weight = torch.zeros(7, dtype=torch.float64, requires_grad=True)
    ref = torch.optim.Rprop([weight], lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-3, 0.5))
    for g in grads:
        u, state = update(jnp.asarray(g), state)
        params = optax.apply_updates(params, u)
        weight.grad = torch.from_numpy(g.copy())
        ref.step()
        np.testing.assert_allclose(
            params, weight.detach().numpy(), rtol=1e-12, atol=1e-14
        )


def test_same_states_as_optax_with_updates_one_step_earlier(jit):
    params = _family.small_tree()
    grads = helpers.random_grads(params, 30)
    ours = helpers.run_trajectory(jol.rprop(0.1), params, grads, jit=jit)
    ref = helpers.run_trajectory(optax.rprop(0.1), params, grads, jit=jit)
    helpers.assert_close_every_step(ours[1], ref[1], helpers.F32, "state")
    for u, r, g in zip(*(jax.tree.leaves(t) for t in (ours[0], ref[0], grads))):
        u, r, g = np.asarray(u), np.asarray(r), np.asarray(g)
        assert not r[0].any()  # Optax's first update is 0
        # Optax's update at t + 1 is ours at t, except where the sign flips
        # at t + 1: there Optax drops the stale step (our u_t has the sign of
        # −g_t, so a flip means g_{t+1} · u_t > 0).
        flipped = g[1:] * u[:-1] > 0
        np.testing.assert_allclose(r[1:], np.where(flipped, 0.0, u[:-1]), rtol=1e-6)


@pytest.mark.xfail(
    strict=True,
    reason="optax 0.2.8 rprop returns the previous step's update (optax PR #1725)",
)
def test_optax_rprop_lags_one_step():
    helpers.assert_same_trajectory(
        jol.rprop(0.1), optax.rprop(0.1), _family.small_tree(), steps=3, jit=False
    )


def test_validation():
    with pytest.raises(TypeError, match="rprop: `learning_rate` is the initial step"):
        jol.rprop(optax.constant_schedule(0.1))
    with pytest.raises(ValueError, match="rprop: `learning_rate` must lie"):
        jol.rprop(-0.1)
    with pytest.raises(ValueError, match=r"rprop: `eta_minus` must lie in \[0, 1\)"):
        jol.rprop(0.1, eta_minus=1.0)
    with pytest.raises(ValueError, match=r"rprop: `eta_plus` must lie in \[1, inf\)"):
        jol.rprop(0.1, eta_plus=0.9)
    with pytest.raises(ValueError, match="rprop: `min_step_size` must lie"):
        jol.rprop(0.1, min_step_size=-1.0)
    with pytest.raises(ValueError, match="`max_step_size` must be >= `min_step_size`"):
        jol.rprop(0.1, min_step_size=1.0, max_step_size=0.5)
    with pytest.raises(TypeError, match="complex parameters are not supported"):
        jol.rprop(0.1).init(jnp.ones(2, jnp.complex64))
