"""Parity of `jaxopt_lessons.contrib` against `optax.contrib`, case by case.

A case is a name, a label and a function that builds the transform from a
module (`jaxopt_lessons.contrib` or `optax.contrib`), so that one case can
wrap the factory (`optax.inject_hyperparams`, a base optimizer for
`schedule_free`). Every case of a table runs in one compiled program
(`tests.optimizers._family.side_by_side`), and `helpers.assert_same_trajectory`
compares the updates, every state leaf and the parameters at every step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

import jaxopt_lessons as jol
from tests import helpers
from tests.optimizers import _family


def two_leaves(dtype: Any = jnp.float32) -> Any:
    """A matrix and a scalar in a nested dict and list: half the leaves of
    `_family.small_tree`, and so about half its compile time per case."""
    tree = _family.small_tree(dtype)
    return {"dense": {"kernel": tree["dense"]["kernel"]}, "pair": [tree["pair"][1]]}


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Any], optax.GradientTransformation]
    params: Callable[[Any], Any] = two_leaves


def call(name: str, label: str = "", **kwargs: Any) -> Case:
    """`module.name(**kwargs)`."""
    shown = label or ",".join(f"{k}={_family._show(v)}" for k, v in kwargs.items())
    return Case(f"{name}({shown})", lambda m: getattr(m, name)(**kwargs))


def injected(name: str, static_args: tuple = (), **kwargs: Any) -> Case:
    """`optax.inject_hyperparams(module.name)(**kwargs)`: the numbers become
    traced state, and schedules are evaluated by the wrapper."""
    shown = ",".join(f"{k}={_family._show(v)}" for k, v in kwargs.items())
    return Case(
        f"inject({name})({shown})",
        lambda m: optax.inject_hyperparams(getattr(m, name), static_args)(**kwargs),
    )


def lr_schedule(count):
    return optax.exponential_decay(0.02, transition_steps=10, decay_rate=0.7)(count)


def wd_schedule(count):
    return optax.linear_schedule(0.05, 0.001, transition_steps=50)(count)


def matrices(params):
    return jax.tree.map(lambda p: jnp.ndim(p) >= 2, params)


def assert_cases_match_optax(
    cases: list[Case],
    *,
    jit: bool = True,
    dtype: Any = jnp.float32,
    steps: int = 60,
    extra_args: dict | None = None,
) -> None:
    """Every case, ours against Optax's, at every step."""
    ids = [c.id for c in cases]
    assert len(set(ids)) == len(ids), "duplicate cases"
    ours = _family.side_by_side({c.id: c.build(jol.contrib) for c in cases})
    ref = _family.side_by_side({c.id: c.build(optax.contrib) for c in cases})
    params = {c.id: c.params(dtype) for c in cases}
    helpers.assert_same_trajectory(
        ours,
        ref,
        params,
        steps=steps,
        jit=jit,
        tol=helpers.tolerance_for(dtype),
        extra_args=extra_args,
    )
