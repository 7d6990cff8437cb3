"""L-BFGS and the line searches against Optax running, step for step.

Each case runs 30 iterations of `jol.X` and `optax.X` on the same problem,
in one jitted program per dtype (float32, and float64 under
`jax.enable_x64`), and compares the updates, the parameters and *every*
state leaf (the L-BFGS memory, the line search's step size, value, gradient
and info) at every iteration. The comparison is exact: both sides evaluate
the same operations in the same order (the same `optax.tree` reductions,
the same interpolation formulas, the same branch conditions), so any
difference is a bug, and a line search, whose branches amplify a last-bit
difference into a different trial point, would show it at once.

Problems: the Rosenbrock valley (6 coordinates), an ill-conditioned
quadratic on a pytree (curvatures 1e-2 … 1e2), and an L2-regularised
logistic regression on a pytree {w, b} whose data reach `value_fn` as extra
keyword arguments of `update` (x=, y=).
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons.transforms import lbfgs as lbfgs_module
from tests.reliability.training import FAST_COMPILE

STEPS = 30


# ----------------------------------------------------------------------------
# Problems: (initial params, loss(params, **data), data).


def _rosenbrock(dtype):
    def loss(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return jnp.asarray([-1.2, 1.0, -0.5, 0.8, 1.5, 0.3], dtype), loss, {}


_CURV = {
    "a": np.geomspace(1e-2, 1e2, 12).reshape(3, 4),
    "b": [np.geomspace(3.0, 0.05, 5), np.asarray(7.0)],
}


def _quadratic(dtype):
    def loss(p):
        terms = jax.tree.map(
            lambda x, c: 0.5 * jnp.sum(jnp.asarray(c, x.dtype) * (x - 0.5) ** 2),
            p,
            _CURV,
        )
        return sum(jax.tree.leaves(terms))

    rng = np.random.default_rng(0)
    params = {
        "a": jnp.asarray(rng.standard_normal((3, 4)), dtype),
        "b": [jnp.asarray(rng.standard_normal(5), dtype), jnp.asarray(2.0, dtype)],
    }
    return params, loss, {}


def _logistic(dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 5))
    y = (x @ np.asarray([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.3 > 0).astype(np.float64)

    def loss(p, x, y):
        logits = x @ p["w"] + p["b"]
        return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y)) + 1e-2 * jnp.sum(
            p["w"] ** 2
        )

    params = {"w": jnp.zeros(5, dtype), "b": jnp.asarray(0.0, dtype)}
    return params, loss, {"x": jnp.asarray(x, dtype), "y": jnp.asarray(y, dtype)}


PROBLEMS = {"rosenbrock": _rosenbrock, "quadratic": _quadratic, "logistic": _logistic}


# ----------------------------------------------------------------------------
# Cases: (problem, how to build the optimizer from a library module).


def _backtracking(lib, **kw):
    return lib.scale_by_backtracking_linesearch(max_backtracking_steps=15, **kw)


CASES = {
    "lbfgs-zoom/rosenbrock": ("rosenbrock", lambda lib: lib.lbfgs()),
    "lbfgs-backtracking-store_grad/rosenbrock": (
        "rosenbrock",
        lambda lib: lib.lbfgs(linesearch=_backtracking(lib, store_grad=True)),
    ),
    "lbfgs-none/rosenbrock": (
        "rosenbrock",
        lambda lib: lib.lbfgs(learning_rate=1e-3, linesearch=None),
    ),
    "lbfgs-zoom-m3-unscaled/quadratic": (
        "quadratic",
        lambda lib: lib.lbfgs(memory_size=3, scale_init_precond=False),
    ),
    "lbfgs-none-schedule/quadratic": (
        "quadratic",
        lambda lib: lib.lbfgs(
            learning_rate=optax.linear_schedule(0.5, 0.05, STEPS), linesearch=None
        ),
    ),
    "lbfgs-zoom-keep-capped/quadratic": (
        "quadratic",
        lambda lib: lib.lbfgs(
            linesearch=lib.scale_by_zoom_linesearch(
                max_linesearch_steps=8, max_learning_rate=2.0, curv_rtol=0.5
            )
        ),
    ),
    "lbfgs-zoom/logistic": ("logistic", lambda lib: lib.lbfgs()),
    "lbfgs-backtracking/logistic": (
        "logistic",
        lambda lib: lib.lbfgs(linesearch=_backtracking(lib, decrease_factor=0.5)),
    ),
    # The line searches after plain gradient descent (Optax's own examples).
    "sgd-zoom/logistic": (
        "logistic",
        lambda lib: optax.chain(
            optax.sgd(1.0), lib.scale_by_zoom_linesearch(max_linesearch_steps=15)
        ),
    ),
    "sgd-backtracking-store_grad/quadratic": (
        "quadratic",
        lambda lib: optax.chain(optax.sgd(1.0), _backtracking(lib, store_grad=True)),
    ),
}


#: The cases also run in float64 (compile time is what this file costs: the
#: float32 program holds all ten cases, the float64 one covers each line
#: search, the schedule and the extra arguments).
FLOAT64_CASES = (
    "lbfgs-zoom/rosenbrock",
    "lbfgs-backtracking-store_grad/rosenbrock",
    "lbfgs-none-schedule/quadratic",
    "lbfgs-zoom/logistic",
    "sgd-zoom/logistic",
)


def _stores_value(tx, params) -> bool:
    state = tx.init(params)
    return all(optax.tree.get(state, k) is not None for k in ("value", "grad"))


def _run(tx, params, loss, data, steps=STEPS):
    """`steps` iterations as a scan: (updates, state, params) at every step.

    With a line search that stores the value and gradient at the accepted
    point, `optax.value_and_grad_from_state` reuses them (reading our
    state, for jol's runs)."""
    if _stores_value(tx, params):
        value_and_grad = optax.value_and_grad_from_state(loss)
    else:
        value_and_grad = lambda p, state, **d: jax.value_and_grad(loss)(p, **d)  # noqa: E731

    def step(carry, _):
        params, state = carry
        value, grad = value_and_grad(params, state=state, **data)
        updates, state = tx.update(
            grad, state, params, value=value, grad=grad, value_fn=loss, **data
        )
        params = optax.apply_updates(params, updates)
        return (params, state), (updates, state, params)

    return jax.lax.scan(step, (params, tx.init(params)), None, length=steps)[1]


@functools.cache
def _all_runs(x64: bool):
    """Every case, both libraries, one compiled program."""
    dtype = jnp.float64 if x64 else jnp.float32
    with jax.enable_x64(x64):
        problems = {name: make(dtype) for name, make in PROBLEMS.items()}

    @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
    def run_all(params):
        out = {}
        for case, (problem, build) in CASES.items():
            if x64 and case not in FLOAT64_CASES:
                continue
            _, loss, data = problems[problem]
            out[case] = {
                lib.__name__: _run(build(lib), params[problem], loss, data)
                for lib in (optax, jol)
            }
        return out

    with jax.enable_x64(x64):
        return jax.device_get(run_all({n: p[0] for n, p in problems.items()}))


def _assert_identical(ours, theirs, what):
    assert jax.tree.structure(ours) == jax.tree.structure(theirs), (
        f"{what}: tree structures differ (node types included)"
    )
    paths = jax.tree_util.tree_leaves_with_path(theirs)
    for (path, want), got in zip(paths, jax.tree.leaves(ours)):
        where = f"{what}{jax.tree_util.keystr(path)}"
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == want.dtype, f"{where}: dtype {got.dtype} vs {want.dtype}"
        same = (got == want) | (np.isnan(got) & np.isnan(want))
        if not same.all():
            bad = tuple(np.argwhere(~same)[0])
            raise AssertionError(
                f"{where}: first difference at iteration {bad[0]}, index {bad[1:]}: "
                f"{got[bad]!r} vs Optax {want[bad]!r}"
            )


@pytest.mark.parametrize(
    ("case", "x64"),
    [(c, False) for c in CASES] + [(c, True) for c in FLOAT64_CASES],
    ids=[f"{c}-float32" for c in CASES] + [f"{c}-float64" for c in FLOAT64_CASES],
)
def test_every_iteration_and_state_leaf_equals_optax(case, x64):
    runs = _all_runs(x64)[case]
    _assert_identical(runs["jaxopt_lessons"], runs["optax"], f"{case} ")
    # The runs make progress (a comparison of two stuck runs proves little),
    # except gradient descent with a tiny step on Rosenbrock.
    problem = CASES[case][0]
    with jax.enable_x64(x64):
        _, loss, data = PROBLEMS[problem](jnp.float64 if x64 else jnp.float32)
        first = loss(jax.tree.map(lambda p: p[0], runs["optax"][2]), **data)
        last = loss(jax.tree.map(lambda p: p[-1], runs["optax"][2]), **data)
    assert np.isfinite(last) and last < first, (case, first, last)


def test_eager_equals_optax():
    """Without jit: `update` called op by op (the line search's loop is a
    `lax.while_loop`, compiled on its own)."""
    params, loss, data = _logistic(jnp.float32)
    build = CASES["lbfgs-backtracking/logistic"][1]
    opts = build(optax), build(jol)
    states = [opt.init(params) for opt in opts]
    ps = [params, params]
    for _ in range(2):
        for i, opt in enumerate(opts):
            value, grad = jax.value_and_grad(loss)(ps[i], **data)
            updates, states[i] = opt.update(
                grad, states[i], ps[i], value=value, grad=grad, value_fn=loss, **data
            )
            ps[i] = optax.apply_updates(ps[i], updates)
        _assert_identical(
            jax.tree.map(lambda x: np.asarray(x)[None], (ps[1], states[1])),
            jax.tree.map(lambda x: np.asarray(x)[None], (ps[0], states[0])),
            "eager ",
        )


def test_lbfgs_beats_gradient_descent_on_the_ill_conditioned_quadratic():
    """κ = 1e4: after 30 iterations L-BFGS (memory 3, zoom line search) is
    more than 50 times closer to the minimum value than gradient descent
    with a backtracking line search."""
    runs = _all_runs(False)
    _, loss, _ = _quadratic(jnp.float32)

    def final(case):
        params = runs[case]["jaxopt_lessons"][2]
        return float(loss(jax.tree.map(lambda p: p[-1], params)))

    lbfgs = final("lbfgs-zoom-m3-unscaled/quadratic")
    descent = final("sgd-backtracking-store_grad/quadratic")
    assert lbfgs * 50 < descent, (lbfgs, descent)


# ----------------------------------------------------------------------------
# The two-loop recursion against the BFGS update written as matrices.


def test_two_loop_recursion_is_the_bfgs_matrix():
    """H·g from the two-loop recursion equals the dense H built by the BFGS
    recursion H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ from H⁰ = γI,
    oldest pair first (Nocedal & Wright, eq. 7.19), with the pairs stored in
    a ring buffer that has wrapped around."""
    rng = np.random.default_rng(3)
    n, m, start = 6, 4, 1  # slot `start` holds the oldest pair
    s = rng.standard_normal((m, n))
    y = s @ np.diag(np.geomspace(0.5, 5.0, n)) + 0.01 * rng.standard_normal((m, n))
    rho = 1.0 / np.einsum("ij,ij->i", s, y)
    g, gamma = rng.standard_normal(n), 0.7
    h = gamma * np.eye(n)
    for i in [(start + k) % m for k in range(m)]:
        left = np.eye(n) - rho[i] * np.outer(s[i], y[i])
        h = left @ h @ left.T + rho[i] * np.outer(s[i], s[i])
    with jax.enable_x64(True):
        got = lbfgs_module.precondition_by_lbfgs(
            jnp.asarray(g),
            jnp.asarray(s),
            jnp.asarray(y),
            jnp.asarray(rho),
            gamma,
            jnp.asarray(start),
        )
    np.testing.assert_allclose(np.asarray(got), h @ g, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------
# The extra-arguments interface and deliberate differences.


def test_value_and_grad_from_state_reads_our_state():
    params, loss, _ = _rosenbrock(jnp.float32)
    opt = jol.lbfgs()
    state = opt.init(params)
    value_and_grad = optax.value_and_grad_from_state(loss)
    value, grad = value_and_grad(params, state=state)  # inf in the state: computed
    np.testing.assert_allclose(value, loss(params), rtol=1e-6)  # compiled apart
    _, state = opt.update(grad, state, params, value=value, grad=grad, value_fn=loss)
    stored = optax.tree.get(state, "value"), optax.tree.get(state, "grad")
    assert jnp.isfinite(stored[0])
    assert value_and_grad(params, state=state)[0] == stored[0]


def test_backtracking_store_grad_with_float32_params_under_x64():
    """Optax transposes the loss's linearisation with the Python float 1.0,
    which fails for a float32 loss when x64 is enabled; ours passes a
    cotangent of the loss's dtype and stores the gradient at the accepted
    point."""
    with jax.enable_x64(True):
        params, loss, _ = _rosenbrock(jnp.float32)
        value, grad = jax.value_and_grad(loss)(params)
        kwargs = dict(value=value, grad=grad, value_fn=loss)
        theirs = optax.scale_by_backtracking_linesearch(15, store_grad=True)
        with pytest.raises(TypeError, match="cotangent"):
            theirs.update(-grad, theirs.init(params), params, **kwargs)
        ours = jol.scale_by_backtracking_linesearch(15, store_grad=True)
        updates, state = ours.update(-grad, ours.init(params), params, **kwargs)
        accepted = optax.apply_updates(params, updates)
        # the gradient through a transposed linearisation, against jax.grad
        # compiled apart: a few float32 roundings
        np.testing.assert_allclose(state.grad, jax.grad(loss)(accepted), rtol=1e-6)
        assert state.grad.dtype == jnp.float32


def test_missing_or_unused_extra_arguments_are_named():
    params, loss, data = _logistic(jnp.float32)
    value, grad = jax.value_and_grad(loss)(params, **data)
    for opt, name in (
        (jol.lbfgs(), "scale_by_zoom_linesearch"),
        (jol.lbfgs(linesearch=_backtracking(jol)), "scale_by_backtracking_linesearch"),
    ):
        state = opt.init(params)
        with pytest.raises(TypeError, match=rf"{name}: .*missing: value_fn"):
            opt.update(grad, state, params, value=value, grad=grad)
        with pytest.raises(TypeError, match=rf"{name}: Unexpected keyword.*'batch'"):
            opt.update(
                grad,
                state,
                params,
                value=value,
                grad=grad,
                value_fn=loss,
                batch=0,
                **data,
            )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: jol.lbfgs(memory_size=0),
            ValueError,
            r"lbfgs: `memory_size` must be >= 1",
        ),
        (
            lambda: jol.lbfgs(memory_size=2.5),
            TypeError,
            r"lbfgs: `memory_size` must be an int",
        ),
        (
            lambda: jol.lbfgs(scale_init_precond=1),
            TypeError,
            r"`scale_init_precond` must be True",
        ),
        (lambda: jol.lbfgs(learning_rate=-1.0), ValueError, r"lbfgs: `learning_rate`"),
        (
            lambda: jol.lbfgs(linesearch="zoom"),
            TypeError,
            r"lbfgs: `linesearch` must be",
        ),
        (
            lambda: jol.scale_by_zoom_linesearch(5, increase_factor=1.0),
            ValueError,
            r"scale_by_zoom_linesearch: `increase_factor` must be > 1",
        ),
        (
            lambda: jol.scale_by_zoom_linesearch(5, initial_guess_strategy="two"),
            ValueError,
            r"`initial_guess_strategy` must be one of",
        ),
        (
            lambda: jol.scale_by_zoom_linesearch(5, slope_rtol=1.0),
            ValueError,
            r"`slope_rtol` must lie in \[0, 1\)",
        ),
        (
            lambda: jol.scale_by_zoom_linesearch(-1),
            ValueError,
            r"`max_linesearch_steps` must be >= 0",
        ),
        (
            lambda: jol.scale_by_backtracking_linesearch(5.0),
            TypeError,
            r"`max_backtracking_steps` must be an int",
        ),
        (
            lambda: jol.scale_by_backtracking_linesearch(5, decrease_factor=0.0),
            ValueError,
            r"`decrease_factor` must be positive",
        ),
    ],
)
def test_bad_hyperparameters_raise_when_built(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_update_without_params_is_refused():
    params = jnp.ones(3)
    tx = jol.scale_by_lbfgs()
    with pytest.raises(TypeError, match=r"scale_by_lbfgs: `update` needs `params`"):
        tx.update(params, tx.init(params))


NEW_NAMES = (
    "lbfgs",
    "scale_by_lbfgs",
    "scale_by_zoom_linesearch",
    "scale_by_backtracking_linesearch",
    "apply_every",
    "centralize",
    "scale_by_distance_over_gradients",
)


@pytest.mark.parametrize("name", NEW_NAMES)
def test_signature_is_optax(name):
    """Same argument names, order and defaults (lbfgs's default line search
    is an equal one of ours: a zoom search of 20 steps starting at 1)."""
    ours = inspect.signature(getattr(jol, name)).parameters
    theirs = inspect.signature(getattr(optax, name)).parameters
    assert list(ours) == list(theirs)
    for arg in theirs:
        if name == "lbfgs" and arg == "linesearch":
            continue
        assert ours[arg].default == theirs[arg].default, arg


def test_inject_hyperparams_learning_rate():
    """`optax.inject_hyperparams` with the memory size static: the same steps."""
    params, loss, _ = _rosenbrock(jnp.float32)
    outs = []
    for lib in (optax, jol):
        opt = optax.inject_hyperparams(lib.lbfgs, static_args=("memory_size",))(
            learning_rate=0.1
        )
        outs.append(_run(opt, params, loss, {}, steps=3))
    _assert_identical(outs[1], outs[0], "inject_hyperparams ")
