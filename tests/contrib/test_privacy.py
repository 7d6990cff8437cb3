"""`contrib.dpsgd` and `differentially_private_aggregate` against `optax.contrib`.

The gradients carry a batch axis of 4 examples. The same key (or seed) must
give the same noise, step after step, so every update is compared with
Optax's; the clip is chosen so that some examples are clipped and some not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib as oc
import pytest

from jaxopt_lessons import contrib
from tests.contrib._parity import assert_parity, small

# Optax's dpsgd passes its seed on as the deprecated `seed=` of the aggregate.
pytestmark = pytest.mark.filterwarnings("ignore:.*seed.*:DeprecationWarning")

BATCH = 4


def _pairs():
    def both(name, *args, **kwargs):
        return getattr(contrib, name)(*args, **kwargs), getattr(oc, name)(
            *args, **kwargs
        )

    return {
        "dpsgd-schedule": both(
            "dpsgd",
            optax.exponential_decay(0.05, 10, 0.8),
            l2_norm_clip=2.0,
            noise_multiplier=0.3,
            seed=3,
        ),
        "dpsgd-nesterov": both(
            "dpsgd", 0.02, 0.5, 1.1, seed=11, momentum=0.9, nesterov=True
        ),
        "aggregate-key": both(
            "differentially_private_aggregate", 1.0, 0.7, key=jax.random.key(5)
        ),
        "aggregate-int": both("differentially_private_aggregate", 4.0, 0.0, key=2),
    }


def test_matches_optax_jitted_float32():
    assert_parity(_pairs(), dtype=jnp.float32, jit=True, batch=BATCH)


def test_matches_optax_jitted_float64(x64):
    pairs = {
        k: v for k, v in _pairs().items() if k in ("dpsgd-nesterov", "aggregate-key")
    }
    assert_parity(pairs, dtype=jnp.float64, jit=True, batch=BATCH)


def test_matches_optax_eagerly():
    pairs = {"dpsgd-nesterov": _pairs()["dpsgd-nesterov"]}
    assert_parity(pairs, small, dtype=jnp.float32, jit=False, batch=BATCH, steps=50)


def _noise(tx, steps=2):
    """The updates for all-zero per-example gradients: noise / batch only."""
    grads = {"a": jnp.zeros((BATCH, 3, 2)), "b": jnp.zeros((BATCH, 5))}
    state = tx.init(jax.tree.map(lambda g: g[0], grads))
    out = []
    for _ in range(steps):
        updates, state = tx.update(grads, state)
        out.append(updates)
    return out


def test_the_same_key_gives_the_same_noise_and_another_key_other_noise():
    ours = _noise(contrib.differentially_private_aggregate(1.0, 2.0, key=7))
    theirs = _noise(oc.differentially_private_aggregate(1.0, 2.0, key=7))
    other = _noise(contrib.differentially_private_aggregate(1.0, 2.0, key=8))
    for a, b, c in zip(ours, theirs, other):
        for x, y, z in zip(jax.tree.leaves(a), jax.tree.leaves(b), jax.tree.leaves(c)):
            np.testing.assert_array_equal(x, y)
            assert not np.allclose(x, z)
    # a fresh draw at every step, not the same noise again
    assert not np.allclose(ours[0]["a"], ours[1]["a"])
    # the standard deviation is C·σ / B
    big = _noise(contrib.differentially_private_aggregate(1.0, 2.0, key=0), 1)[0]
    np.testing.assert_allclose(
        np.std(np.concatenate([big["a"].ravel(), big["b"].ravel()])), 0.5, rtol=0.5
    )


def test_clipping_follows_abadi_et_al():
    """Examples with norm above C are scaled to norm C, others kept; then averaged."""
    per_example = {"a": jnp.asarray([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])}
    tx = contrib.differentially_private_aggregate(1.0, 0.0, key=0)
    updates, _ = tx.update(per_example, tx.init({"a": jnp.zeros(2)}))
    np.testing.assert_allclose(
        updates["a"], (jnp.asarray([0.6, 0.8]) + jnp.asarray([0.3, 0.4])) / 3, rtol=1e-6
    )


def test_dpsgd_does_not_warn(recwarn):
    contrib.dpsgd(0.1, 1.0, 1.0, seed=0)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="dpsgd: `l2_norm_clip` must lie in"):
        contrib.dpsgd(0.1, -1.0, 1.0, seed=0)
    with pytest.raises(ValueError, match="dpsgd: `noise_multiplier`"):
        contrib.dpsgd(0.1, 1.0, float("nan"), seed=0)
    with pytest.raises(TypeError, match="dpsgd: `seed`"):
        contrib.dpsgd(0.1, 1.0, 1.0, seed=None)
    with pytest.raises(ValueError, match="dpsgd: `nesterov=True` needs a `momentum`"):
        contrib.dpsgd(0.1, 1.0, 1.0, seed=0, nesterov=True)
    with pytest.raises(ValueError, match="give `key` or `seed`, not both"):
        contrib.differentially_private_aggregate(1.0, 1.0, key=1, seed=2)
    tx = contrib.differentially_private_aggregate(1.0, 1.0, key=1)
    state = tx.init({"w": jnp.zeros(3), "s": jnp.zeros(())})
    with pytest.raises(ValueError, match="per-example gradients"):
        tx.update({"w": jnp.zeros(3), "s": jnp.zeros(())}, state)
