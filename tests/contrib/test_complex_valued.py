"""`contrib.split_real_and_imaginary` against `optax.contrib`, on complex parameters.

The rule itself is checked too: on a complex leaf the wrapped optimizer must
do exactly what it does on the real and imaginary parts as two real leaves.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib as oc
import pytest

import jaxopt_lessons as jol
from jaxopt_lessons import contrib
from tests import helpers
from tests.contrib import _parity

COMPLEX = {jnp.float32: jnp.complex64, jnp.float64: jnp.complex128}


def _complex_tree(dtype, make=_parity.tree):
    """Complex leaves (and one real leaf, which passes through)."""
    real, imag = make(dtype), make(dtype, seed=1)
    tree = {k: jax.lax.complex(real[k], imag[k]) for k in real if k != "bias"}
    tree["bias"] = real["bias"]
    return tree


def _small_complex_tree(dtype):
    return _complex_tree(dtype, _parity.small)


def _pairs():
    return {
        name: (
            contrib.split_real_and_imaginary(getattr(jol, name)(*args)),
            oc.split_real_and_imaginary(getattr(optax, name)(*args)),
        )
        for name, args in (("adam", (0.05,)), ("sgd", (0.1, 0.9)), ("lion", (0.01,)))
    }


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64], ids=["c64", "c128"])
def test_matches_optax_jitted(dtype, request):
    pairs = _pairs()
    if dtype == jnp.float64:
        request.getfixturevalue("x64")
        pairs = {"adam": pairs["adam"]}
    _parity.assert_parity(
        pairs,
        _complex_tree,
        dtype=dtype,
        jit=True,
        tol=helpers.tolerance_for(dtype),
    )


def test_matches_optax_eagerly():
    pairs = {"adam": _pairs()["adam"]}
    _parity.assert_parity(
        pairs, _small_complex_tree, dtype=jnp.float32, jit=False, steps=50
    )


def test_a_complex_leaf_is_two_real_leaves():
    z = jax.lax.complex(jnp.asarray([1.0, -2.0]), jnp.asarray([0.5, 3.0]))
    split = contrib.split_real_and_imaginary(jol.adam(0.1))
    plain = jol.adam(0.1)
    state, pair_state = split.init({"z": z}), plain.init({"x": z.real, "y": z.imag})
    for t in range(3):
        g = jax.lax.complex(jnp.asarray([0.3, -1.0 * t]), jnp.asarray([2.0, 0.1]))
        u, state = split.update({"z": g}, state)
        v, pair_state = plain.update({"x": g.real, "y": g.imag}, pair_state)
        np.testing.assert_allclose(u["z"].real, v["x"], rtol=1e-6)
        np.testing.assert_allclose(u["z"].imag, v["y"], rtol=1e-6)
    assert isinstance(state, oc.SplitRealAndImaginaryState)


def test_an_infinite_part_stays_in_its_part():
    """Optax merges with real + imaginary · 1j, and inf · 1j = nan + inf·i."""
    z = jnp.asarray([1.0 + 1.0j])
    ours = contrib.split_real_and_imaginary(optax.scale(1.0))
    theirs = oc.split_real_and_imaginary(optax.scale(1.0))
    g = jax.lax.complex(jnp.asarray([1.0]), jnp.asarray([jnp.inf]))
    u, _ = ours.update(g, ours.init(z))
    assert u[0].real == 1.0 and u[0].imag == jnp.inf
    v, _ = theirs.update(g, theirs.init(z))
    assert jnp.isnan(v[0].real)


def test_inner_must_be_a_transformation():
    with pytest.raises(TypeError, match="split_real_and_imaginary: `inner`"):
        contrib.split_real_and_imaginary(jol.adam)
