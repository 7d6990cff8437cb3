"""L-BFGS: a quasi-Newton direction from the last m steps, by the two-loop recursion."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import ScaleByLBFGSState

__all__ = ["ScaleByLBFGSState", "precondition_by_lbfgs", "scale_by_lbfgs"]


def precondition_by_lbfgs(
    updates: Any,
    diff_params_memory: Any,
    diff_updates_memory: Any,
    weights_memory: jax.Array,
    identity_scale: Any,
    memory_idx: jax.Array,
) -> Any:
    """H·g for the L-BFGS inverse-Hessian estimate H, without forming H.

    With the stored pairs (s_i, y_i) = (Δparams, Δgradients) and weights
    ρ_i = 1/⟨y_i, s_i⟩, H is defined recursively from H⁰ = γ·I by

        H ← (I − ρ_i s_i y_iᵀ) H (I − ρ_i y_i s_iᵀ) + ρ_i s_i s_iᵀ

    over the pairs from oldest to newest. Expanding the products gives the
    two-loop recursion (Nocedal & Wright, Algorithm 7.4), which touches each
    pair twice and needs only inner products::

        q ← g
        for i newest → oldest:   α_i = ρ_i ⟨s_i, q⟩;   q ← q − α_i y_i
        r ← γ q
        for i oldest → newest:   β_i = ρ_i ⟨y_i, r⟩;   r ← r + (α_i − β_i) s_i
        return r

    The pairs live in a ring buffer: leaf k of `diff_params_memory` has shape
    (m, *shape of the parameter), and slot `memory_idx` is the oldest (it is
    the next to be overwritten). Empty slots hold zeros with ρ = 0 and change
    nothing. Inner products are real parts of ⟨a, b⟩ = Σ conj(a)·b over the
    whole tree, so complex parameters work.

    Args:
        updates: g, the direction to precondition (a pytree).
        diff_params_memory: s_i, stacked along a leading axis of size m.
        diff_updates_memory: y_i, stacked likewise.
        weights_memory: ρ_i, shape (m,).
        identity_scale: γ, the scale of the initial estimate H⁰ = γ·I.
        memory_idx: the slot of the oldest pair.

    Returns:
        H·g, shaped and typed like `updates`.
    """
    memory_size = weights_memory.shape[0]
    oldest_to_newest = (memory_idx + jnp.arange(memory_size)) % memory_size

    def pair(i):
        return jax.tree.map(lambda m: m[i], (diff_params_memory, diff_updates_memory))

    def first_loop(q, i):
        s, y = pair(i)
        alpha = weights_memory[i] * optax.tree.real(optax.tree.vdot(s, q))
        q_next = optax.tree.add_scale(q, -alpha, y)
        return optax.tree.cast_like(q_next, q), alpha

    # newest → oldest: scan over the slots in reverse; the alphas come back
    # in the slots' order (oldest first).
    q, alphas = jax.lax.scan(first_loop, updates, oldest_to_newest, reverse=True)
    r = optax.tree.scale(identity_scale, q)

    def second_loop(r, i_alpha):
        i, alpha = i_alpha
        s, y = pair(i)
        beta = weights_memory[i] * optax.tree.real(optax.tree.vdot(y, r))
        r_next = optax.tree.add_scale(r, alpha - beta, s)
        return optax.tree.cast_like(r_next, r), beta

    r, _ = jax.lax.scan(second_loop, r, (oldest_to_newest, alphas))
    return r


def _check_memory_size(fn: str, memory_size: Any) -> None:
    if isinstance(memory_size, (bool, np.bool_)) or not isinstance(
        memory_size, (int, np.integer)
    ):
        raise TypeError(
            f"{fn}: `memory_size` must be an int (the number of stored pairs), "
            f"got {memory_size!r} of type {type(memory_size).__name__}."
        )
    if memory_size < 1:
        raise ValueError(f"{fn}: `memory_size` must be >= 1, got {memory_size!r}.")


@not_elementwise(
    "the L-BFGS direction mixes every coordinate through inner products of "
    "whole-tree vectors, and its memory stacks each leaf m times"
)
@_checks.entry_point
def scale_by_lbfgs(
    memory_size: int = 10,
    scale_init_precond: bool = True,
) -> optax.GradientTransformation:
    """Multiplies the update by the L-BFGS estimate of the inverse Hessian.

    Lesson: Newton's step H⁻¹g stops depending on the condition number, but
    H costs p² memory. BFGS builds H⁻¹ from what the steps reveal: after a
    step s = Δparams, the gradient changed by y = Δg ≈ H s, so the estimate
    is asked to satisfy the secant equation H⁻¹ y = s. L-BFGS keeps only the
    last m pairs (s, y) and applies the estimate in O(m·p) with the two-loop
    recursion (`precondition_by_lbfgs`).

    Update rule, at step k with gradient (or incoming update) g_k and
    parameters w_k::

        s = w_k − w_{k−1},   y = g_k − g_{k−1},   ρ = 1/⟨y, s⟩ (0 if ⟨y, s⟩ = 0)
        store (s, y, ρ) in the ring buffer, replacing the oldest pair
                                      (at k = 0 nothing is known: zeros, ρ = 0)
        γ = ⟨y, s⟩ / ⟨y, y⟩            (1 if y = 0)   with scale_init_precond
        γ = min(1, 1/‖g_0‖)            at k = 0,      with scale_init_precond
        γ = 1                                         otherwise
        u_k = H_k g_k                  (two-loop recursion, H⁰ = γ·I)

    The memory is updated *before* the direction is computed, with the
    params and gradient of this call: chained with a line search, the pair
    is the step the line search actually took. The first step's γ is a
    heuristic (Optax's): the step has length at most 1.

    The direction is not negated: `lbfgs` chains it with `scale(-1)` or a
    learning rate, then a line search.

    Args:
        memory_size: m >= 1, the number of stored pairs.
        scale_init_precond: scale the initial estimate by γ as above (else
            the identity).

    Returns:
        An `optax.GradientTransformation` with state `ScaleByLBFGSState`
        (count, params, updates: those of the last call; the stacked s and
        y; the weights ρ). Its `update` needs `params`.

    Raises:
        ValueError: `memory_size` < 1.
        TypeError: `memory_size` not an int, `scale_init_precond` not a bool,
            integer params, or `update` called without params.

    References:
        Nocedal & Wright, "Numerical Optimization", 2nd ed., Springer 2006,
        Algorithms 7.4 (two-loop recursion) and 7.5 (L-BFGS), and eq. 7.20
        for γ.
        Liu & Nocedal, "On the limited memory BFGS method for large scale
        optimization", Mathematical Programming 45, 1989.
    """
    fn = _checks.caller("scale_by_lbfgs")
    _check_memory_size(fn, memory_size)
    _checks.check_bool(fn, "scale_init_precond", scale_init_precond)

    def init_fn(params):
        _checks.check_float_params(fn, params)
        stacked_zeros = jax.tree.map(
            lambda p: jnp.zeros((memory_size, *p.shape), p.dtype), params
        )
        return ScaleByLBFGSState(
            count=jnp.asarray(0, jnp.int32),
            params=optax.tree.zeros_like(params),
            updates=optax.tree.zeros_like(params),
            diff_params_memory=stacked_zeros,
            diff_updates_memory=stacked_zeros,
            weights_memory=jnp.zeros(memory_size),
        )

    def update_fn(updates, state, params=None):
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByLBFGSState, "params"
        )
        if params is None:
            raise TypeError(
                f"{fn}: `update` needs `params` (the pairs s_k are differences "
                "of parameters)."
            )
        _checks.check_updates_match_params(fn, updates, params)
        oldest = state.count % memory_size  # once the new pair is stored
        previous = (state.count - 1) % memory_size
        started = state.count > 0

        # 1. The new pair (s, y, ρ); all zero on the first call.
        s = optax.tree.sub(params, state.params)
        y = optax.tree.sub(updates, state.updates)
        ys = optax.tree.real(optax.tree.vdot(y, s))
        rho = jnp.where(ys == 0.0, 0.0, 1.0 / ys)
        s, y, rho = jax.tree.map(
            lambda x: jnp.where(started, x, jnp.zeros_like(x)), (s, y, rho)
        )
        s_memory, y_memory, rho_memory = jax.tree.map(
            lambda memory, x: memory.at[previous].set(x),
            (state.diff_params_memory, state.diff_updates_memory, state.weights_memory),
            (s, y, rho),
        )

        # 2. γ, the scale of H⁰ = γ·I.
        if scale_init_precond:
            yy = optax.tree.norm(y, squared=True)
            gamma = jnp.where(
                yy > 0.0, optax.tree.real(optax.tree.vdot(y, s)) / yy, 1.0
            )
            first_gamma = jnp.minimum(
                1.0, 1.0 / optax.tree.norm(jax.lax.stop_gradient(updates))
            )
            gamma = jnp.where(started, gamma, first_gamma)
        else:
            gamma = 1.0

        # 3. u = H g.
        direction = precondition_by_lbfgs(
            updates, s_memory, y_memory, rho_memory, gamma, oldest
        )
        return direction, ScaleByLBFGSState(
            count=tm.increment(state.count),
            params=params,
            updates=updates,
            diff_params_memory=s_memory,
            diff_updates_memory=y_memory,
            weights_memory=rho_memory,
        )

    return optax.GradientTransformation(init_fn, update_fn)
