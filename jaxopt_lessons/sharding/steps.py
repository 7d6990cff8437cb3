"""The data-parallel steps: `make_sharded_train_step` and `make_sharded_apply_step`.

Each device updates its slice of the parameters with its slice of the state;
the layouts are planned once per layout of the arguments (`plan._plan_tree`)
and fixed inside the jitted step, where XLA inserts the collectives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping import is_grouped
from jaxopt_lessons.sharding.plan import _plan_tree
from jaxopt_lessons.sharding.specs import (
    _check_mesh_axis,
    _param_specs,
    _paths,
    _spec_for,
)
from jaxopt_lessons.training import DonatingStep

__all__ = ["make_sharded_apply_step", "make_sharded_train_step"]


def _constrainer(mesh: Mesh) -> Callable[[Any, Any], Any]:
    """How to lay out a traced value: `reshard` on a mesh with Explicit axes
    (the default of `jax.make_mesh`), `with_sharding_constraint` on Auto ones."""
    explicit = jax.sharding.AxisType.Explicit
    if any(t == explicit for t in getattr(mesh, "axis_types", ())):
        return jax.sharding.reshard
    return jax.lax.with_sharding_constraint


def _layout_key(leaf: Any) -> tuple:
    """A leaf's shape and sharding, with equivalent shardings alike (a step
    returns ``P(None, None)`` for the ``P()`` it was given)."""
    shape = tuple(jnp.shape(leaf))
    sharding = getattr(leaf, "sharding", None)
    if isinstance(sharding, NamedSharding):
        spec = tuple(sharding.spec) + (None,) * (len(shape) - len(sharding.spec))
        return shape, sharding.mesh, spec, sharding.memory_kind
    return shape, sharding


class _ShardedStep:
    """A data-parallel step, traced once per layout of its arguments.

    `loss_fn` None makes it an apply step: ``step(params, opt_state, grads)``.
    The layouts are read from the arguments before tracing (a traced value
    has no sharding to read), and the shardings are fixed inside the step
    with `_constrainer`, so the jitted function needs no `in_shardings`.
    """

    def __init__(self, fn, loss_fn, tx, mesh, axis, has_aux, donate, shard_state):
        self._fn = fn
        self._loss_fn = loss_fn
        self._tx = tx
        self._mesh = mesh
        self._axis = axis
        self._has_aux = has_aux
        self._donate = donate
        self._shard_state = shard_state
        self._cache: dict = {}

    def _batch_specs(self, batch) -> tuple[P, ...]:
        if self._loss_fn is None:  # the gradients: laid out as the params' slices
            return ()
        n = int(self._mesh.shape[self._axis])
        specs = []
        for path, x in _paths(batch):
            shape = tuple(jnp.shape(x))
            if not shape:
                specs.append(P())
            elif shape[0] % n == 0:
                specs.append(P(self._axis))
            else:
                raise ValueError(
                    f"{self._fn}: the batch leaf {jax.tree_util.keystr(path) or '(root)'}"
                    f" has shape {shape}; its leading dimension must divide by the "
                    f"size of the axis {self._axis!r} ({n})."
                )
        return tuple(specs)

    def _entry(self, params, opt_state, batch) -> dict:
        """The jitted step (and the compiled one, once `compile` made it) for
        arguments of this structure, these shapes and these shardings. The
        layouts are planned on the first call only: later calls pay for
        reading each leaf's shape and sharding, as `jit` itself does."""
        leaves, treedef = jax.tree.flatten((params, opt_state, batch))
        key = (treedef, tuple(_layout_key(x) for x in leaves))
        if key not in self._cache:
            self._cache[key] = {"jitted": self._plan(params, opt_state, batch)}
        return self._cache[key]

    def _plan(self, params, opt_state, batch):
        mesh, axis = self._mesh, self._axis
        specs = _param_specs(params, mesh)
        pspecs = tuple(s for _, _, s in specs)
        if self._shard_state:
            lspecs = tuple(_spec_for(shape, s, mesh, axis)[0] for _, shape, s in specs)
        else:
            lspecs = pspecs
        plans = _plan_tree(opt_state, params, mesh, axis, self._shard_state)
        sspecs = tuple(p.spec for p in plans)
        bspecs = self._batch_specs(batch)
        ptree, stree = jax.tree.structure(params), jax.tree.structure(opt_state)
        btree = jax.tree.structure(batch)
        return self._build(ptree, pspecs, lspecs, stree, sspecs, btree, bspecs)

    def _build(self, ptree, pspecs, lspecs, stree, sspecs, btree, bspecs):
        mesh = self._mesh

        def named(tree, specs):
            return jax.tree.unflatten(tree, [NamedSharding(mesh, s) for s in specs])

        param_sh, local_sh, state_sh = (
            named(ptree, pspecs),
            named(ptree, lspecs),
            named(stree, sspecs),
        )
        batch_sh = named(btree, bspecs) if self._loss_fn is not None else None
        tx, has_aux, loss_fn = self._tx, self._has_aux, self._loss_fn
        extra = isinstance(tx, optax.GradientTransformationExtraArgs)
        constrain = _constrainer(mesh)
        wsc = jax.lax.with_sharding_constraint
        explicit = constrain is not wsc
        if explicit:  # the same layouts on the mesh with every axis Auto
            auto = Mesh(
                mesh.devices,
                mesh.axis_names,
                axis_types=(jax.sharding.AxisType.Auto,) * len(mesh.axis_names),
            )
            auto_param_sh, auto_local_sh, auto_state_sh = (
                jax.tree.map(lambda s: NamedSharding(auto, s.spec), t)
                for t in (param_sh, local_sh, state_sh)
            )
        else:
            auto_param_sh, auto_local_sh, auto_state_sh = param_sh, local_sh, state_sh

        def auto_update(params, opt_state, grads, kwargs):
            # Each device keeps its slice of the (all-reduced) gradient and of
            # the params and updates it with its slice of the state ...
            opt_state = wsc(opt_state, auto_state_sh)
            grads, mine = wsc(grads, auto_local_sh), wsc(params, auto_local_sh)
            updates, opt_state = tx.update(grads, opt_state, mine, **kwargs)
            opt_state = wsc(opt_state, auto_state_sh)
            new = optax.apply_updates(mine, wsc(updates, auto_local_sh))
            # ... and the new params are gathered back to their own layout.
            return wsc(new, auto_param_sh), opt_state

        def update(params, opt_state, grads, kwargs):
            if not explicit:
                return auto_update(params, opt_state, grads, kwargs)
            # On Explicit axes the update runs with them made Auto: XLA then
            # places the collectives of updates that combine differently
            # split arrays (Adafactor's row and column factors, SM3's covers),
            # which explicit sharding types refuse.
            return jax.sharding.auto_axes(
                auto_update, out_sharding=(param_sh, state_sh)
            )(params, opt_state, grads, kwargs)

        if loss_fn is None:

            def step(params, opt_state, grads, extra_args):
                return update(params, opt_state, grads, extra_args)

        else:

            def on_tree(params, *batch):
                tree = params.ungroup() if is_grouped(params) else params
                return loss_fn(tree, *batch)

            grad_fn = jax.value_and_grad(on_tree, has_aux=has_aux)

            def step(params, opt_state, *batch):
                batch = constrain(batch, batch_sh)
                value, grads = grad_fn(params, *batch)
                loss = value[0] if has_aux else value
                kwargs = {"value": loss} if extra else {}
                params, opt_state = update(params, opt_state, grads, kwargs)
                if has_aux:
                    return params, opt_state, loss, value[1]
                return params, opt_state, loss

        if not self._donate:
            return jax.jit(step)
        return DonatingStep(jax.jit(step, donate_argnums=(0, 1)), self._fn)

    def _args(self, batch, extra_args):
        if self._loss_fn is None:  # an apply step: (grads, extra_args)
            return (*batch, extra_args)
        if extra_args:
            raise TypeError(f"{self._fn}: the step takes no keyword arguments.")
        return batch

    def __call__(self, params, opt_state, *batch, **extra_args):
        entry = self._entry(params, opt_state, batch)
        run = entry.get("compiled") or entry["jitted"]
        return run(params, opt_state, *self._args(batch, extra_args))

    def lower(self, params, opt_state, *batch, **extra_args):
        """The step lowered for these arguments."""
        jitted = self._entry(params, opt_state, batch)["jitted"]
        return jitted.lower(params, opt_state, *self._args(batch, extra_args))

    def compile(self, params, opt_state, *batch, **extra_args):
        """The step compiled for these arguments, ahead of the first call.

        Later calls with arguments laid out alike run this executable (no
        second compilation); read ``.memory_analysis()`` or
        ``.cost_analysis()`` from it.
        """
        entry = self._entry(params, opt_state, batch)
        jitted = entry["jitted"]
        compiled = jitted.lower(params, opt_state, *self._args(batch, extra_args))
        compiled = compiled.compile()
        entry["compiled"] = (
            DonatingStep(compiled, self._fn) if self._donate else compiled
        )
        return compiled


def make_sharded_train_step(
    loss_fn: Callable[..., Any],
    tx: optax.GradientTransformation,
    mesh: Mesh,
    axis: str = "data",
    *,
    has_aux: bool = False,
    donate: bool = True,
    shard_state: bool = True,
) -> Callable[..., tuple[Any, ...]]:
    """A data-parallel train step with the optimizer state split over `axis`.

    The batch is split over `axis` along its leading dimension, the gradient
    of the mean loss is summed over the devices by XLA, and the state stays
    split as `state_shardings` lays it out: each device updates its slice of
    the parameters with its slice of the state, and the new parameters are
    gathered back to the sharding they came with.

    Args:
        loss_fn: ``loss_fn(params, *batch) -> loss`` (or ``(loss, aux)`` with
            `has_aux`), the mean over the batch; it receives the ordinary
            tree also when the params are a `GroupedTree`.
        tx: the optimizer. When it accepts extra arguments (every optimizer
            here does), the loss is passed as `value` (polyak_sgd needs it).
        mesh: the device mesh; with several processes, the global mesh. Its
            axes may be Explicit (`jax.make_mesh`'s default) or Auto.
        axis: its data-parallel axis.
        has_aux: `loss_fn` returns ``(loss, aux)``.
        donate: donate `params` and `opt_state` (continue with the returned ones).
        shard_state: False keeps the state laid out like the params: the
            replicated baseline, for comparisons.

    Returns:
        ``step(params, opt_state, *batch) -> (params, opt_state, loss)``
        (``+ (aux,)`` with `has_aux`). `params` should live on `mesh` (see
        `replicate`), `opt_state` as `init_state` made it, the batch as
        `shard_batch` made it. ``step.compile(params, opt_state, *batch)``
        compiles it ahead of the first call and returns the executable
        (for ``memory_analysis()``); ``step.lower(...)`` lowers it.

    Raises:
        TypeError, ValueError: a bad argument; at the first call, a batch
            whose leading dimension the axis size does not divide.
    """
    fn = "make_sharded_train_step"
    if not callable(loss_fn):
        raise TypeError(f"{fn}: `loss_fn` must be callable, got {loss_fn!r}.")
    _checks.check_transformation(fn, "tx", tx)
    _check_mesh_axis(fn, mesh, axis)
    for name, flag in (
        ("has_aux", has_aux),
        ("donate", donate),
        ("shard_state", shard_state),
    ):
        _checks.check_flag(fn, name, flag)
    return _ShardedStep(fn, loss_fn, tx, mesh, axis, has_aux, donate, shard_state)


def make_sharded_apply_step(
    tx: optax.GradientTransformation,
    mesh: Mesh,
    axis: str = "data",
    *,
    donate: bool = True,
    shard_state: bool = True,
) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """One optimizer step on given gradients, with the state split over `axis`.

    For training loops that compute the gradients themselves (the whole
    gradient, on the mesh). As `make_sharded_train_step` otherwise.

    Returns:
        ``step(params, opt_state, grads, **extra_args) -> (params, opt_state)``;
        `extra_args` go to ``tx.update`` (``value=loss`` for polyak_sgd).
    """
    fn = "make_sharded_apply_step"
    _checks.check_transformation(fn, "tx", tx)
    _check_mesh_axis(fn, mesh, axis)
    for name, flag in (("donate", donate), ("shard_state", shard_state)):
        _checks.check_flag(fn, name, flag)
    return _ShardedStep(fn, None, tx, mesh, axis, False, donate, shard_state)
