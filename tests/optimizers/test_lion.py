"""Lion against Optax at every step, and on Optax's two convergence problems."""

import jax.numpy as jnp
import optax
import pytest

import jaxopt_lessons as jol
from tests.optimizers import _family

SCHEDULE = optax.exponential_decay(0.01, transition_steps=10, decay_rate=0.7)
DEFAULTS = [("scale_by_lion", {}), ("lion", dict(learning_rate=0.01))]
GRID = DEFAULTS + [
    ("scale_by_lion", dict(b1=0.5, b2=0.9, mode="smooth", smooth_beta=3.0)),
    ("scale_by_lion", dict(b1=1.0, mode="refined")),
    ("lion", dict(learning_rate=SCHEDULE, weight_decay=0.1)),
    ("lion", dict(learning_rate=0.01, weight_decay=optax.linear_schedule(0.1, 0, 50),
                  mask=lambda p: {k: k != "scalar" for k in p})),
]  # fmt: skip


def test_float32_grid_matches_optax():
    _family.assert_cases_match_optax(GRID)


def test_float32_eager_matches_optax():
    _family.assert_cases_match_optax(DEFAULTS, jit=False)


def test_float64_matches_optax(x64):
    _family.assert_cases_match_optax(DEFAULTS, dtype=jnp.float64)


@pytest.mark.parametrize("problem", ["parabola", "rosenbrock"])
def test_solves(problem):
    _family.assert_solves(jol.lion(1e-2, weight_decay=1e-4), problem)
