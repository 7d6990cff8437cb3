"""`contrib.galore` and `scale_by_galore` against `optax.contrib`.

`update_proj_gap` = 7 refreshes the projectors 9 times in 60 steps; the
cases cover left (m >= n) and right (m < n) projectors, a 3-D leaf seen as a
matrix, leaves left unprojected, rank above the matrix's size, a custom base
optimizer, weight decay with a mask, and `scale`.
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
from tests.contrib._parity import assert_parity, small

DN = oc.GaLoreDimensionNumbers


def _specs(params):
    """The 3-D leaf as (1·3) × 2 (left projector), the matrix transposed."""
    return jax.tree.map(
        lambda p: DN((0, 1), 2) if p.ndim == 3 else (DN(1, 0) if p.ndim == 2 else None),
        params,
    )


def _pairs():
    def both(**kwargs):
        ours, theirs = dict(kwargs), dict(kwargs)
        if "base" in kwargs:
            name, args = ours.pop("base")
            theirs.pop("base")
            ours["base_optimizer"] = getattr(jol, name)(*args)
            theirs["base_optimizer"] = getattr(optax, name)(*args)
        return contrib.galore(**ours), oc.galore(**theirs)

    return {
        "default-rank": both(learning_rate=0.01, update_proj_gap=7),
        "rank1-specs-wd": both(
            learning_rate=0.02,
            rank=1,
            update_proj_gap=7,
            scale=0.5,
            weight_decay=0.1,
            mask=lambda p: jax.tree.map(lambda x: x.ndim > 1, p),
            weight_dimension_numbers=_specs,
        ),
        "rank2-one-spec-lion": both(
            learning_rate=0.01,
            rank=2,
            update_proj_gap=5,
            base=("scale_by_lion", (0.9, 0.99)),
            weight_dimension_numbers={"kernel": DN(), "cube": None, "bias": None},
        ),
    }


def test_matches_optax_jitted_float32():
    assert_parity(_pairs(), dtype=jnp.float32, jit=True)


def test_matches_optax_jitted_float64(x64):
    # the case with every option; float64 runs its SVD in float32, as Optax
    pairs = {"rank1-specs-wd": _pairs()["rank1-specs-wd"]}
    assert_parity(pairs, dtype=jnp.float64, jit=True)


def test_matches_optax_eagerly():
    pairs = {"rank1-specs-wd": _pairs()["rank1-specs-wd"]}
    assert_parity(
        pairs, small, dtype=jnp.float32, jit=False, steps=50, reference_jitted=True
    )


def test_the_projected_state_is_low_rank():
    """Adam's moments of a 6 × 4 matrix at rank 2 are 2 × 4 (left) and its
    projector 6 × 2 with orthonormal columns after the first step."""
    params = {"w": jnp.ones((6, 4)), "v": jnp.ones((2, 5))}
    tx = contrib.scale_by_galore(rank=2)
    state = tx.init(params)
    mu = state.base_optimizer_state.mu
    assert mu["w"].shape == (2, 4) and mu["v"].shape == (2, 2)
    grads = {
        "w": jnp.arange(24.0).reshape(6, 4) ** 1.5,
        "v": jnp.arange(10.0).reshape(2, 5),
    }
    _, state = tx.update(grads, state)
    p = state.projector["w"]
    np.testing.assert_allclose(p.T @ p, np.eye(2), atol=1e-5)
    assert state.projector["v"].shape == (5, 2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="galore: `rank` must be an integer >= 1"):
        contrib.galore(0.1, rank=0)
    with pytest.raises(TypeError, match="galore: `rank` must be an integer"):
        contrib.galore(0.1, rank=2.0)
    with pytest.raises(ValueError, match="galore: `update_proj_gap`"):
        contrib.galore(0.1, update_proj_gap=0)
    with pytest.raises(TypeError, match="galore: `base_optimizer`"):
        contrib.galore(0.1, base_optimizer="adam")
    tx = contrib.galore(0.1, weight_dimension_numbers=DN(0, 0))
    with pytest.raises(ValueError, match="must split the 2 axes"):
        tx.init({"w": jnp.ones((3, 4))})


def test_checkpoint_round_trip_keeps_the_empty_projectors(tmp_path):
    """A leaf GaLore does not project has a 0 × 0 projector, which orbax
    refuses to save; the checkpoint keeps it in the layout instead."""
    from jaxopt_lessons import checkpoint

    params = {"w": jnp.ones((4, 3)), "b": jnp.ones(3)}
    tx = contrib.galore(0.1, rank=2)
    state = tx.init(params)
    _, state = tx.update(jax.tree.map(lambda p: p * 0.5, params), state, params)
    assert state[0].projector["b"].shape == (0, 0)
    path = checkpoint.save_orbax(tmp_path / "ckpt", state)
    restored = checkpoint.restore_orbax(path, state)
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
