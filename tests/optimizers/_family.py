"""Shared machinery for the optimizer-family tests: batched parity and convergence.

Compiling a 100-step scan costs seconds on this CPU while running it costs
milliseconds, so the cases of one table are compiled together: `side_by_side`
gives each case its own copy of the parameters under its own key, and one
call of `helpers.assert_same_trajectory` then compares every case's updates,
state leaves and parameters at every step. A mismatch names the case in its
path (``updates['lion(b1=0.5)']['dense']['bias']``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from tests import helpers


@dataclasses.dataclass(frozen=True)
class Case:
    """A function of the same name in jaxopt_lessons and optax, with its kwargs.

    `params` builds the parameters from a dtype (default `small_tree`);
    `step`, if given, follows the block with `scale(-step)`, for blocks whose
    output grows with the parameters (added raw, they would blow up).
    """

    name: str
    kwargs: dict = dataclasses.field(default_factory=dict)
    params: Callable[[Any], Any] | None = None
    step: float | None = None

    @property
    def id(self) -> str:
        shown = ",".join(f"{k}={_show(v)}" for k, v in self.kwargs.items())
        return f"{self.name}({shown})" + (f"*-{self.step}" if self.step else "")

    def build(self, module: Any) -> Any:
        tx = getattr(module, self.name)(**self.kwargs)
        if self.step is not None:
            tx = optax.chain(tx, module.scale(-self.step))
        return tx


def _show(value: Any) -> str:
    if callable(value):
        return getattr(value, "__name__", "fn")
    if isinstance(value, jax.Array) and jnp.issubdtype(
        value.dtype, jax.dtypes.prng_key
    ):
        return "key"
    return str(value)


def small_tree(dtype: Any = jnp.float32, seed: int = 0) -> Any:
    """Nested dict, list and tuple holding one leaf of each rank 0 to 3.

    Four leaves of `helpers.mixed_tree` instead of its seven: compiling the
    100-step scan costs time in proportion to the leaves, and the tables
    compile about a hundred cases.
    """
    tree = helpers.mixed_tree(dtype, seed)
    return {
        "dense": {"kernel": tree["dense"]["kernel"], "bias": tree["dense"]["bias"]},
        "pair": [(tree["pair"][1],), tree["scalar"]],
    }


def small_tree_without_scalars(dtype: Any = jnp.float32) -> Any:
    """`small_tree` without its 0-d leaf (Optax's SM3 cannot take one)."""
    tree = small_tree(dtype)
    return {"dense": tree["dense"], "pair": [tree["pair"][0]]}


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _keys_to_data(state: Any) -> Any:
    """Typed PRNG keys (add_noise's state) as their uint32 data, which NumPy reads."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, state)


def _data_to_keys(state: Any, like: Any) -> Any:
    return jax.tree.map(
        lambda x, k: jax.random.wrap_key_data(x) if _is_key(k) else x, state, like
    )


def side_by_side(transforms: dict[str, Any]) -> optax.GradientTransformationExtraArgs:
    """One transform running each of `transforms` on the same key of a dict tree.

    Extra arguments (polyak's `value=`) go to every transform; those that do
    not take them ignore them. Random keys in a state are held as their data,
    so that the harness can compare them like any other state leaf.
    """
    transforms = {k: optax.with_extra_args_support(t) for k, t in transforms.items()}
    typed = {}  # each transform's state with its typed keys, as a template

    def init_fn(params):
        states = {k: t.init(params[k]) for k, t in transforms.items()}
        typed.update(states)
        return _keys_to_data(states)

    def update_fn(updates, state, params=None, **extra_args):
        state = _data_to_keys(state, typed)
        out = {
            k: t.update(updates[k], state[k], None if params is None else params[k],
                        **extra_args)
            for k, t in transforms.items()
        }  # fmt: skip
        new_state = {k: s for k, (_, s) in out.items()}
        return {k: u for k, (u, _) in out.items()}, _keys_to_data(new_state)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def assert_cases_match_optax(
    cases: list[Case],
    *,
    jit: bool = True,
    dtype: Any = jnp.float32,
    params_fn: Callable[[Any], Any] = small_tree,
    extra_args: dict | None = None,
    steps: int = 100,
) -> None:
    """Every case against the Optax function of the same name, at every step."""
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids), "duplicate cases"
    ours = side_by_side({c.id: c.build(jol) for c in cases})
    ref = side_by_side({c.id: c.build(optax) for c in cases})
    params = {c.id: (c.params or params_fn)(dtype) for c in cases}
    helpers.assert_same_trajectory(
        ours,
        ref,
        params,
        steps=steps,
        jit=jit,
        tol=helpers.tolerance_for(jnp.finfo(dtype).dtype),
        extra_args=extra_args,
    )


# Optax's own convergence problems (optax/_src/alias_test.py): a parabola with
# its minimum at (1, -1, 1) and the Rosenbrock function, minimum at (1, 1).
def parabola():
    start = jnp.array([-1.0, 10.0, 1.0])
    target = jnp.array([1.0, -1.0, 1.0])
    return start, target, lambda x: jnp.sum((x - target) ** 2)


def rosenbrock():
    start = jnp.array([0.0, 0.0])
    target = jnp.array([1.0, 1.0])
    return start, target, lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


PROBLEMS = {"parabola": parabola, "rosenbrock": rosenbrock}


def solve(opt: Any, problem: str, steps: int = 10_000, pass_value: bool = False):
    """Runs `steps` jitted float32 steps from the problem's start; returns x, target."""
    start, target, loss = PROBLEMS[problem]()

    def step(carry, _):
        x, state = carry
        value, grad = jax.value_and_grad(loss)(x)
        extra = {"value": value} if pass_value else {}
        updates, state = opt.update(grad, state, x, **extra)
        return (optax.apply_updates(x, updates), state), None

    (x, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, None, length=steps))(
        (start, opt.init(start))
    )
    return np.asarray(x), np.asarray(target)


def assert_solves(opt: Any, problem: str, **kwargs) -> None:
    """Optax's criterion: within rtol = atol = 3e-2 of the minimiser."""
    x, target = solve(opt, problem, **kwargs)
    np.testing.assert_allclose(x, target, rtol=3e-2, atol=3e-2, err_msg=problem)
