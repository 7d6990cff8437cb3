"""Muon: momentum whose matrix updates are orthogonalised by Newton–Schulz."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from optax.contrib import MuonDimensionNumbers, MuonState
from optax.transforms import MaskedNode

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib import muon_shapes as shapes
from jaxopt_lessons.contrib import newton_schulz as ns
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.optimizers.adam import adamw
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["MuonDimensionNumbers", "MuonState", "muon", "scale_by_muon"]

_REASON = (
    "it orthogonalises each matrix as a whole (Newton–Schulz on X·Xᵀ), "
    "which needs the parameter's own rows and columns"
)


def _check_coeffs(fn: str, ns_coeffs: Any, ns_steps: Any) -> None:
    """(a, b, c), or k rows of them with k <= ns_steps (Optax's rule)."""
    if isinstance(ns_coeffs, jax.core.Tracer):
        return
    try:
        if not isinstance(ns_coeffs, (tuple, list, np.ndarray, jax.Array)):
            raise TypeError
        coeffs = np.asarray(ns_coeffs, np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{fn}: `ns_coeffs` must be three numbers (a, b, c), rows of them, or "
            f"a preset name ({', '.join(map(repr, ns.NS_COEFFS_PRESETS))}), "
            f"got {ns_coeffs!r}."
        ) from None
    if coeffs.ndim not in (1, 2) or coeffs.shape[-1] != 3:
        raise ValueError(
            f"{fn}: `ns_coeffs` must have shape (3,) or (k, 3), got {ns_coeffs!r} "
            f"of shape {coeffs.shape}."
        )
    if not np.all(np.isfinite(coeffs)):
        raise ValueError(f"{fn}: `ns_coeffs` must be finite, got {ns_coeffs!r}.")
    if (
        coeffs.ndim == 2
        and not isinstance(ns_steps, jax.core.Tracer)
        and coeffs.shape[0] > ns_steps
    ):
        raise ValueError(
            f"{fn}: `ns_coeffs` has {coeffs.shape[0]} rows (one per step), more "
            f"than `ns_steps`={ns_steps!r}; as in Optax, the rows are all run and "
            "must number at most `ns_steps`."
        )


def _check_ns_steps(fn: str, ns_steps: Any) -> None:
    if not _checks.check_int(fn, "ns_steps", ns_steps):
        return
    if np.ndim(ns_steps) != 0 or int(ns_steps) < 0:
        raise ValueError(f"{fn}: `ns_steps` must be an int >= 0, got {ns_steps!r}.")


def _check_preconditioning(fn: str, preconditioning: Any) -> None:
    if preconditioning not in ns.PRECONDITIONINGS:
        raise ValueError(
            f"{fn}: `preconditioning` must be one of "
            f"{', '.join(map(repr, ns.PRECONDITIONINGS))}, got {preconditioning!r}."
        )


@not_elementwise(_REASON)
@_checks.entry_point
def scale_by_muon(
    ns_coeffs: Any = ns.DEFAULT_NS_COEFFS,
    ns_steps: jax.typing.ArrayLike = 5,
    beta: jax.typing.ArrayLike = 0.95,
    eps: jax.typing.ArrayLike = 1e-8,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    weight_dimension_numbers: Any = None,
) -> optax.GradientTransformation:
    """Muon's direction: the bias-corrected momentum of each matrix, orthogonalised.

    Lesson: for a weight matrix W (y = x·W) the natural size of a step is
    its spectral norm, how much it can change any output. Among steps of
    spectral norm 1, the one best aligned with the momentum M = U·S·Vᵀ is
    U·Vᵀ: every direction the momentum points to moves by the same amount,
    instead of the few large singular directions dominating (Bernstein and
    Newhouse, 2024). Newton–Schulz computes about U·Vᵀ with matrix products
    only (`jaxopt_lessons.contrib.newton_schulz`).

    Update rule (t from 1, m_0 = 0)::

        m_t = β · m_{t-1} + (1 − β) · g_t
        m̂_t = m_t / (1 − βᵗ)                                   (nesterov=False)
        m̂_t = β · m_t / (1 − βᵗ⁺¹) + (1 − β) · g_t / (1 − βᵗ)  (nesterov=True)
        u_t = NS(m̂_t)             NS: `ns_steps` Newton–Schulz steps after
                                  the `preconditioning` scaling (X/(‖X‖_F + ε)
                                  for 'frobenius', X/(‖X‖₂ + ε) for 'spectral')
        u_t ← ⟨m̂_t, u_t⟩ · u_t    (adaptive=True: the dual norm of m̂)

    Every leaf must be a matrix, or be given `MuonDimensionNumbers` that name
    its matrix axes (the others are batch axes). Leaves whose matrices have
    the same shape are orthogonalised together, in one batched computation.

    Args:
        ns_coeffs: (a, b, c) of the polynomial, or one row per step.
        ns_steps: number of steps (unused when `ns_coeffs` has rows).
        beta: β, the momentum decay, in [0, 1).
        eps: ε > 0 in the rescaling before the first step.
        mu_dtype: dtype of m; None keeps each parameter's dtype.
        nesterov: use the look-ahead form of m̂.
        adaptive: scale by ⟨m̂, NS(m̂)⟩ (Bernstein and Newhouse, 2024).
        preconditioning: 'frobenius', 'spectral', 'aol' or 'schatten'.
        weight_dimension_numbers: None (every leaf a matrix), one
            `MuonDimensionNumbers`, a tree of them (None for a plain matrix)
            shaped like a prefix of the params, or a function of the updates
            returning one.

    Returns:
        An `optax.GradientTransformation` whose state is Optax's `MuonState`
        (`ns_coeffs` held as an array).

    Raises:
        ValueError: β outside [0, 1); ε not positive; `ns_coeffs` not (3,)
            or (k, 3), or with more rows than `ns_steps`; an unknown
            `preconditioning`; a leaf that is not a matrix and has no
            dimension numbers.
        TypeError: a flag not a bool; `ns_steps` not an int.

    Differences from Optax: one batched Newton–Schulz per matrix shape
    (Optax: one per leaf); `weight_dimension_numbers` may be None or one
    `MuonDimensionNumbers` for a tree of several matrices (Optax's
    `scale_by_muon` then fails to match the trees); the checks above are run
    when the transform is built.

    References:
        Jordan, "Muon: An optimizer for hidden layers in neural networks",
        2024, https://kellerjordan.github.io/posts/muon/.
        Bernstein and Newhouse, "Old Optimizer, New Norm: An Anthology", 2024,
        arXiv:2409.20325.
        Liu et al., "Muon is Scalable for LLM Training", 2025, arXiv:2502.16982.
    """
    fn = _checks.caller("scale_by_muon")
    _check_ns_steps(fn, ns_steps)
    _check_coeffs(fn, ns_coeffs, ns_steps)
    _checks.check_interval(fn, "beta", beta, 0.0, 1.0)
    _checks.check_positive(fn, "eps", eps)
    mu_dtype = _checks.check_dtype(fn, "mu_dtype", mu_dtype)
    _checks.check_bool(fn, "nesterov", nesterov)
    _checks.check_bool(fn, "adaptive", adaptive)
    _check_preconditioning(fn, preconditioning)
    shapes.check_dims(fn, "weight_dimension_numbers", weight_dimension_numbers)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        coeffs = jnp.asarray(ns_coeffs)
        if coeffs.ndim == 2:
            coeffs = coeffs[-ns_steps:]
        return MuonState(
            count=jnp.zeros([], jnp.int32),
            mu=tm.zeros_like(params, dtype=mu_dtype),
            ns_coeffs=coeffs,
        )

    def update_fn(updates, state, params=None):
        del params
        updates = _checks.checked_updates(fn, updates, state, MuonState, "mu")
        dims = shapes.dims_per_leaf(fn, updates, weight_dimension_numbers)
        # 1) The momentum and its bias correction.
        mu = tm.ema_update(updates, state.mu, beta)
        count = tm.increment(state.count)
        mu_hat = tm.debiased_momentum(mu, updates, beta, count, nesterov=nesterov)
        # 2) Every matrix orthogonalised, one batched program per shape.
        leaves, treedef = jax.tree.flatten(mu_hat)
        ortho = ns.orthogonalize_leaves(
            leaves, dims, state.ns_coeffs, ns_steps, preconditioning, eps
        )
        if adaptive:
            ortho = [jnp.sum(m.conj() * o) * o for m, o in zip(leaves, ortho)]
        state = MuonState(
            count=count, mu=tm.cast_like(mu, state.mu), ns_coeffs=state.ns_coeffs
        )
        return jax.tree.unflatten(treedef, ortho), state

    return optax.GradientTransformation(init_fn, update_fn)


def _labels_and_dims(dims: Any) -> tuple[Callable, Callable]:
    """`param_labels` ('muon' or 'adam' per leaf) and the dimension numbers of
    the muon leaves, with `MaskedNode` where `optax.partition` hides the rest.

    Without `dims` every 2-D leaf goes to Muon; with it, a None in the tree
    sends its subtree to Adam.
    """
    if dims is None:

        def labels(params):
            return jax.tree.map(
                lambda x: "muon" if jnp.ndim(x) == 2 else "adam", params
            )

        dims = MuonDimensionNumbers()
    else:

        def labels(params):
            tree = dims(params) if callable(dims) else dims
            return jax.tree.map(
                lambda d, sub: jax.tree.map(
                    lambda _: "adam" if d is None else "muon", sub
                ),
                tree,
                params,
                is_leaf=lambda x: x is None or isinstance(x, MuonDimensionNumbers),
            )

    def muon_dims(params):
        tree = dims(params) if callable(dims) else dims
        mask = jax.tree.map(lambda label: label == "muon", labels(params))
        return jax.tree.map(
            lambda d, sub: jax.tree.map(lambda m: d if m else MaskedNode(), sub),
            tree,
            mask,
            is_leaf=shapes.is_dims_leaf,
        )

    return labels, muon_dims


@_checks.entry_point
def muon(
    learning_rate: optax.ScalarOrSchedule,
    ns_coeffs: Any = ns.DEFAULT_NS_COEFFS,
    ns_steps: jax.typing.ArrayLike = 5,
    beta: jax.typing.ArrayLike = 0.95,
    eps: jax.typing.ArrayLike = 1e-8,
    weight_decay: jax.typing.ArrayLike = 0.0,
    weight_decay_mask: Any | None = None,
    mu_dtype: Any | None = None,
    *,
    nesterov: bool = True,
    adaptive: bool = False,
    preconditioning: str = "frobenius",
    adam_b1: jax.typing.ArrayLike = 0.9,
    adam_b2: jax.typing.ArrayLike = 0.999,
    adam_eps_root: jax.typing.ArrayLike = 0.0,
    adam_weight_decay: jax.typing.ArrayLike = 0.0,
    adam_learning_rate: optax.ScalarOrSchedule | None = None,
    muon_weight_dimension_numbers: Any = None,
    consistent_rms: jax.typing.ArrayLike | None = None,
) -> optax.GradientTransformation:
    """Muon for the matrices, AdamW for every other parameter.

    Same signature, defaults and state layout as `optax.contrib.muon`. The
    params are split with `optax.partition`: by default every 2-D leaf is a
    'muon' leaf, every other leaf (biases, scales, embeddings given as
    vectors) an 'adam' leaf; `muon_weight_dimension_numbers` (a tree or a
    function of the params; None sends a subtree to Adam) chooses instead.

        muon leaves:  scale_by_muon → scale_by_shape(consistent_rms)
                      → add_decayed_weights(weight_decay, weight_decay_mask)
                      → scale_by_learning_rate(learning_rate)
        adam leaves:  adamw(adam_learning_rate or learning_rate, adam_b1,
                      adam_b2, eps, adam_eps_root, adam_weight_decay,
                      nesterov=nesterov)

    The maths is in `scale_by_muon` and `scale_by_shape`. `ns_coeffs` may
    also name a preset: 'standard' (Jordan's (3.4445, −4.7750, 2.0315)) or
    'dion' (Ahn et al.'s five-step schedule). Note that Adam's leaves share
    `eps` and `nesterov` with Muon (an NAdamW by default), as in Optax.

    Raises:
        ValueError: an invalid hyperparameter or an unknown preset name.

    References:
        Jordan, "Muon: An optimizer for hidden layers in neural networks", 2024.
        Liu et al., "Muon is Scalable for LLM Training", 2025, arXiv:2502.16982.
        Ahn et al., "Dion: Distributed Orthonormalized Updates", 2025,
        arXiv:2504.05295.
    """
    fn = _checks.caller("muon")
    _checks.check_learning_rate(fn, "learning_rate", learning_rate)
    _checks.check_learning_rate(
        fn, "adam_learning_rate", adam_learning_rate, allow_none=True
    )
    if isinstance(ns_coeffs, str):
        if ns_coeffs not in ns.NS_COEFFS_PRESETS:
            raise ValueError(
                f"{fn}: `ns_coeffs` names no preset: {ns_coeffs!r} (presets: "
                f"{', '.join(map(repr, ns.NS_COEFFS_PRESETS))})."
            )
        ns_coeffs = ns.NS_COEFFS_PRESETS[ns_coeffs]
    # Adam's arguments under their names here (adamw would call them b1, ...).
    _checks.check_interval(fn, "adam_b1", adam_b1, 0.0, 1.0)
    _checks.check_interval(fn, "adam_b2", adam_b2, 0.0, 1.0)
    _checks.check_non_negative(fn, "adam_eps_root", adam_eps_root)
    _checks.check_weight_decay(fn, "adam_weight_decay", adam_weight_decay)
    if consistent_rms is not None:
        _checks.check_non_negative(fn, "consistent_rms", consistent_rms)
    shapes.check_dims(
        fn, "muon_weight_dimension_numbers", muon_weight_dimension_numbers
    )
    labels, muon_dims = _labels_and_dims(muon_weight_dimension_numbers)
    if adam_learning_rate is None:
        adam_learning_rate = learning_rate
    split = optax.partition(
        transforms={
            "muon": _chain.chain(
                scale_by_muon(
                    ns_coeffs,
                    ns_steps,
                    beta,
                    eps,
                    mu_dtype,
                    nesterov=nesterov,
                    adaptive=adaptive,
                    preconditioning=preconditioning,
                    weight_dimension_numbers=muon_dims,
                ),
                shapes.scale_by_shape(muon_dims, consistent_rms),
                add_decayed_weights(weight_decay, weight_decay_mask),
                scale_by_learning_rate(learning_rate),
            ),
            "adam": adamw(
                adam_learning_rate,
                adam_b1,
                adam_b2,
                eps,
                adam_eps_root,
                mu_dtype,
                adam_weight_decay,
                nesterov=nesterov,
            ),
        },
        param_labels=labels,
    )

    def update_fn(updates, state, params=None, **extra_args):
        _checks.check_state(fn, state, optax.transforms.PartitionState)
        return split.update(updates, state, params, **extra_args)

    return optax.GradientTransformationExtraArgs(split.init, update_fn)
