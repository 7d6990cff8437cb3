"""Hutchinson's estimator of the Hessian's diagonal: E[z ⊙ Hz] = diag(H)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax.contrib import HutchinsonState

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.declarations import not_elementwise

__all__ = ["HutchinsonState", "hutchinson_estimator_diag_hessian"]


def _as_random_seed(fn, random_seed):
    """None → jax.random.PRNGKey(0), as Optax; keys pass; an int becomes PRNGKey(int)."""
    if random_seed is None:
        return jax.random.PRNGKey(0)
    if isinstance(random_seed, (bool, np.bool_)):
        raise TypeError(
            f"{fn}: `random_seed` must be a key or an integer seed, got {random_seed!r}."
        )
    if isinstance(random_seed, (int, np.integer)):
        return jax.random.PRNGKey(random_seed)
    if isinstance(random_seed, (jax.Array, np.ndarray)):
        dtype = random_seed.dtype
        if jnp.issubdtype(dtype, jax.dtypes.prng_key) and random_seed.ndim == 0:
            return random_seed
        if dtype == jnp.uint32 and random_seed.shape == (2,):
            return jnp.asarray(random_seed)  # jax.random.PRNGKey's raw form
    raise TypeError(
        f"{fn}: `random_seed` must be a key (jax.random.key or jax.random.PRNGKey) "
        f"or an integer seed, got {random_seed!r}."
    )


@not_elementwise(
    "it draws its random signs leaf by leaf from per-leaf keys and differentiates "
    "`obj_fn`, a function of the params' own tree"
)
@_checks.entry_point
def hutchinson_estimator_diag_hessian(
    random_seed: jax.Array | None = None,
) -> optax.GradientTransformationExtraArgs:
    """An unbiased estimate of the Hessian's diagonal from one Hessian-vector product.

    Lesson: the diagonal of an n × n Hessian costs n Hessian-vector products
    to compute exactly, but one product with a random sign vector z already
    gives it in expectation: E[zᵢ (Hz)ᵢ] = Σⱼ Hᵢⱼ E[zᵢzⱼ] = Hᵢᵢ, because
    E[zᵢzⱼ] = 1 if i = j and 0 otherwise. One product costs about two
    gradients (forward-over-reverse differentiation).

    Update rule (z: independent ±1 entries; H = ∇²f at the params)::

        u_t = z ⊙ (H z)

    `update` ignores the incoming updates and needs `params` and
    ``obj_fn=``, the loss as a function of the params alone; other extra
    arguments are ignored. Each call splits the key into (next key, sample
    key), and the sample key into one key per leaf in tree order; the signs
    are drawn as float32, as in `optax.contrib.hutchinson_estimator_diag_hessian`
    with the same key, so the estimates agree.

    Args:
        random_seed: the key (`jax.random.PRNGKey` or `jax.random.key`), or an
            integer seed; None uses `jax.random.PRNGKey(0)`, as Optax does.

    Returns:
        An `optax.GradientTransformationExtraArgs` whose state is Optax's
        `HutchinsonState(key)`.

    Raises:
        TypeError: a `random_seed` that is neither a key nor an integer.
        ValueError: `update` without `params` or `obj_fn`.

    Differences from Optax: each leaf's signs take that leaf's dtype (±1 is
    exact in every float dtype). Optax casts every leaf's signs to the
    lowest dtype of the tree, and `jax.jvp` then refuses a tree mixing, say,
    float32 and bfloat16 params. An integer seed is accepted.

    References:
        Hutchinson, "A stochastic estimator of the trace of the influence
        matrix for Laplacian smoothing splines", Commun. Stat. Simul. Comput.
        18(3), 1989; Bekas, Kokiopoulou, Saad, "An estimator for the diagonal
        of a matrix", Appl. Numer. Math. 57(11), 2007 (the diagonal form);
        Liu et al., "Sophia", arXiv:2305.14342, 2023, Algorithm 1.
    """
    fn = _checks.caller("hutchinson_estimator_diag_hessian")
    key = _as_random_seed(fn, random_seed)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return HutchinsonState(key=key)

    def update_fn(updates, state, params=None, obj_fn=None, **extra_args):
        del updates, extra_args
        _checks.check_state(fn, state, HutchinsonState)
        _checks.require_params(fn, params)
        if obj_fn is None:
            raise ValueError(
                f"{fn}: `update` needs `obj_fn=`, the loss as a function of the "
                "params alone (e.g. lambda p: loss(p, batch))."
            )
        _checks.check_float_params(fn, params)
        next_key, sample_key = jax.random.split(state.key)
        leaves, treedef = jax.tree.flatten(params)
        leaf_keys = jax.random.split(sample_key, len(leaves))
        signs = [
            jax.random.rademacher(k, jnp.shape(p), jnp.float32).astype(p.dtype)
            for k, p in zip(leaf_keys, leaves)
        ]
        signs = jax.tree.unflatten(treedef, signs)
        hessian_times_signs = jax.jvp(jax.grad(obj_fn), (params,), (signs,))[1]
        estimate = jax.tree.map(lambda h, z: h * z, hessian_times_signs, signs)
        return estimate, HutchinsonState(key=next_key)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
