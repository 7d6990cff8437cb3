"""GaLore: run the optimizer on a low-rank projection of each matrix's gradient."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from optax.contrib import GaLoreDimensionNumbers, GaLoreState

from jaxopt_lessons import _checks
from jaxopt_lessons import tree as tm
from jaxopt_lessons.contrib._wrapped import check_count, cond
from jaxopt_lessons.grouping.declarations import not_elementwise
from jaxopt_lessons.optimizers import _chain
from jaxopt_lessons.transforms.adam import scale_by_adam
from jaxopt_lessons.transforms.scaling import scale_by_learning_rate
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights

__all__ = ["GaLoreDimensionNumbers", "GaLoreState", "galore", "scale_by_galore"]


def _is_spec(x: Any) -> bool:
    return x is None or isinstance(x, GaLoreDimensionNumbers)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


class _Matrix:
    """How one leaf is seen as a matrix: its (rows, columns) after a transpose
    and reshape, and which side the projector multiplies."""

    def __init__(self, fn: str, shape: tuple[int, ...], spec: GaLoreDimensionNumbers):
        ndim = len(shape)
        if ndim < 2:
            raise ValueError(
                f"{fn}: GaLore projects leaves of rank >= 2, but "
                f"`weight_dimension_numbers` selects a leaf of shape {shape}."
            )
        rows = _axes(spec.reduction_axis, ndim)
        cols = _axes(spec.output_axis, ndim)
        if set(rows) & set(cols) or len(set(rows) | set(cols)) != ndim:
            raise ValueError(
                f"{fn}: the reduction axes {rows} and output axes {cols} of {spec} "
                f"must split the {ndim} axes of a leaf of shape {shape} between them."
            )
        self.order = rows + cols
        self.inverse = tuple(sorted(range(ndim), key=lambda i: self.order[i]))
        self.transposed_shape = tuple(shape[a] for a in self.order)
        self.m = math.prod(shape[a] for a in rows)
        self.n = math.prod(shape[a] for a in cols)
        # Project the longer side away: P is m × r (left) or n × r (right).
        self.left = self.m >= self.n

    def to_2d(self, x: jax.Array) -> jax.Array:
        return x.transpose(self.order).reshape(self.m, self.n)

    def from_2d(self, x: jax.Array) -> jax.Array:
        return x.reshape(self.transposed_shape).transpose(self.inverse)


@not_elementwise(
    "it projects each matrix onto the top singular vectors of that matrix's own "
    "gradient"
)
@_checks.entry_point
def scale_by_galore(
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: float = 1.0,
    base_optimizer: optax.GradientTransformation | None = None,
    weight_dimension_numbers: Any = None,
) -> optax.GradientTransformation:
    """GaLore's projection: the base optimizer sees r × n (or m × r) gradients.

    Lesson: the gradient of a weight matrix is close to low rank, so most of
    its information lies in a few directions. Projecting it onto its top r
    singular vectors, and running Adam there, keeps Adam's moments at r/m of
    their size while every weight still moves (the update is projected back
    to full size). The subspace is refreshed every T steps, from the SVD of
    the gradient of that step.

    Update rule for an m × n matrix (G_t its gradient; T = `update_proj_gap`;
    U, V from the float32 SVD G = U S Vᵀ; α = `scale`)::

        if (t − 1) mod T = 0:   P ← U[:, :r]  (m >= n)   or   V[:, :r]  (m < n)
        R_t = Pᵀ G_t   (m >= n)   or   G_t P   (m < n)
        N_t = base_optimizer(R_t)
        u_t = α · P N_t   (m >= n)   or   α · N_t Pᵀ   (m < n)

    with r = min(`rank`, m, n). Leaves that are not projected (by default,
    every leaf that is not 2-D) go through `base_optimizer` at full size, and
    their projector is a 0 × 0 array. The base optimizer is called without
    params: use a scaling block (`scale_by_adam`), not one that needs the
    params (`adamw`); weight decay belongs in `galore`'s `weight_decay`.

    Args:
        rank: r, an integer >= 1.
        update_proj_gap: T, an integer >= 1.
        scale: α, a finite number.
        base_optimizer: the transformation run on the projected gradients;
            None uses `scale_by_adam()`.
        weight_dimension_numbers: which axes of a leaf form the matrix's rows
            (reduction) and columns (output): None (2-D leaves only, rows =
            axis 0), one `GaLoreDimensionNumbers` for every leaf of rank >= 2,
            a tree of them (None for leaves not projected), or a function of
            the params that returns such a tree.

    Returns:
        An `optax.GradientTransformation` whose state is Optax's
        `GaLoreState(count, base_optimizer_state, projector)`.

    Raises:
        TypeError: a non-integer `rank` or `update_proj_gap`; a
            `base_optimizer` that is not a gradient transformation.
        ValueError: `rank` or `update_proj_gap` < 1; a non-finite `scale`;
            dimension numbers that do not split a leaf's axes in two.

    Differences from Optax: none in the numbers. `update_proj_gap` and
    `scale` are checked (Optax takes a gap of 0, a modulo by zero).

    References:
        Zhao, Zhang, Chen, Wang, Anandkumar, Tian, "GaLore: Memory-Efficient
        LLM Training by Gradient Low-Rank Projection", ICML 2024,
        arXiv:2403.03507, Algorithm 2.
    """
    fn = _checks.caller("scale_by_galore")
    check_count(fn, "rank", rank)
    check_count(fn, "update_proj_gap", update_proj_gap)
    _checks.check_interval(fn, "scale", scale, -math.inf, math.inf)
    if base_optimizer is None:
        base_optimizer = scale_by_adam()
    _checks.check_transformation(fn, "base_optimizer", base_optimizer)
    spec_arg = weight_dimension_numbers
    if isinstance(spec_arg, (str, bytes, int, float, complex)):
        raise TypeError(
            f"{fn}: `weight_dimension_numbers` must be None, a GaLoreDimensionNumbers, "
            f"a tree of them or a function of the params, got {spec_arg!r}."
        )

    def specs(tree):
        """Each leaf's dimension numbers, or None where it is not projected."""
        if spec_arg is None:
            return jax.tree.map(
                lambda p: GaLoreDimensionNumbers() if jnp.ndim(p) == 2 else None, tree
            )
        if isinstance(spec_arg, GaLoreDimensionNumbers):
            return jax.tree.map(lambda p: spec_arg if jnp.ndim(p) >= 2 else None, tree)
        if callable(spec_arg):
            return spec_arg(tree)
        return spec_arg

    def matrices(tree):
        """A `_Matrix` or None per leaf of `tree`."""
        return jax.tree.map(
            lambda spec, p: None if spec is None else _Matrix(fn, jnp.shape(p), spec),
            specs(tree),
            tree,
            is_leaf=_is_spec,
        )

    def init_fn(params):
        _checks.check_float_params(fn, params)
        leaves, treedef = jax.tree.flatten(params)
        if not leaves:
            return GaLoreState(
                count=jnp.zeros([], jnp.int32),
                base_optimizer_state=base_optimizer.init(params),
                projector=params,
            )
        shapes = treedef.flatten_up_to(matrices(params))
        projectors, proxies = [], []
        for p, mat in zip(leaves, shapes):
            if mat is None:
                projectors.append(jnp.zeros((0, 0), p.dtype))
                proxies.append(jnp.zeros_like(p))
                continue
            r = min(rank, mat.m, mat.n)
            projectors.append(jnp.zeros((mat.m if mat.left else mat.n, r), p.dtype))
            proxies.append(jnp.zeros((r, mat.n) if mat.left else (mat.m, r), p.dtype))
        return GaLoreState(
            count=jnp.zeros([], jnp.int32),
            base_optimizer_state=base_optimizer.init(treedef.unflatten(proxies)),
            projector=treedef.unflatten(projectors),
        )

    def update_fn(updates, state, params=None):
        del params  # the base optimizer runs on projected shapes
        _checks.check_state(fn, state, GaLoreState)
        updates = tm.as_arrays(updates)
        _checks.check_tree_matches(fn, updates, state.projector, shapes=False)
        refresh = state.count % update_proj_gap == 0
        leaves, treedef = jax.tree.flatten(updates)
        shapes = treedef.flatten_up_to(matrices(updates))
        old = treedef.flatten_up_to(state.projector)
        projected, projectors = [], []
        for g, mat, p_old in zip(leaves, shapes, old):
            if mat is None:
                projected.append(g)
                projectors.append(p_old)
                continue
            g2 = mat.to_2d(g)
            r = p_old.shape[1]

            def top_vectors(g2=g2, mat=mat, r=r):
                u, _, vh = jnp.linalg.svd(g2.astype(jnp.float32), full_matrices=False)
                side = u[:, :r] if mat.left else vh[:r, :].T
                return side.astype(g2.dtype)

            p = cond(refresh, top_vectors, lambda p_old=p_old: p_old)
            projectors.append(p)
            projected.append(p.T @ g2 if mat.left else g2 @ p)
        low_rank, base_state = base_optimizer.update(
            treedef.unflatten(projected), state.base_optimizer_state, None
        )
        out = []
        for n, g, mat, p in zip(
            treedef.flatten_up_to(low_rank), leaves, shapes, projectors
        ):
            if mat is None:
                out.append(n)
                continue
            full = p @ n if mat.left else n @ p.T
            out.append((scale * mat.from_2d(full)).astype(g.dtype))
        return treedef.unflatten(out), GaLoreState(
            count=tm.increment(state.count),
            base_optimizer_state=base_state,
            projector=treedef.unflatten(projectors),
        )

    return optax.GradientTransformation(init_fn, update_fn)


@_checks.entry_point
def galore(
    learning_rate: optax.ScalarOrSchedule,
    rank: int = 128,
    update_proj_gap: int = 200,
    scale: float = 1.0,
    base_optimizer: optax.GradientTransformation | None = None,
    weight_decay: jax.typing.ArrayLike = 0.0,
    mask: Any | Callable[[optax.Params], Any] | None = None,
    weight_dimension_numbers: Any = None,
) -> optax.GradientTransformationExtraArgs:
    """GaLore: Adam (by default) on low-rank gradient projections, then decoupled
    weight decay at full size and the learning rate. Maths in `scale_by_galore`.

    Same signature, defaults, state layout and numbers as
    `optax.contrib.galore`.
    Chain: `scale_by_galore(rank, update_proj_gap, scale, base_optimizer,
    weight_dimension_numbers)` → `add_decayed_weights(weight_decay, mask)` →
    `scale_by_learning_rate(learning_rate)`.

    Raises:
        ValueError, TypeError: an invalid hyperparameter (see
            `scale_by_galore`).

    References:
        Zhao et al., "GaLore", ICML 2024, arXiv:2403.03507.
    """
    _checks.check_learning_rate("galore", "learning_rate", learning_rate)
    return _chain.chain(
        scale_by_galore(
            rank=rank,
            update_proj_gap=update_proj_gap,
            scale=scale,
            base_optimizer=base_optimizer,
            weight_dimension_numbers=weight_dimension_numbers,
        ),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
