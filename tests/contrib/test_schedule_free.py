"""Schedule-free SGD and AdamW: Optax's numbers, and the authors' warmup.

Without `warmup_steps`, ours and `optax.contrib` agree at every step
(`_against_optax`: updates, every state leaf, parameters; 60 steps; jitted
float32 with options, the `schedule_free` wrapper around other optimizers
and `inject_hyperparams`; the defaults also eagerly and in float64), and
`schedule_free_eval_params` gives Optax's evaluation point.

With `warmup_steps`, Optax 0.2.8 reads the warmup one step late for z's
step (its first step leaves z where it was). Ours follows the authors'
`SGDScheduleFree` and `AdamWScheduleFree` (PyPI package `schedulefree`
1.4.1), transcribed below in NumPy: 60 steps, jit and eager, float32 and
float64. When that package is installed, the transcription is also checked
against it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.contrib import _against_optax as A


def _wrapped(base_name, **base_kwargs):
    """`schedule_free` around `<library>.<base_name>`: ours around ours."""

    def build(module):
        library = jol if module is jol.contrib else optax
        base = getattr(library, base_name)(**base_kwargs)
        return module.schedule_free(base, base_kwargs["learning_rate"], b1=0.8)

    return A.Case(f"schedule_free({base_name})", build)


DEFAULTS = [
    A.call("schedule_free_adamw"),
    A.call("schedule_free_sgd", learning_rate=0.1),
]

GRID = DEFAULTS + [
    A.call("schedule_free_adamw", learning_rate=0.01, b1=0.5, b2=0.9, eps=1e-6,
           weight_decay=0.1, weight_lr_power=1.0),
    A.call("schedule_free_adamw", learning_rate=0.01, state_dtype=jnp.bfloat16),
    A.call("schedule_free_sgd", learning_rate=0.05, b1=1.0, weight_decay=0.01,
           weight_lr_power=0.0),
    _wrapped("adam", learning_rate=0.01),
    _wrapped("sgd", learning_rate=A.lr_schedule, momentum=0.5),
    A.injected("schedule_free_adamw", learning_rate=0.01, b1=0.8, b2=0.99,
               weight_decay=0.01),
]  # fmt: skip


def test_float32_grid_matches_optax():
    A.assert_cases_match_optax(GRID)


def test_float32_eager_defaults_match_optax():
    A.assert_cases_match_optax(DEFAULTS[:1], jit=False, steps=50)


def test_float64_defaults_match_optax(x64):
    A.assert_cases_match_optax(DEFAULTS, dtype=jnp.float64)


def test_eval_params_match_optax():
    params = A.two_leaves()
    grads = helpers.random_grads(params, 5)
    got = {}
    for module in (jol.contrib, optax.contrib):
        tx, y = module.schedule_free_adamw(0.1), params
        state = tx.init(y)
        for t in range(5):
            u, state = tx.update(jax.tree.map(lambda g, t=t: g[t], grads), state, y)
            y = optax.apply_updates(y, u)
        got[module] = module.schedule_free_eval_params(state, y)
    helpers.assert_close_every_step(
        jax.tree.map(lambda x: x[None], got[jol.contrib]),
        jax.tree.map(lambda x: x[None], got[optax.contrib]),
        helpers.F32,
        "eval params",
    )


def test_eval_params_find_the_state_inside_a_chain_and_refuse_others():
    tx = optax.chain(optax.clip(1.0), jol.contrib.schedule_free_sgd(0.1))
    params = jnp.ones(3)
    state = tx.init(params)
    np.testing.assert_allclose(
        jol.contrib.schedule_free_eval_params(state, params), 1.0
    )
    with pytest.raises(ValueError, match="^schedule_free_eval_params: `state` must"):
        jol.contrib.schedule_free_eval_params(optax.adam(0.1).init(params), params)


# ----------------------------------------------------------------------------
# Warmup: the authors' code, transcribed (schedulefree 1.4.1, train mode,
# r = 0; `p` is y).


def authors_step(kind, y, z, v, g, k, group):
    """One step of SGDScheduleFree / AdamWScheduleFree for one tensor.
    `group` holds lr, warmup_steps, b1 (their `momentum` / betas[0]), b2, eps,
    weight_decay, weight_lr_power, and the running lr_max and weight_sum."""
    warmup = group["warmup_steps"]
    sched = (k + 1) / warmup if k < warmup else 1.0
    lr = group["lr"] * sched
    group["lr_max"] = max(lr, group["lr_max"])
    weight = group["lr_max"] ** group["weight_lr_power"]
    group["weight_sum"] += weight
    ckp1 = weight / group["weight_sum"] if group["weight_sum"] else 0.0
    if kind == "adamw":
        b2 = group["b2"]
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2 ** (k + 1))) + group["eps"]
        step = g / denom + group["weight_decay"] * y
    else:
        step = g + group["weight_decay"] * y
    y = (1 - ckp1) * y + ckp1 * z
    y = y + lr * (group["b1"] * (1 - ckp1) - 1) * step
    z = z - lr * step
    return y, z, v


SETTINGS = {
    "adamw": dict(lr=0.02, warmup_steps=10, b1=0.9, b2=0.99, eps=1e-8,
                  weight_decay=0.01, weight_lr_power=2.0),
    "sgd": dict(lr=0.05, warmup_steps=7, b1=0.8, weight_decay=0.001,
                weight_lr_power=1.0),
}  # fmt: skip


def authors_trajectory(kind, params, grads):
    """y after every step, float64."""
    group = dict(SETTINGS[kind], lr_max=-1.0, weight_sum=0.0)
    y = np.asarray(params, np.float64)
    z, v, out = y.copy(), np.zeros_like(y), []
    for k, g in enumerate(np.asarray(grads, np.float64)):
        y, z, v = authors_step(kind, y, z, v, g, k, group)
        out.append(y)
    return np.stack(out)


def ours(kind, module=jol.contrib):
    s = SETTINGS[kind]
    common = dict(
        learning_rate=s["lr"],
        warmup_steps=s["warmup_steps"],
        b1=s["b1"],
        weight_decay=s["weight_decay"],
        weight_lr_power=s["weight_lr_power"],
    )
    if kind == "adamw":
        return module.schedule_free_adamw(b2=s["b2"], eps=s["eps"], **common)
    return module.schedule_free_sgd(**common)


def _trajectory(tx, dtype, jit, steps=60):
    params = jnp.asarray(np.linspace(-1.0, 1.0, 6), dtype)
    grads = helpers.random_grads(params, steps)
    _, _, ys = helpers.run_trajectory(tx, params, grads, jit=jit)
    return params, grads, np.asarray(ys, np.float64)


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "eager"])
def test_warmup_follows_the_authors_code_float32(kind, jit):
    params, grads, ys = _trajectory(ours(kind), jnp.float32, jit)
    np.testing.assert_allclose(
        ys, authors_trajectory(kind, params, grads), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
def test_warmup_follows_the_authors_code_float64(kind, x64):
    params, grads, ys = _trajectory(ours(kind), jnp.float64, True)
    np.testing.assert_allclose(
        ys, authors_trajectory(kind, params, grads), rtol=1e-12, atol=1e-13
    )


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
def test_optax_warmup_lags_one_step(kind, x64):
    """Optax 0.2.8's first step leaves the parameters where they were, and its
    trajectory is not the authors'."""
    params, grads, ys = _trajectory(ours(kind, optax.contrib), jnp.float64, True)
    np.testing.assert_array_equal(ys[0], params)
    assert not np.allclose(ys, authors_trajectory(kind, params, grads), rtol=1e-3)


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
def test_the_transcription_is_the_authors_package(kind):
    """Runs only where the PyPI package `schedulefree` is installed."""
    schedulefree = pytest.importorskip("schedulefree")
    torch = pytest.importorskip("torch")
    s = SETTINGS[kind]
    params = np.linspace(-1.0, 1.0, 6)
    grads = np.asarray(
        helpers.random_grads(jnp.asarray(params, jnp.float32), 60), np.float64
    )
    p = torch.nn.Parameter(torch.tensor(params, dtype=torch.float64))
    common = dict(
        lr=s["lr"],
        warmup_steps=s["warmup_steps"],
        weight_decay=s["weight_decay"],
        weight_lr_power=s["weight_lr_power"],
        foreach=False,
    )
    if kind == "adamw":
        opt = schedulefree.AdamWScheduleFree(
            [p], betas=(s["b1"], s["b2"]), eps=s["eps"], **common
        )
    else:
        opt = schedulefree.SGDScheduleFree([p], momentum=s["b1"], **common)
    opt.train()
    ys = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        ys.append(p.detach().numpy().copy())
    np.testing.assert_allclose(
        np.stack(ys), authors_trajectory(kind, params, grads), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize(
    "factory, kwargs, error, message",
    [
        ("schedule_free_adamw", {"b1": 0.0}, ValueError, "`b1` must lie in (0, 1]"),
        ("schedule_free_sgd", {"b1": 1.5}, ValueError, "`b1` must lie in [0, 1]"),
        ("schedule_free_sgd", {"warmup_steps": 0}, ValueError, "`warmup_steps` must be >= 1"),
        ("schedule_free_adamw", {"warmup_steps": 2.5}, TypeError, "`warmup_steps` must be None or an int"),
        ("schedule_free_adamw", {"weight_lr_power": -1.0}, ValueError, "`weight_lr_power`"),
        ("schedule_free_adamw", {"state_dtype": jnp.int32}, ValueError, "`state_dtype`"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_are_refused_at_construction(
    factory, kwargs, error, message
):
    with pytest.raises(error, match=r"^" + factory + ":") as info:
        getattr(jol.contrib, factory)(**kwargs)
    assert message in str(info.value)


def test_schedule_free_refuses_a_base_that_is_not_a_transformation():
    with pytest.raises(TypeError, match="^schedule_free: `base_optimizer` must be"):
        jol.contrib.schedule_free(0.1, 0.1)
