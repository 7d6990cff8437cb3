"""The quasi-Newton claim's step counter (the claim and its verdict:
`lessons.quasi_newton`).

`lbfgs_counter(memory, line_search)` runs L-BFGS on one quadratic until the
error ‖x‖/‖x0‖ drops below `TOLERANCE` (or `MAX_STEPS`), and counts its steps
and its evaluations of f and ∇f, line-search trials included. Every problem
runs zero-padded to `PADDED_DIM` coordinates (`padded_row`), so that one
compiled program per (memory, line search) serves every dimension;
`count_steps` sweeps it over a table of problems (`ravines`) and `by_dim`
sorts the outputs by dimension.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.lessons.ravine import TOLERANCE
from jaxopt_lessons.problems import make_ravine

TIGHT_CURVATURE = 1e-3  # c₂ of the tight line search (the default is 0.9)
DEFAULT_CURVATURE = 0.9  # c₂ of jol.lbfgs()'s line search
MAX_STEPS = 2_000  # L-BFGS's most, stalls aside: ~1200 (100-D, κ = 1e5)
PADDED_DIM = 100  # every problem runs in this many coordinates (the claim's largest)
PATH_KEPT = 16  # L-BFGS iterates kept (it ends in a few)


@functools.cache
def lbfgs_counter(memory: int, line_search: bool):
    """The step counter of L-BFGS with one memory, with or without a line
    search (these fix the program's structure; everything else is data)."""

    def count(setting, tolerance):
        hessian, x0 = setting["hessian"], setting["x0"]
        opt, value_and_grad, loss = _lbfgs(
            memory, line_search, setting["curv_rtol"], hessian
        )
        target = tolerance * jnp.linalg.norm(x0)

        def cond(carry):
            x, _, k, _, _ = carry
            return (jnp.linalg.norm(x) >= target) & (k < MAX_STEPS)

        def body(carry):
            x, state, k, evals, path = carry
            value, grad = value_and_grad(x, state=state)
            updates, state = opt.update(
                grad, state, x, value=value, grad=grad, value_fn=loss
            )
            x = jol.apply_updates(x, updates)
            trials = optax.tree.get(state, "num_linesearch_steps", 1)
            return x, state, k + 1, evals + trials, path.at[k + 1].set(x, mode="drop")

        # With a line search the value at x0 is computed once; every later
        # one comes from the search (stored in the state and reused).
        evals = jnp.asarray(int(line_search))
        path = jnp.zeros((PATH_KEPT, *x0.shape), x0.dtype).at[0].set(x0)
        init = (x0, opt.init(x0), jnp.asarray(0), evals, path)
        _, _, k, evals, path = jax.lax.while_loop(cond, body, init)
        return {"steps": k, "evaluations": evals, "path": path}

    return count


def _lbfgs(memory, line_search, curv_rtol, hessian):
    """(optimizer, value_and_grad(x, state=), loss) of one L-BFGS variant."""

    def loss(x):
        return 0.5 * x @ (hessian @ x)

    if not line_search:
        opt = jol.lbfgs(memory_size=memory, linesearch=None)
        return opt, lambda x, state: jax.value_and_grad(loss)(x), loss
    search = jol.scale_by_zoom_linesearch(
        max_linesearch_steps=20, initial_guess_strategy="one", curv_rtol=curv_rtol
    )  # jol.lbfgs()'s default search, but for the curvature constant c₂
    opt = jol.lbfgs(memory_size=memory, linesearch=search)
    return opt, optax.value_and_grad_from_state(loss), loss


def padded_row(problem, curv_rtol):
    """A counter setting: `problem` zero-padded to PADDED_DIM coordinates.

    In exact arithmetic the padding changes nothing: the gradient is 0
    there and every L-BFGS direction is a combination of gradients, so those
    coordinates stay 0 and add nothing to any inner product; one program
    serves every dim. Sums over 100 entries may round differently, which
    moves a count where rounding matters (10-D, κ = 1e4: 75 or 67 steps).
    """
    pad = PADDED_DIM - problem.dim
    return {
        "hessian": jnp.pad(problem.hessian, ((0, pad), (0, pad))),
        "x0": jnp.pad(problem.x0, (0, pad)),
        "curv_rtol": jnp.asarray(curv_rtol, problem.x0.dtype),
    }


def count_steps(rows, memory=10, line_search=True):
    """Steps, evaluations and first iterates of L-BFGS for every row."""
    return sweeps.sweep(lbfgs_counter(memory, line_search), rows, TOLERANCE).outputs


def ravines(dims, seeds, kappas) -> list:
    """Every (dim, seed, κ) ravine, in that order."""
    return [make_ravine(k, d, key=s) for d in dims for s in seeds for k in kappas]


def by_dim(out, dims, seeds, kappas) -> dict:
    """Sweep outputs in `ravines` order -> {name: {dim: (seeds, κ) array}}."""
    shape = (len(dims), len(seeds), len(kappas))
    return {
        name: dict(zip(dims, np.asarray(out[name]).reshape(shape), strict=True))
        for name in ("steps", "evaluations")
    }
