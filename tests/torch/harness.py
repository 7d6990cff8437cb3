"""Runs torch.optim and a preset side by side on the same gradients.

The parameters are a few tensors of different shapes; the gradients are fixed
random draws (`helpers.random_grads`), set by hand as `.grad` before each
torch step, so no autograd is involved and both sides see the same numbers.
The parameters are compared at every step, and the optimizer state at the
end, field by field: the presets name their state fields after the keys of
torch's per-parameter state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tests import helpers

STEPS = 100

# float64: the same rule in the same precision. The few operations done in a
# different order (an update added once where torch edits θ twice in place;
# XLA's fusion) round differently, and 100 steps accumulate that. Measured
# use of this tolerance over the grid: at most 3e-5 of it.
F64 = helpers.Tolerance(
    1e-10, 1e-12, "float64, torch's rule, rounding order may differ"
)
# float32: torch forms its scalar factors (bias corrections, lr/(1-βᵗ)) in
# Python doubles and rounds them once; ours are float32 computations.
# Measured use over the grid: at most 0.13 of it (NAdam).
F32 = helpers.Tolerance(
    1e-5, 1e-6, "float32, torch's rule; torch forms scalar factors in double"
)


def tolerance(dtype) -> helpers.Tolerance:
    return F64 if jnp.dtype(dtype) in (jnp.float64, jnp.complex128) else F32


def small_params(dtype, seed: int = 0) -> dict:
    """Three tensors: a matrix, a vector and a scalar."""
    rng = np.random.default_rng(seed)
    shapes = {"kernel": (2, 3), "bias": (4,), "scale": ()}

    def draw(shape):
        x = rng.standard_normal(shape)
        if jnp.issubdtype(dtype, jnp.complexfloating):
            x = x + 1j * rng.standard_normal(shape)
        return jnp.asarray(x, dtype)

    return {k: draw(s) for k, s in shapes.items()}


def default_lr(torch, name: str) -> float:
    """The default `lr` of `torch.optim.<name>`."""
    signature = inspect.signature(getattr(torch.optim, name).__init__)
    return signature.parameters["lr"].default


@contextlib.contextmanager
def torch_default_dtype(torch, dtype):
    """torch keeps scalar state (`step`, NAdam's μ-product) in its default
    dtype; float64 runs set it to float64, as `jax.enable_x64` does for us."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def torch_trajectory(
    torch, name, kwargs, params, grads, lr_lambda=None, scheduler=None
):
    """Runs `torch.optim.<name>(**kwargs)` (with `LambdaLR(lr_lambda)`, or
    `scheduler(optimizer)`, stepped after each step, if given).

    Returns (history, state): the parameters after every step, as a tree like
    `params` whose leaves gain a leading step axis, and torch's final
    per-parameter state as {key: tree like params}.
    """
    leaves, treedef = jax.tree.flatten(params)
    grad_leaves = [np.asarray(g) for g in jax.tree.leaves(grads)]
    numpy_dtype = np.asarray(leaves[0]).dtype
    dtype = getattr(torch, numpy_dtype.name)
    real = torch.float64 if numpy_dtype.itemsize >= 8 else torch.float32
    if numpy_dtype == np.complex64:
        real = torch.float32
    steps = grad_leaves[0].shape[0]
    with torch_default_dtype(torch, real):
        tensors = [torch.tensor(np.asarray(p), dtype=dtype) for p in leaves]
        opt = getattr(torch.optim, name)(tensors, foreach=False, **kwargs)
        if scheduler is not None:
            scheduler = scheduler(opt)
        elif lr_lambda is not None:
            scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
        history = []
        for t in range(steps):
            for tensor, g in zip(tensors, grad_leaves):
                tensor.grad = torch.tensor(g[t], dtype=dtype)
            opt.step()
            if scheduler is not None:
                scheduler.step()
            history.append([tensor.detach().numpy().copy() for tensor in tensors])
    stacked = [np.stack([h[i] for h in history]) for i in range(len(leaves))]
    state = {
        key: jax.tree.unflatten(
            treedef, [np.asarray(opt.state[x][key].detach().numpy()) for x in tensors]
        )
        for key in opt.state[tensors[0]]
    }
    return jax.tree.unflatten(treedef, [jnp.asarray(s) for s in stacked]), state


def our_trajectories(txs, params, grads, *, jit=True):
    """Runs each transform of `txs` from `params` on the same gradients.

    Returns a list of (history, final state), shaped like `torch_trajectory`'s.
    All transforms advance together in one jitted step called from a Python
    loop: compiling one step for several cases costs much less than one
    compilation per case, and far less than a `lax.scan` over all steps.
    """

    def step(all_params, states, grad):
        new_params, new_states = [], []
        for tx, p, s in zip(txs, all_params, states):
            updates, s = tx.update(grad, s, p)
            new_params.append(optax.apply_updates(p, updates))
            new_states.append(s)
        return new_params, new_states

    if jit:
        step = jax.jit(step)
    grad_leaves, treedef = jax.tree.flatten(jax.tree.map(np.asarray, grads))
    all_params = [params] * len(txs)
    states = [tx.init(params) for tx in txs]
    history = []
    for t in range(grad_leaves[0].shape[0]):
        grad = jax.tree.unflatten(treedef, [g[t] for g in grad_leaves])
        all_params, states = step(all_params, states, grad)
        history.append(all_params)
    return [
        (jax.tree.map(lambda *xs: jnp.stack(xs), *[h[i] for h in history]), states[i])
        for i in range(len(txs))
    ]


def our_trajectory(tx, params, grads, *, jit=True):
    """`our_trajectories` for one transform."""
    return our_trajectories([tx], params, grads, jit=jit)[0]


def assert_matches_torch(
    torch,
    tx,
    name,
    kwargs,
    params,
    *,
    lr_lambda=None,
    jit=True,
    steps=STEPS,
    seed=1,
    torch_grads=None,
    state_fields=True,
    scheduler=None,
):
    """Compares one transform with `torch.optim.<name>(**kwargs)`; see
    `assert_cases_match_torch`."""
    case = Case(tx, name, kwargs, lr_lambda, torch_grads, state_fields, scheduler)
    assert_cases_match_torch(torch, [case], params, jit=jit, steps=steps, seed=seed)


@dataclasses.dataclass(frozen=True)
class Case:
    """One comparison: our transform against `torch.optim.<name>(**kwargs)`.

    `lr_lambda` attaches a `LambdaLR`; `scheduler`, a function of the torch
    optimizer, attaches any other LR scheduler. `torch_grads`, a function of the
    gradient tree, changes what torch is fed (to check a preset composed after
    another transform). `state_fields=False` skips the state comparison (for
    a preset wrapped in another transform).
    """

    tx: optax.GradientTransformation
    name: str
    kwargs: dict
    lr_lambda: Callable | None = None
    torch_grads: Callable | None = None
    state_fields: bool = True
    scheduler: Callable | None = None


def assert_cases_match_torch(torch, cases, params, *, jit=True, steps=STEPS, seed=1):
    """Compares our parameters with torch's at every step, then the final
    state, for each case; all cases see the same gradients."""
    grads = helpers.random_grads(params, steps, seed)
    runs = our_trajectories([case.tx for case in cases], params, grads, jit=jit)
    for case, (ours, our_state) in zip(cases, runs):
        fed = grads if case.torch_grads is None else case.torch_grads(grads)
        want, torch_state = torch_trajectory(
            torch, case.name, case.kwargs, params, fed, case.lr_lambda, case.scheduler
        )
        what = f"{case.name}({case.kwargs}{', LambdaLR' if case.lr_lambda else ''})"
        _compare(ours, our_state, want, torch_state, params, what, case.state_fields)


def _compare(ours, our_state, want, torch_state, params, what, state_fields):
    tol = tolerance(jax.tree.leaves(params)[0].dtype)
    # Step t may be off by rtol times the sum of |θ_s − θ_{s-1}| so far.
    drift = jax.tree.map(
        lambda hist, p0: (
            tol.rtol
            * np.cumsum(np.abs(np.diff(hist, axis=0, prepend=p0[None])), axis=0)
        ),
        jax.tree.map(np.asarray, want),
        jax.tree.map(np.asarray, params),
    )
    helpers.assert_close_every_step(ours, want, tol, f"{what} params", drift)
    if not state_fields:
        return
    for key, value in torch_state.items():
        if key == "step":
            got = np.asarray(our_state.count)
            assert np.all(np.asarray(jax.tree.leaves(value)) == got), (what, key)
            continue
        mine = getattr(our_state, key)
        if np.ndim(mine) == 0 and not isinstance(mine, dict):  # NAdam's μ-product
            scalar = np.asarray(mine)
            mine = jax.tree.map(lambda v, c=scalar: np.full(np.shape(v), c), value)
        # A state leaf is a running sum of per-step terms; compare it to
        # about the size of the gradients that built it.
        scale = jax.tree.map(lambda v: np.abs(np.asarray(v)) + 1.0, value)
        for (path, a), b, s in zip(
            jax.tree_util.tree_flatten_with_path(mine)[0],
            jax.tree.leaves(value),
            jax.tree.leaves(scale),
        ):
            a, b = np.asarray(a), np.asarray(b)
            assert a.shape == b.shape, (what, key, path)
            err = np.max(np.abs(a.astype(b.dtype) - b) / s, initial=0.0)
            assert err <= 100 * tol.rtol, (
                f"{what} state {key}{jax.tree_util.keystr(path)}: off by {err:.3g} "
                f"(relative to |value| + 1), more than 100 × rtol {tol.rtol}"
            )
