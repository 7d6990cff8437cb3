"""The learning-rate-free and adaptive-step methods against `optax.contrib`.

prodigy, dadapt_adamw, dog, dowg, mechanize, momo, momo_adam and
reduce_on_plateau, with their blocks, run side by side with Optax's
functions of the same names on the same random gradients
(`helpers.assert_same_trajectory`): the updates, every state leaf and the
parameters are compared at every step. The option grid (schedules,
`inject_hyperparams`, each option away from its default) runs jitted in
float32 for 60 steps; every method with its defaults runs eagerly in
float32 and jitted in float64 for 50 steps. All cases of a table compile as
one program (`_family.side_by_side`).

`scale_by_dog` and `scale_by_dowg` are compared with Optax's blocks of the
same names (`optax.contrib._dog`, not exported); the other `scale_by_*`
blocks have no Optax namesake and are checked through their optimizers
(each is its block negated) and against the block directly below.

Tolerance: `helpers.F32` / `helpers.F64`. Every global sum (norms, inner
products, ‖·‖₁) adds the leaves' partial sums in the tree's order with the
same XLA reductions as Optax, so most cases agree to the bit (measured:
15 of the 22 jitted float32 cases, 6 of the 8 float64 ones; the others
within 1.2e-7 absolute (float32) and 1.2e-13 relative (float64), except
the `proximal` cases, whose corrected reference adds and subtracts c·x
again: within 5e-7 absolute). Run eagerly, XLA fuses nothing, and MoMo's
h = (1 + αλ)(f̄ − f* − γ) + ⟨d, x⟩, which cancels γ against ⟨d, x⟩,
magnifies a one-ulp difference: the worst leaf used 0.45 of the float32
tolerance.

Where the two differ on purpose (a 0/0 that Optax turns into a NaN step
size, reduce_on_plateau with a negative loss), the cases here stay away from
it; `test_adaptive_fixes.py` pins the right behaviour. MoMo's weight decay
(the paper's proximal step, not Optax's) is compared with Optax's update
corrected by the documented formula (`proximal`), so everything else, the
step size τ and the state included, is still Optax's to the tolerance.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest
from optax.contrib import _dog as optax_dog

import jaxopt_lessons as jol
from jaxopt_lessons import contrib
from tests import helpers
from tests.optimizers import _family

# Losses fed as `value=`: a constant makes reduce_on_plateau see a plateau
# (and reduce), and gives MoMo a gap to its lower bound; the others ignore it.
VALUE = {"value": 2.0}


def lr_schedule(count):
    return optax.linear_schedule(0.2, 1.0, transition_steps=20)(count)


def small_lr_schedule(count):
    return optax.exponential_decay(0.05, transition_steps=10, decay_rate=0.7)(count)


def matrices(params):
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


def same(name, **kwargs):
    """A case: `name` from jaxopt_lessons.contrib and optax.contrib, same kwargs."""
    shown = ",".join(f"{k}={_family._show(v)}" for k, v in kwargs.items())
    return (
        f"{name}({shown})",
        lambda: getattr(contrib, name)(**kwargs),
        lambda: getattr(optax.contrib, name)(**kwargs),
    )


def injected(name, **kwargs):
    """The case under `optax.inject_hyperparams` (hyperparameters in the state)."""
    case_id, _, _ = same(name, **kwargs)
    return (
        f"inject({case_id})",
        lambda: optax.inject_hyperparams(getattr(contrib, name))(**kwargs),
        lambda: optax.inject_hyperparams(getattr(optax.contrib, name))(**kwargs),
    )


def block(name, step, **kwargs):
    """A block followed by scale(-step), against Optax's unexported block."""
    case_id, _, _ = same(name, **kwargs)
    return (
        f"{case_id}*-{step}",
        lambda: optax.chain(getattr(contrib, name)(**kwargs), jol.scale(-step)),
        lambda: optax.chain(getattr(optax_dog, name)(**kwargs), optax.scale(-step)),
    )


def proximal(name, **kwargs):
    """momo or momo_adam with weight decay, against Optax's with its update
    corrected to the paper's proximal step (the one deliberate difference):
    Optax's u = −c·x − τ·d, c = αλ/(1 + αλ), becomes
    (u + c·x)/(1 + αλ) − c·x = −(αλ·x + τ·d)/(1 + αλ). A constant α only."""
    case_id, ours, _ = same(name, **kwargs)
    alpha, decay = kwargs["learning_rate"], kwargs["weight_decay"]
    shrink = 1 + alpha * decay
    c = alpha * decay / shrink

    def corrected():
        tx = getattr(optax.contrib, name)(**kwargs)

        def update_fn(updates, state, params=None, **extra):
            u, state = tx.update(updates, state, params, **extra)
            return jax.tree.map(
                lambda v, x: (v + c * x) / shrink - c * x, u, params
            ), state

        return optax.GradientTransformationExtraArgs(tx.init, update_fn)

    return f"proximal:{case_id}", ours, corrected


def mechanized(base, **kwargs):
    """mechanize around the optimizer `base` of each library."""
    name, base_kwargs = base
    shown = ",".join(f"{k}={v}" for k, v in {**base_kwargs, **kwargs}.items())
    return (
        f"mechanize({name}({shown}))",
        lambda: contrib.mechanize(getattr(jol, name)(**base_kwargs), **kwargs),
        lambda: optax.contrib.mechanize(getattr(optax, name)(**base_kwargs), **kwargs),
    )


DEFAULTS = [
    same("prodigy"),
    same("dadapt_adamw"),
    same("dog"),
    same("dowg"),
    mechanized(("adam", {"learning_rate": 1.0})),
    same("momo"),
    same("momo_adam"),
    (
        "adam+reduce_on_plateau()",
        lambda: optax.chain(jol.adam(0.05), contrib.reduce_on_plateau()),
        lambda: optax.chain(optax.adam(0.05), optax.contrib.reduce_on_plateau()),
    ),
]

# Each method away from its defaults (the defaults run eagerly and in float64).
GRID = [
    same("prodigy", learning_rate=lr_schedule, betas=(0.5, 0.9), beta3=0.8,
         eps=1e-6, estim_lr0=1e-4, estim_lr_coef=2.0, weight_decay=0.1),
    same("prodigy", learning_rate=0.5, safeguard_warmup=True, weight_decay=0.01),
    injected("prodigy", learning_rate=lr_schedule, weight_decay=0.01),
    same("dadapt_adamw", learning_rate=lr_schedule, betas=(0.5, 0.9), eps=1e-6,
         estim_lr0=1e-3, weight_decay=0.1),
    same("dog", learning_rate=small_lr_schedule, init_step=("distance", 1e-3),
         eps=1e-6, weight_decay=0.01),
    same("dog", init_step=("learning_rate", 0.01), weight_decay=0.1, mask=matrices),
    injected("dog", learning_rate=0.5),
    same("dowg", learning_rate=small_lr_schedule, init_estim_sq_dist=1e-2,
         eps=1e-6, weight_decay=0.01, mask=matrices),
    mechanized(("sgd", {"learning_rate": 0.1, "momentum": 0.9}), weight_decay=0.0,
               eps=1e-6, s_init=1e-4, num_betas=3),
    mechanized(("lion", {"learning_rate": 0.1}), weight_decay=0.1, num_betas=8),
    same("momo", learning_rate=small_lr_schedule, beta=0.5, lower_bound=0.5),
    proximal("momo", learning_rate=0.5, beta=0.5, lower_bound=0.5, weight_decay=0.1),
    proximal("momo", learning_rate=0.1, weight_decay=0.01, lower_bound=1.9,
             adapt_lower_bound=True),
    injected("momo", learning_rate=0.3, beta=0.8),
    same("momo_adam", learning_rate=small_lr_schedule, b1=0.5, b2=0.9, eps=1e-6,
         lower_bound=0.5),
    proximal("momo_adam", learning_rate=0.05, b1=0.5, b2=0.9, lower_bound=0.5,
             weight_decay=0.1),
    proximal("momo_adam", learning_rate=0.1, weight_decay=0.01, lower_bound=1.9,
             adapt_lower_bound=True),
    injected("momo_adam", learning_rate=0.05),
    (
        "sgd+reduce_on_plateau(patience=3,cooldown=2,factor=0.5,min_scale=0.2)",
        lambda: optax.chain(
            jol.sgd(0.01),
            contrib.reduce_on_plateau(factor=0.5, patience=3, cooldown=2, min_scale=0.2),
        ),
        lambda: optax.chain(
            optax.sgd(0.01),
            optax.contrib.reduce_on_plateau(
                factor=0.5, patience=3, cooldown=2, min_scale=0.2
            ),
        ),
    ),
    (
        "sgd+reduce_on_plateau(patience=2,accumulation_size=3,rtol=0,atol=0.1)",
        lambda: optax.chain(
            jol.sgd(0.01),
            contrib.reduce_on_plateau(patience=2, accumulation_size=3, rtol=0.0, atol=0.1),
        ),
        lambda: optax.chain(
            optax.sgd(0.01),
            optax.contrib.reduce_on_plateau(
                patience=2, accumulation_size=3, rtol=0.0, atol=0.1
            ),
        ),
    ),
    block("scale_by_dog", 0.5, init_step=("learning_rate", 0.1), eps=1e-4),
    block("scale_by_dowg", 0.5, init_estim_sq_dist=1e-3, eps=1e-3),
]  # fmt: skip


def three_leaves(dtype=jnp.float32):
    """A matrix, a vector and a 0-d leaf, nested: enough for every global sum
    to add leaves of several ranks in the tree's order, and a quarter less to
    compile than `_family.small_tree`."""
    tree = _family.small_tree(dtype)
    return {"dense": tree["dense"], "pair": [tree["pair"][1]]}


def chunks(cases, size=12):
    return [cases[i : i + size] for i in range(0, len(cases), size)]


def assert_match(cases, *, jit=True, dtype=jnp.float32, steps=60):
    """Every case against Optax's at every step: updates, state leaves, params.

    Eagerly (`jit=False`), only our side runs eagerly; Optax's runs jitted,
    which the tolerance covers (jit against eager alone differs by about
    1e-7): Optax's `lax.cond`s, traced anew at every eager call, would cost
    most of the test's time.
    """
    ids = [c[0] for c in cases]
    assert len(set(ids)) == len(ids), "duplicate cases"
    ours = _family.side_by_side({case_id: build() for case_id, build, _ in cases})
    ref = _family.side_by_side({case_id: build() for case_id, _, build in cases})
    params = {case_id: three_leaves(dtype) for case_id in ids}
    tol = helpers.tolerance_for(jnp.finfo(dtype).dtype)
    if jit:
        helpers.assert_same_trajectory(
            ours, ref, params, steps=steps, tol=tol, extra_args=VALUE
        )
        return
    grads = helpers.random_grads(params, steps)
    got = helpers.run_trajectory(ours, params, grads, jit=False, extra_args=VALUE)
    want = helpers.run_trajectory(ref, params, grads, jit=True, extra_args=VALUE)
    helpers.assert_close_every_step(got[0], want[0], tol, "updates")
    helpers.assert_close_every_step(got[1], want[1], tol, "state")
    drift = jax.tree.map(
        lambda u: tol.rtol * np.cumsum(np.abs(np.asarray(u, np.float64)), axis=0),
        want[0],
    )
    helpers.assert_close_every_step(got[2], want[2], tol, "params", extra_atol=drift)


F32_GRID = chunks(GRID)


@pytest.mark.parametrize("cases", F32_GRID, ids=[c[0][0] for c in F32_GRID])
def test_float32_grid_matches_optax(cases):
    assert_match(cases)


def test_float32_eager_defaults_match_optax():
    assert_match(DEFAULTS, jit=False, steps=50)


def test_float64_defaults_match_optax(x64):
    assert_match(DEFAULTS, dtype=jnp.float64, steps=50)


def test_states_are_optax_classes():
    """A state made by Optax's optimizer is a state of ours: same classes,
    same tree, so one continues the other's run."""
    params = three_leaves()
    for case_id, ours, ref in DEFAULTS:
        a, b = ours().init(params), ref().init(params)
        assert jax.tree.structure(a) == jax.tree.structure(b), case_id
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            assert x.dtype == y.dtype and x.shape == y.shape, case_id
            np.testing.assert_array_equal(x, y, err_msg=case_id)


def test_the_blocks_are_their_optimizers_negated():
    """prodigy = −scale_by_prodigy (same state), and so on."""
    params = _family.small_tree()
    grads = jax.tree.map(lambda g: g[0], helpers.random_grads(params, 1))
    pairs = {
        "prodigy": {"weight_decay": 0.1},
        "dadapt_adamw": {"weight_decay": 0.1},
        "momo": {"weight_decay": 0.1},
        "momo_adam": {"weight_decay": 0.1},
    }
    for name, kwargs in pairs.items():
        opt, blk = (
            getattr(contrib, name)(**kwargs),
            getattr(contrib, "scale_by_" + name)(**kwargs),
        )
        state = opt.init(params)
        u, s = opt.update(grads, state, params, **VALUE)
        v, t = blk.update(grads, blk.init(params), params, **VALUE)
        for x, y in zip(
            jax.tree.leaves((u, s)), jax.tree.leaves((jax.tree.map(jnp.negative, v), t))
        ):
            np.testing.assert_array_equal(x, y, err_msg=name)


#: The names this file covers: contrib's learning-rate-free and adaptive-step
#: methods and reduce_on_plateau.
ADAPTIVE_OPTIMIZERS = (
    "dadapt_adamw",
    "dog",
    "dowg",
    "mechanize",
    "momo",
    "momo_adam",
    "prodigy",
)
ADAPTIVE_TRANSFORMS = (
    "reduce_on_plateau",
    "scale_by_dadapt_adamw",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_momo",
    "scale_by_momo_adam",
    "scale_by_prodigy",
)


def test_every_name_has_a_case():
    covered = {case_id.removeprefix("inject(").split("(")[0] for case_id, _, _ in GRID}
    covered |= {"reduce_on_plateau", "mechanize"}
    blocks_via_optimizer = {
        f"scale_by_{n}" for n in ("prodigy", "dadapt_adamw", "momo", "momo_adam")
    }
    mine = set(ADAPTIVE_OPTIMIZERS) | set(ADAPTIVE_TRANSFORMS)
    assert mine - covered - blocks_via_optimizer == set()


@pytest.mark.parametrize(
    "name",
    [
        *ADAPTIVE_OPTIMIZERS,
        "reduce_on_plateau",
        "scale_by_dog",
        "scale_by_dowg",
    ],
)
def test_same_signature_as_optax(name):
    """Argument names, order, kinds and defaults are Optax's."""
    theirs = getattr(optax.contrib, name, None) or getattr(optax_dog, name)
    ours = inspect.signature(getattr(contrib, name)).parameters
    ref = inspect.signature(theirs).parameters
    assert list(ours) == list(ref)
    for arg in ref:
        assert ours[arg].kind == ref[arg].kind, arg
        assert ours[arg].default == ref[arg].default, arg
