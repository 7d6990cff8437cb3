"""OneCycleLR's learning rate: up to `max_lr` and down below the start."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from jaxopt_lessons import _checks
from jaxopt_lessons.torch._common import PREFIX
from jaxopt_lessons.torch.schedules._exact import _div, _float, _int, _time

__all__ = ["one_cycle_lr"]


def one_cycle_lr(
    max_lr: jax.typing.ArrayLike,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: float = 0.3,
    anneal_strategy: str = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
) -> optax.Schedule:
    """`torch.optim.lr_scheduler.OneCycleLR`'s learning rate.

    Schedule, with η_0 = max_lr / div_factor, η_min = η_0 / final_div_factor
    and N = total_steps (or epochs · steps_per_epoch)::

        phase 1, t <= pct_start·N − 1:       η_0 → max_lr
        phase 2, up to N − 1:                max_lr → η_min
      three_phase=True:
        phase 2, t <= 2·pct_start·N − 2:     max_lr → η_0
        phase 3, up to N − 1:                η_0 → η_min

    Within a phase from step a to step b, p = (t − a)/(b − a) and the lr is
    ``end + (start − end)/2 · (1 + cos(π p))`` (``anneal_strategy="cos"``) or
    ``start + (end − start) · p`` ("linear"), in torch's order of operations.
    torch's ``step()`` computes each value from these formulas, not from the
    previous lr, so there is no recursive form to follow.

    Past the end: torch allows ``count = N`` (the last phase extrapolated one
    step, slightly off η_min) and raises after that. Here ``count = N`` gives
    torch's value and later counts keep it.

    Not included: the momentum cycle (``cycle_momentum``, ``base_momentum``,
    ``max_momentum``), which changes the optimizer's momentum or β₁, not the
    lr; with it on (torch's default), torch's momentum follows the inverse
    cycle while a preset's stays fixed.

    Args:
        max_lr: the peak lr, ≥ 0.
        total_steps: N, a positive integer; or None with `epochs` and
            `steps_per_epoch`.
        epochs, steps_per_epoch: positive integers, N = their product.
        pct_start: share of the cycle spent rising, in [0, 1].
        anneal_strategy: "cos" or "linear".
        div_factor: η_0 = max_lr / div_factor, > 0.
        final_div_factor: η_min = η_0 / final_div_factor, > 0.
        three_phase: a third phase (see above), a bool.

    Returns:
        A schedule ``count -> η_count``.

    Raises:
        ValueError, TypeError: an argument breaks its rule, or a phase would
            have no steps (torch divides by zero there when it gets to it).
    """
    fn = PREFIX + "one_cycle_lr"
    _checks.check_non_negative(fn, "max_lr", max_lr)
    if total_steps is not None:
        total = _int(fn, "total_steps", total_steps, low=1)
    elif epochs is not None and steps_per_epoch is not None:
        total = _int(fn, "epochs", epochs, low=1) * _int(
            fn, "steps_per_epoch", steps_per_epoch, low=1
        )
    else:
        raise ValueError(
            f"{fn}: `total_steps` must be given, or both `epochs` and "
            f"`steps_per_epoch`, got total_steps={total_steps!r}, "
            f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}."
        )
    _checks.check_interval(fn, "pct_start", pct_start, 0.0, 1.0, high_closed=True)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(
            f"{fn}: `anneal_strategy` must be 'cos' or 'linear', "
            f"got {anneal_strategy!r}."
        )
    _checks.check_positive(fn, "div_factor", div_factor)
    _checks.check_positive(fn, "final_div_factor", final_div_factor)
    _checks.check_bool(fn, "three_phase", three_phase)

    max_lr = _float(max_lr)
    initial = max_lr / float(div_factor)
    lowest = initial / float(final_div_factor)
    pct = float(pct_start)
    if three_phase:
        phases = [
            (float(pct * total) - 1, initial, max_lr),
            (float(2 * pct * total) - 2, max_lr, initial),
            (total - 1, initial, lowest),
        ]
    else:
        phases = [
            (float(pct * total) - 1, initial, max_lr),
            (total - 1, max_lr, lowest),
        ]
    starts = [0.0] + [end for end, _, _ in phases[:-1]]
    for i, ((end, _, _), start) in enumerate(zip(phases, starts, strict=True)):
        if end == start:
            raise ValueError(
                f"{fn}: phase {i + 1} of the cycle must have steps, got "
                f"pct_start={pct_start!r} with total_steps={total} (it starts "
                f"and ends at step {start:g})."
            )

    def anneal(start_lr, end_lr, p):
        if anneal_strategy == "cos":
            return end_lr + (start_lr - end_lr) / 2.0 * (jnp.cos(math.pi * p) + 1)
        return (end_lr - start_lr) * p + start_lr

    def schedule(count):
        t = _time(jnp.minimum(jnp.asarray(count), total))
        values = [
            anneal(start_lr, end_lr, _div(t - start, end - start))
            for (end, start_lr, end_lr), start in zip(phases, starts, strict=True)
        ]
        # torch takes the first phase whose end is not passed, else the last.
        out = values[-1]
        for (end, _, _), value in zip(phases[-2::-1], values[-2::-1], strict=True):
            out = jnp.where(t <= end, value, out)
        return out

    return schedule
