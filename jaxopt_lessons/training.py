"""Train steps that reuse their buffers: `jit` with the params and state donated.

Lesson: an optimizer step reads the parameters and the state and writes new
ones of the same size. Without donation XLA must allocate fresh outputs every
step and the old arrays stay alive until Python drops them: on a 2-core CPU
that made an Adam step about 3 times slower (every output page is faulted in
anew) and needed 3 extra parameter-sized arrays at the peak. Donating the
inputs lets XLA write the outputs into the input buffers.

After a donated call the arrays passed in are deleted; always continue with
the returned ones (a step called again with deleted arrays says so, and how
to keep a copy)::

    step = jol.make_train_step(loss_fn, jol.adam(1e-3))
    for batch in batches:
        params, state, loss = step(params, state, batch)

The params may be a `GroupedTree` (see `jaxopt_lessons.grouping`): `loss_fn`
then still receives the ordinary tree, and the optimizer works on the few
flat buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.grouping import is_grouped

__all__ = ["DonatingStep", "make_apply_step", "make_train_step"]


class DonatingStep:
    """A jitted step with donated inputs that explains a reuse of them.

    Calling it again with arrays an earlier call consumed makes XLA report a
    "Buffer has been deleted or donated" error that does not say which
    arrays or why; this wrapper says both. Everything else (`lower`,
    `trace`, ...) is the jitted function's.
    """

    def __init__(self, jitted: Callable, fn: str):
        self._jitted = jitted
        self._fn = fn
        self.__wrapped__ = jitted

    def __call__(self, *args):
        try:
            return self._jitted(*args)
        except (RuntimeError, ValueError) as error:
            text = str(error)
            if "deleted" not in text and "donated" not in text:
                raise
            raise RuntimeError(
                f"{self._fn}: an argument was donated to an earlier call of this "
                "step and has been deleted. The step donates `params` and "
                "`opt_state`, so that XLA writes the new ones in place; continue "
                "with the arrays it returns:\n"
                "    params, opt_state, loss = step(params, opt_state, *batch)\n"
                "To keep the old values, copy them before the call "
                "(`saved = jax.tree.map(jnp.copy, params)`), or build the step "
                "with `donate=False`."
            ) from error

    def __getattr__(self, name: str):
        return getattr(self._jitted, name)


def make_apply_step(
    tx: optax.GradientTransformation, *, donate: bool = True, jit: bool = True
) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """One optimizer step on given gradients: update, then apply.

    Args:
        tx: the optimizer.
        donate: donate `params` and `opt_state` (not the gradients).
        jit: compile the step (False runs it eagerly, for debugging).

    Returns:
        ``step(params, opt_state, grads) -> (params, opt_state)``.

    Raises:
        TypeError: `tx` is not a gradient transformation; a flag not a bool.
    """
    fn = "make_apply_step"
    _checks.check_transformation(fn, "tx", tx)
    _checks.check_flag(fn, "donate", donate)
    _checks.check_flag(fn, "jit", jit)

    def step(params, opt_state, grads):
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    if not jit:
        return step
    if not donate:
        return jax.jit(step)
    return DonatingStep(jax.jit(step, donate_argnums=(0, 1)), fn)


def make_train_step(
    loss_fn: Callable[..., Any],
    tx: optax.GradientTransformation,
    *,
    has_aux: bool = False,
    donate: bool = True,
    jit: bool = True,
) -> Callable[..., tuple[Any, ...]]:
    """A whole training step: loss, gradient, optimizer update, new params.

    Args:
        loss_fn: ``loss_fn(params, *batch) -> loss`` (or ``(loss, aux)`` with
            `has_aux`); it always receives the ordinary parameter tree, also
            when the step is given a `GroupedTree`.
        tx: the optimizer (for grouped params, typically ``grouped(opt)``).
            One that takes extra arguments (an
            `optax.GradientTransformationExtraArgs`) receives the loss as
            ``value=``, its gradient as ``grad=`` and the loss at this batch
            as a function of the params, ``value_fn=`` (what Optax's line
            searches and `lbfgs` need; Polyak's step size reads `value`).
        has_aux: `loss_fn` returns ``(loss, aux)``.
        donate: donate `params` and `opt_state` to the step.
        jit: compile the step.

    Returns:
        ``step(params, opt_state, *batch) -> (params, opt_state, loss)``, or
        ``(params, opt_state, loss, aux)`` with `has_aux`.

    Raises:
        TypeError: `loss_fn` not callable, `tx` not a gradient transformation,
            a flag not a bool.
    """
    fn = "make_train_step"
    if not callable(loss_fn):
        raise TypeError(f"{fn}: `loss_fn` must be callable, got {loss_fn!r}.")
    _checks.check_transformation(fn, "tx", tx)
    _checks.check_flag(fn, "has_aux", has_aux)
    _checks.check_flag(fn, "donate", donate)
    _checks.check_flag(fn, "jit", jit)

    def on_tree(params, *batch):
        return loss_fn(params.ungroup() if is_grouped(params) else params, *batch)

    grad_fn = jax.value_and_grad(on_tree, has_aux=has_aux)

    # Transforms that take extra arguments get the loss (`value=`), its
    # gradient (`grad=`) and the loss on this batch as a function of the
    # params (`value_fn=`), as Optax's line searches, `lbfgs` and Polyak's
    # step size expect; the others ignore them (Optax's
    # `GradientTransformationExtraArgs` protocol: extra keyword arguments are
    # passed to every block, and a block takes only those it names).
    takes_extra = isinstance(tx, optax.GradientTransformationExtraArgs)

    def step(params, opt_state, *batch):
        value, grads = grad_fn(params, *batch)
        extra = {}
        if takes_extra:

            def value_fn(p):
                out = on_tree(p, *batch)
                return out[0] if has_aux else out

            extra = {
                "value": value[0] if has_aux else value,
                "grad": grads,
                "value_fn": value_fn,
            }
        updates, opt_state = tx.update(grads, opt_state, params, **extra)
        params = optax.apply_updates(params, updates)
        if has_aux:
            loss, aux = value
            return params, opt_state, loss, aux
        return params, opt_state, value

    if not jit:
        return step
    if not donate:
        return jax.jit(step)
    return DonatingStep(jax.jit(step, donate_argnums=(0, 1)), fn)
