"""DoG: a step size from how far the parameters have moved, over the gradients seen."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.transforms._states import ScaleByDistanceOverGradientsState

__all__ = ["ScaleByDistanceOverGradientsState", "scale_by_distance_over_gradients"]


def _distance(x, y=0.0):
    """‖x − y‖₂ over the whole array."""
    return jnp.sqrt(jnp.square(x - y).sum())


@not_elementwise(
    "each parameter array gets its own step size, from its own distance "
    "travelled and its own gradient norms (layer-wise DoG)"
)
@_checks.entry_point
def scale_by_distance_over_gradients(
    reps_rel: jax.typing.ArrayLike = 1e-6,
    eps: jax.typing.ArrayLike = 1e-8,
    param_dtype=jnp.float32,
    global_scale: jax.typing.ArrayLike = 1.0,
) -> optax.GradientTransformation:
    """Scales each parameter array's update by its DoG step size (layer-wise DoG).

    Lesson: a learning rate without tuning. The ideal constant step of SGD
    on a convex problem is ‖x₀ − x*‖ / √(Σ‖g‖²); DoG replaces the unknown
    distance to the optimum by the largest distance travelled so far, which
    grows from a tiny start r_ε until the steps stop taking the parameters
    further. Here every parameter array has its own step (LDoG).

    Update rule, per array x with initial value x₀ (σ: `global_scale`)::

        r_0 = r_rel · (1 + ‖x₀‖)
        r_t = max(r_{t−1}, ‖x_t − x₀‖)
        G_t = G_{t−1} + ‖g_t‖²           (G_{−1} = 0)
        u_t = σ · r_t / √(G_t + ε) · g_t

    The direction is not negated: chain with `scale(-1)` or use σ = −1.

    Args:
        reps_rel: r_rel > 0, the initial distance relative to 1 + ‖x₀‖ (the
            authors suggest 1e-6, or 1e-4 with batch normalisation).
        eps: ε > 0, keeps the first step finite when G = 0.
        param_dtype: the dtype of the stored x₀.
        global_scale: σ, any finite real.

    Returns:
        An `optax.GradientTransformation` with state
        `ScaleByDistanceOverGradientsState` (max_dist r, grad_sum_of_squares
        G of shape (1,) per array, as Optax stores it, and init_params x₀).
        Its `update` needs `params`.

    Raises:
        ValueError: a hyperparameter out of range.
        TypeError: a wrong type; integer params; `update` without params.

    Note:
        Two deliberate differences from `optax.scale_by_distance_over_gradients`:
        a 0-d parameter gets a 0-d update (Optax's is of shape (1,), which
        `apply_updates` turns into a parameter of shape (1,)), and updates
        keep the gradient's dtype (Optax's are promoted to float32 for
        bfloat16 gradients).

    References:
        Ivgi, Hinder, Carmon, "DoG is SGD's Best Friend: A Parameter-Free
        Dynamic Step Size Schedule", ICML 2023, eq. 1 and section 4 (LDoG).
    """
    fn = _checks.caller("scale_by_distance_over_gradients")
    _checks.check_positive(fn, "reps_rel", reps_rel)
    _checks.check_positive(fn, "eps", eps)
    param_dtype = _checks.check_dtype(fn, "param_dtype", param_dtype)
    _checks.check_interval(
        fn, "global_scale", global_scale, -float("inf"), float("inf")
    )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        return ScaleByDistanceOverGradientsState(
            jax.tree.map(lambda x: reps_rel * (1 + _distance(x)), params),
            jax.tree.map(lambda x: jnp.zeros(1), params),
            optax.tree.cast(params, param_dtype),
        )

    def update_fn(updates, state, params=None):
        updates = _checks.checked_updates(
            fn, updates, state, ScaleByDistanceOverGradientsState, "init_params"
        )
        if params is None:
            raise TypeError(
                f"{fn}: `update` needs `params` (the step size depends on the "
                "distance travelled from the initial params)."
            )
        _checks.check_updates_match_params(fn, updates, params)
        max_dist = jax.tree.map(
            lambda r, x, x0: jnp.maximum(r, _distance(x, x0)),
            state.max_dist,
            params,
            state.init_params,
        )
        g_sos = jax.tree.map(
            lambda s, g: s + jnp.square(g).sum(), state.grad_sum_of_squares, updates
        )

        def scaled(g, r, s):
            eta = global_scale * (r / jnp.sqrt(s + eps))  # shape (1,)
            return (jnp.reshape(eta, ()) * g).astype(g.dtype)

        out = jax.tree.map(scaled, updates, max_dist, g_sos)
        return out, ScaleByDistanceOverGradientsState(
            max_dist, g_sos, state.init_params
        )

    return optax.GradientTransformation(init_fn, update_fn)
