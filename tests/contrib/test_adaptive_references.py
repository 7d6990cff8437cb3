"""The adaptive-step methods against their authors' packages (torch), where installed.

These packages are not dependencies of the project: each test is skipped
unless its package (and torch) can be imported. They were run with
prodigyopt 1.1.2 and momo-opt 0.1.0 from PyPI (`pip install prodigyopt
momo-opt`). Each runs a small ill-conditioned quadratic for 50 float64
steps; the parameters must agree at every step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxopt_lessons import contrib

CURVATURE = np.geomspace(0.1, 10.0, 6)
X0 = np.linspace(-2.0, 2.0, 6)
STEPS = 50


def _loss(x, offset=0.0):
    return 0.5 * jnp.sum(CURVATURE * (x - 0.3) ** 2) + offset


def _torch_loss(torch, p, offset=0.0):
    return 0.5 * torch.sum(torch.tensor(CURVATURE) * (p - 0.3) ** 2) + offset


def _train(tx, x0, steps, loss, pass_value=True):
    x, state, out = x0, tx.init(x0), []
    update = jax.jit(tx.update)
    for _ in range(steps):
        value, grad = jax.value_and_grad(loss)(x)
        extra = {"value": value} if pass_value else {}
        u, state = update(grad, state, x, **extra)
        x = optax.apply_updates(x, u)
        out.append(np.asarray(x))
    return np.stack(out)


@pytest.mark.parametrize("name", ["momo", "momo_adam"])
def test_momo_matches_its_authors_package(name, x64):
    """50 steps against momo-opt (torch, float64), weight decay and the
    adaptive lower bound on. Skipped where momo-opt is not installed."""
    momo_ref = pytest.importorskip("momo")
    torch = pytest.importorskip("torch")
    lr, lam = (0.5, 0.1) if name == "momo" else (0.05, 0.1)
    p = torch.nn.Parameter(torch.tensor(X0, dtype=torch.float64))
    if name == "momo":
        ref = momo_ref.Momo(
            [p], lr=lr, weight_decay=lam, beta=0.9, lb=0.0, use_fstar=True
        )
        ours = contrib.momo(lr, 0.9, 0.0, lam, adapt_lower_bound=True)
    else:
        ref = momo_ref.MomoAdam([p], lr=lr, weight_decay=lam, lb=0.0, use_fstar=True)
        ours = contrib.momo_adam(lr, weight_decay=lam, adapt_lower_bound=True)
    expected = []
    for _ in range(STEPS):
        ref.zero_grad()
        value = _torch_loss(torch, p, 0.05)
        value.backward()
        ref.step(loss=value)
        expected.append(p.detach().numpy().copy())
    got = _train(ours, jnp.asarray(X0), STEPS, lambda x: _loss(x, 0.05))
    # momo-opt's MomoAdam keeps γ (the average of ⟨g, x⟩) in a float32
    # tensor (`torch.tensor(0.)`): once the lower bound it feeds decides the
    # step (from step 21 here), the two differ by float32 roundings.
    rtol, atol = (1e-10, 1e-12) if name == "momo" else (1e-5, 1e-6)
    np.testing.assert_allclose(got, np.stack(expected), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "weight_decay,safeguard_warmup", [(0.0, False), (0.1, False), (0.1, True)]
)
def test_prodigy_matches_its_authors_package(weight_decay, safeguard_warmup, x64):
    """prodigyopt with Optax's (and our) choices: bias correction on,
    decoupled weight decay, unbounded growth of d."""
    prodigyopt = pytest.importorskip("prodigyopt")
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.tensor(X0, dtype=torch.float64))
    ref = prodigyopt.Prodigy(
        [p],
        lr=1.0,
        weight_decay=weight_decay,
        decouple=True,
        use_bias_correction=True,
        safeguard_warmup=safeguard_warmup,
    )
    expected = []
    for _ in range(STEPS):
        ref.zero_grad()
        _torch_loss(torch, p).backward()
        ref.step()
        expected.append(p.detach().numpy().copy())
    ours = contrib.prodigy(
        1.0, weight_decay=weight_decay, safeguard_warmup=safeguard_warmup
    )
    got = _train(ours, jnp.asarray(X0), STEPS, _loss, pass_value=False)
    # The two sum ⟨g, x₀ − x⟩ and ‖s‖₁ in different orders; d's estimate
    # (a ratio of such sums) carries those roundings into every step.
    np.testing.assert_allclose(got, np.stack(expected), rtol=1e-7, atol=1e-10)
