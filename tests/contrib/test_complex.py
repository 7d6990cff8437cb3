"""Complex parameters, where the rule is defined for them, against Optax.

Second moments average |g|² (real), as Optax's core does. MADGRAD and COCOB
refuse complex parameters (a cube root of a sum of g², a bet on a sign), and
so does ADOPT with its clipping (complex numbers have no order; Optax fails
inside `jnp.clip`). Simplified AdEMAMix is left out: Optax squares the
complex gradient (g·g) where ours takes |g|². ACProp differs from Optax by
design (test_acprop.py).
"""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import jaxopt_lessons as jol
from tests.contrib import _against_optax as A

CASES = [
    A.call("ademamix", learning_rate=0.01),
    A.call("adopt", learning_rate=0.01, use_clipping=False),
    A.call("schedule_free_adamw"),
    A.call("schedule_free_sgd", learning_rate=0.1),
]


def test_complex64_matches_optax():
    A.assert_cases_match_optax(CASES, dtype=jnp.complex64, steps=50)


@pytest.mark.parametrize("name", ["madgrad", "cocob"])
def test_complex_parameters_are_refused(name):
    tx = getattr(jol.contrib, name)(learning_rate=0.1)
    with pytest.raises(TypeError, match="complex parameters are not supported"):
        tx.init(jnp.ones(2, jnp.complex64))
