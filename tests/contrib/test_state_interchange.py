"""States made by `optax.contrib` work with our updates, and the other way round.

The state classes are Optax's own (`ScaleByAdemamixState`, `MadgradState`,
`ScheduleFreeState`, ...), so the two `init`s give the same tree structure,
shapes and dtypes, and our `update` continues from Optax's state to the
numbers Optax's own `update` gives (one step from each library's state,
after one step of the other).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxopt_lessons as jol
from tests import helpers
from tests.contrib import _against_optax as A

KWARGS = {
    "acprop": {"learning_rate": 0.01},
    "ademamix": {"learning_rate": 0.01},
    "simplified_ademamix": {"learning_rate": 0.01},
    "adopt": {"learning_rate": 0.01},
    "madgrad": {"learning_rate": 0.01},
    "cocob": {},
    "schedule_free_adamw": {},
    "schedule_free_sgd": {"learning_rate": 0.1},
}


def _shapes(tree):
    return jax.tree.map(lambda x: (jnp.shape(x), jnp.result_type(x)), tree)


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_states_are_interchangeable(name):
    ours = getattr(jol.contrib, name)(**KWARGS[name])
    ref = getattr(optax.contrib, name)(**KWARGS[name])
    params = A.two_leaves()
    g1, g2 = (jax.tree.map(lambda x, t=t: x[t], helpers.random_grads(params, 2))
              for t in range(2))  # fmt: skip
    assert jax.tree.structure(ours.init(params)) == jax.tree.structure(ref.init(params))
    assert _shapes(ours.init(params)) == _shapes(ref.init(params))
    # One step by one library, the next by the other: same as Optax alone
    # (ACProp's second step differs by design, see test_acprop.py).
    _, ref_state = ref.update(g1, ref.init(params), params)
    _, our_state = ours.update(g1, ours.init(params), params)
    want, _ = ref.update(g2, ref_state, params)
    for state in (ref_state, our_state):
        tx = ref if state is our_state else ours
        got, _ = tx.update(g2, state, params)
        if name != "acprop":
            helpers.assert_close_every_step(
                jax.tree.map(lambda x: x[None], got),
                jax.tree.map(lambda x: x[None], want),
                helpers.F32,
                name,
            )
