"""The presets' surface: signatures, argument checks, composition, and a few
torch rules checked by hand (those run without torch installed)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

import jaxopt_lessons.torch as presets
from tests import helpers
from tests.torch import harness

# torch class of each preset.
TORCH_NAMES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "muon": "Muon",
    "radam": "RAdam",
    "rprop": "Rprop",
}
TORCH_ONLY_FLAGS = ("foreach", "fused", "capturable", "differentiable")


def _torch():
    return pytest.importorskip(
        "torch",
        reason="comparing with torch.optim needs torch (pip install torch==2.13.0)",
    )


def test_every_torch_class_has_a_preset():
    assert set(presets.PRESETS) == set(TORCH_NAMES)


@pytest.mark.parametrize("name", sorted(TORCH_NAMES))
def test_signature_is_torchs(name):
    """Same arguments, order, kinds and defaults as the torch constructor."""
    torch = _torch()
    theirs = inspect.signature(getattr(torch.optim, TORCH_NAMES[name]).__init__)
    want = [
        (p.name, p.kind, p.default)
        for p in theirs.parameters.values()
        if p.name not in ("self", "params")
    ]
    got = [
        (p.name, p.kind, p.default)
        for p in inspect.signature(getattr(presets, name)).parameters.values()
    ]
    assert got == want


def test_import_does_not_import_torch():
    code = (
        "import sys, jaxopt_lessons.torch as t; t.adam(); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ---------------------------------------------------------------- arguments

BAD_ARGUMENTS = [
    ("sgd", dict(lr=-0.1), ValueError, r"sgd: `lr` must lie in \[0, inf\), got -0.1"),
    ("sgd", dict(lr=float("nan")), ValueError, "`lr` must lie in"),
    ("sgd", dict(lr=None), TypeError, "`lr` must be a number or a schedule"),
    ("sgd", dict(lr=np.ones(3)), ValueError, "`lr` must be a scalar or a schedule"),
    ("sgd", dict(momentum=-0.5), ValueError, "`momentum` must lie in"),
    ("sgd", dict(weight_decay=-1.0), ValueError, "`weight_decay` must lie in"),
    ("sgd", dict(dampening=float("inf")), ValueError, "`dampening` must lie in"),
    ("sgd", dict(nesterov=True), ValueError, "`nesterov=True` needs `momentum` > 0"),
    (
        "sgd",
        dict(momentum=0.9, dampening=0.1, nesterov=True),
        ValueError,
        "and `dampening` = 0, got momentum=0.9, dampening=0.1",
    ),
    ("sgd", dict(nesterov="yes"), TypeError, "`nesterov` must be True or False"),
    (
        "adam",
        dict(betas=(1.0, 0.999)),
        ValueError,
        r"`betas\[0\]` must lie in \[0, 1\)",
    ),
    ("adam", dict(betas=(0.9, -0.1)), ValueError, r"`betas\[1\]` must lie in \[0, 1\)"),
    ("adam", dict(betas=0.9), TypeError, "`betas` must be a pair"),
    ("adam", dict(eps=-1e-8), ValueError, "`eps` must lie in"),
    ("adam", dict(amsgrad=1), TypeError, "`amsgrad` must be True or False"),
    ("adam", dict(decoupled_weight_decay=None), TypeError, "`decoupled_weight_decay`"),
    ("adamw", dict(weight_decay=-0.01), ValueError, r"adamw: `weight_decay` must lie"),
    ("rmsprop", dict(alpha=-0.1), ValueError, "`alpha` must lie in"),
    ("rmsprop", dict(momentum=-1.0), ValueError, "`momentum` must lie in"),
    ("rmsprop", dict(centered="no"), TypeError, "`centered` must be True or False"),
    ("adagrad", dict(lr_decay=-1.0), ValueError, "`lr_decay` must lie in"),
    (
        "adagrad",
        dict(initial_accumulator_value=-1.0),
        ValueError,
        "`initial_accumulator_value` must lie in",
    ),
    ("adadelta", dict(rho=1.5), ValueError, r"`rho` must lie in \[0, 1\]"),
    ("adamax", dict(betas=(0.9, 1.0)), ValueError, r"`betas\[1\]` must lie in"),
    ("nadam", dict(momentum_decay=-4e-3), ValueError, "`momentum_decay` must lie in"),
    ("radam", dict(betas=(-0.1, 0.999)), ValueError, r"`betas\[0\]` must lie in"),
    ("rprop", dict(etas=(1.5, 1.2)), ValueError, r"0 < etas\[0\] < 1 < etas\[1\]"),
    ("rprop", dict(etas=(0.5, 0.9)), ValueError, r"0 < etas\[0\] < 1 < etas\[1\]"),
    ("rprop", dict(etas=(0.0, 1.2)), ValueError, r"`etas\[0\]` must be positive"),
    (
        "rprop",
        dict(step_sizes=(1.0, 0.1)),
        ValueError,
        r"step_sizes\[0\] <= step_sizes",
    ),
    ("rprop", dict(step_sizes=(-1.0, 1.0)), ValueError, r"`step_sizes\[0\]` must lie"),
]


@pytest.mark.parametrize(
    "name, kwargs, error, message",
    BAD_ARGUMENTS,
    ids=[f"{c[0]}-{','.join(c[1])}-{i}" for i, c in enumerate(BAD_ARGUMENTS)],
)
def test_rejects_bad_argument(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(presets, name)(**kwargs)


@pytest.mark.parametrize("name", sorted(set(TORCH_NAMES) - {"muon"}))
def test_torch_only_flags(name):
    """None and False are accepted; True is refused with the reason; other
    values are a TypeError. (torch.optim.Muon has none of these flags.)"""
    factory = getattr(presets, name)
    flags = [f for f in TORCH_ONLY_FLAGS if f in inspect.signature(factory).parameters]
    assert "foreach" in flags and "differentiable" in flags
    for flag in flags:
        factory(**{flag: False})
        factory(**{flag: None})
        with pytest.raises(ValueError, match=f"{name}: `{flag}` must be None or False"):
            factory(**{flag: True})
        with pytest.raises(TypeError, match=f"`{flag}` must be None or False"):
            factory(**{flag: "yes"})


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "nadam", "radam"])
def test_weight_decay_needs_params(name):
    tx = getattr(presets, name)(weight_decay=0.1)
    params = {"w": jnp.ones(3)}
    with pytest.raises(ValueError, match="needs the current `params`"):
        tx.update(params, tx.init(params))


def test_rejects_mismatched_updates():
    tx = presets.adam()
    state = tx.init({"w": jnp.ones(3)})
    with pytest.raises(ValueError, match="does not match the optimizer state"):
        tx.update({"v": jnp.ones(3)}, state)
    with pytest.raises(ValueError, match="has shape"):
        tx.update({"w": jnp.ones(4)}, state)


def test_rejects_integer_and_complex_params():
    with pytest.raises(TypeError, match="floating dtype"):
        presets.sgd().init({"w": jnp.ones(3, jnp.int32)})
    with pytest.raises(TypeError, match="split_real_and_imaginary"):
        presets.adam().init({"w": jnp.ones(3, jnp.complex64)})


# ----------------------------------------------------------- by hand (no torch)


def _steps(tx, grads, params):
    state = tx.init(params)
    out = []
    for g in grads:
        u, state = tx.update(g, state, params)
        params = optax.apply_updates(params, u)
        out.append(u)
    return out


def _close(a, b):
    np.testing.assert_allclose(
        a, b, rtol=helpers.BY_HAND.rtol, atol=helpers.BY_HAND.atol
    )


def test_sgd_dampening_spares_the_first_gradient():
    g1, g2 = jnp.array([1.0, -2.0]), jnp.array([3.0, 0.5])
    u1, u2 = _steps(presets.sgd(0.1, momentum=0.9, dampening=0.5), [g1, g2], g1)
    _close(u1, -0.1 * g1)  # b_1 = g_1, not (1 − τ)·g_1
    _close(u2, -0.1 * (0.9 * g1 + 0.5 * g2))


def test_rmsprop_applies_the_schedule_after_momentum():
    lr = lambda count: 0.1 / (1.0 + count)  # 0.1, then 0.05
    g1, g2 = jnp.array([1.0, -2.0]), jnp.array([3.0, 0.5])
    _, u2 = _steps(presets.rmsprop(lr, alpha=0.5, eps=0.0, momentum=0.9), [g1, g2], g1)
    v1 = 0.5 * g1**2
    v2 = 0.5 * v1 + 0.5 * g2**2
    buffer = 0.9 * g1 / jnp.sqrt(v1) + g2 / jnp.sqrt(v2)
    _close(u2, -0.05 * buffer)  # the whole buffer at the new rate


def test_adam_amsgrad_keeps_the_raw_maximum():
    g1, g2 = jnp.array([4.0]), jnp.array([0.1])
    _, u2 = _steps(
        presets.adam(0.1, betas=(0.5, 0.5), eps=0.0, amsgrad=True), [g1, g2], g1
    )
    m2 = 0.5 * (0.5 * g1) + 0.5 * g2
    v1, v2 = 0.5 * g1**2, 0.25 * g1**2 + 0.5 * g2**2
    n2 = jnp.maximum(v1, v2)  # raw v; the corrected v̂ would be v1/0.5 vs v2/0.75
    _close(u2, -0.1 / 0.75 * m2 / (jnp.sqrt(n2) / jnp.sqrt(0.75)))


def test_adagrad_eps_outside_root_and_lr_decay():
    g1, g2 = jnp.array([2.0, -0.5]), jnp.array([1.0, 1.0])
    u1, u2 = _steps(presets.adagrad(0.1, lr_decay=0.5, eps=0.25), [g1, g2], g1)
    _close(u1, -0.1 * g1 / (jnp.abs(g1) + 0.25))
    _close(u2, -0.1 / 1.5 * g2 / (jnp.sqrt(g1**2 + g2**2) + 0.25))


def test_nadam_first_step_uses_the_mu_schedule():
    g = jnp.array([2.0, -0.5])
    (u1,) = _steps(presets.nadam(0.1, eps=0.0, momentum_decay=0.5), [g], g)
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.5)
    mu2 = 0.9 * (1 - 0.5 * 0.96**1.0)
    denom = jnp.abs(g)  # √(v_1 / (1 − β₂)) = |g|
    m1 = 0.1 * g
    want = (
        -0.1 * (1 - mu1) / (1 - mu1) * g / denom
        - 0.1 * mu2 / (1 - mu1 * mu2) * m1 / denom
    )
    _close(u1, want)


def test_rprop_moves_on_the_first_step():
    g1, g2, g3 = jnp.array([1.0, -1.0]), jnp.array([2.0, 3.0]), jnp.array([1.0, 1.0])
    u1, u2, u3 = _steps(presets.rprop(0.1, etas=(0.5, 2.0)), [g1, g2, g3], g1)
    _close(u1, jnp.array([-0.1, 0.1]))  # Optax 0.2.8's first update is 0
    _close(
        u2, jnp.array([-0.2, 0.0])
    )  # kept sign: Δ doubles; flipped: Δ halves, no move
    _close(u3, jnp.array([-0.4, -0.05]))  # after the flip, the sign counts as new


def test_radam_plain_momentum_until_rho_exceeds_five():
    g = jnp.array([1.0, -2.0])
    updates = _steps(presets.radam(0.1, eps=0.0), [g] * 6, g)
    for u in updates[:5]:  # ρ_t ≤ 5: u = −η·m̂ = −η·g for a constant gradient
        _close(u, -0.1 * g)
    assert not np.allclose(updates[5], -0.1 * g)


# ---------------------------------------------------------- composition


def test_composes_inside_chain_against_torch(x64):
    """A clip before the preset: torch is fed the clipped gradients."""
    torch = _torch()
    params = harness.small_params(jnp.float64)
    kwargs = dict(lr=0.05, momentum=0.9, dampening=0.5, weight_decay=0.1)
    tx = optax.chain(optax.clip(0.5), presets.sgd(**kwargs))
    harness.assert_matches_torch(
        torch,
        tx,
        "SGD",
        kwargs,
        params,
        torch_grads=lambda g: jax.tree.map(lambda x: jnp.clip(x, -0.5, 0.5), g),
        state_fields=False,
    )


def test_eager_matches_torch(x64):
    """Without jax.jit: the same numbers, op by op."""
    torch = _torch()
    params = harness.small_params(jnp.float64)
    kwargs = dict(lr=0.05, momentum=0.9, dampening=0.5, nesterov=False, maximize=True)
    tx = presets.sgd(**kwargs)
    harness.assert_matches_torch(torch, tx, "SGD", kwargs, params, jit=False)


def test_param_groups_with_partition(x64):
    """torch's parameter groups are `optax.partition` here."""
    torch = _torch()
    params = harness.small_params(jnp.float64)
    labels = {"kernel": "a", "bias": "a", "scale": "b"}
    tx = optax.partition(
        {
            "a": presets.sgd(0.05, momentum=0.9, dampening=0.2),
            "b": presets.sgd(0.01, weight_decay=0.1),
        },
        labels,
    )
    grads = helpers.random_grads(params, harness.STEPS, 1)
    ours, _ = harness.our_trajectory(tx, params, grads)
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.tree.unflatten(treedef, list(range(len(leaves))))
    tensors = [torch.tensor(np.asarray(p)) for p in leaves]
    groups = [
        dict(
            params=[tensors[keys[k]] for k in ("kernel", "bias")],
            lr=0.05,
            momentum=0.9,
            dampening=0.2,
        ),
        dict(
            params=[tensors[keys[k]] for k in ("scale",)],
            lr=0.01,
            weight_decay=0.1,
        ),
    ]
    opt = torch.optim.SGD(groups, foreach=False)
    grad_leaves = [np.asarray(g) for g in jax.tree.leaves(grads)]
    for t in range(harness.STEPS):
        for tensor, g in zip(tensors, grad_leaves):
            tensor.grad = torch.tensor(g[t])
        opt.step()
    final = jax.tree.map(lambda h: h[-1], ours)
    for leaf, tensor in zip(jax.tree.leaves(final), tensors):
        np.testing.assert_allclose(leaf, tensor.numpy(), rtol=harness.F64.rtol)


def test_extra_args_are_accepted():
    """Every preset is an ExtraArgs transform: a chain may pass e.g. `value=`."""
    params = {"w": jnp.ones((3, 2))}  # a matrix: Muon takes nothing else
    for name in presets.PRESETS:
        tx = getattr(presets, name)()
        assert isinstance(tx, optax.GradientTransformationExtraArgs), name
        updates, _ = tx.update(params, tx.init(params), params, value=jnp.array(1.0))
        assert updates["w"].shape == (3, 2), name


INJECTED = [
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("sgd", dict(lr=0.05, momentum=0.0, dampening=0.5)),  # torch skips μ = 0
    ("rmsprop", dict(lr=0.01, momentum=0.9, alpha=0.9)),
    ("rmsprop", dict(lr=0.01, momentum=0.0)),
]


def test_inject_hyperparams_gives_the_same_steps():
    """Array hyperparameters (as `inject_hyperparams` passes them) take the same
    path as numbers, including a momentum of 0, for which torch keeps no buffer."""
    params = harness.small_params(jnp.float32)
    grads = helpers.random_grads(params, 20)
    txs = []
    for name, kwargs in INJECTED:
        factory = getattr(presets, name)
        txs += [optax.inject_hyperparams(factory)(**kwargs), factory(**kwargs)]
    runs = harness.our_trajectories(txs, params, grads)
    for i, (name, kwargs) in enumerate(INJECTED):
        injected, direct = runs[2 * i][0], runs[2 * i + 1][0]
        what = f"{name}({kwargs}) params"
        helpers.assert_close_every_step(injected, direct, helpers.F32, what)


def test_complex_params_like_torch(x64):
    """torch views a complex tensor as pairs of reals; so does
    `optax.contrib.split_real_and_imaginary` around a preset."""
    torch = _torch()
    params = harness.small_params(jnp.complex128)
    kwargs = dict(lr=0.01, weight_decay=0.1, amsgrad=True)
    tx = optax.contrib.split_real_and_imaginary(presets.adam(**kwargs))
    harness.assert_matches_torch(torch, tx, "Adam", kwargs, params, state_fields=False)


def test_abstract_init_and_stable_state_dtypes():
    """`init` works on shapes alone; bfloat16 params keep bfloat16 updates and
    a state whose dtypes do not change (no recompilation between steps)."""
    params = {"w": jax.ShapeDtypeStruct((3, 2), jnp.bfloat16)}
    dtypes = lambda tree: jax.tree.map(lambda x: jnp.dtype(x.dtype), tree)
    for name in presets.PRESETS:
        tx = getattr(presets, name)()
        state = tx.init(params)
        # Traced, not run: the output types are all this test needs.
        updates, new_state = jax.eval_shape(tx.update, params, state, params)
        assert updates["w"].dtype == jnp.bfloat16, name
        assert dtypes(new_state) == dtypes(state), name
