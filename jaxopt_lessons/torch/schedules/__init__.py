"""torch's common LR schedulers as Optax schedules ``count -> learning rate``.

A torch scheduler edits ``param_group["lr"]`` each time ``scheduler.step()``
runs; called once after every ``optimizer.step()``, the lr of step ``count``
(counting from 0) is the value after ``count`` scheduler steps. Each function
here returns that value as a pure function of ``count``, so it can be the
``lr`` of a `jaxopt_lessons.torch` preset, the ``learning_rate`` of any Optax
optimizer, or a hyperparameter of ``optax.inject_hyperparams``; it is
jit-able, vmap-able and computes in JAX's default float type (float64 under
``jax.enable_x64``).

Arguments keep torch's names and defaults. torch's ``optimizer`` becomes
``lr``, the optimizer's learning rate (torch's ``base_lr``); ``last_epoch``
(resuming) has no counterpart: the count in the optimizer state already says
where a run is.

Recursive against closed form. Most of torch's schedulers compute the new lr
from the previous one (``lr ← lr · γ``), not from ``base_lr``; their
``_get_closed_form_lr`` is only used by the deprecated ``step(epoch)``. What
``step()`` produces is what is matched here. For StepLR, MultiStepLR,
ExponentialLR and LinearLR the two forms are equal up to the rounding of the
repeated products (measured against torch over 10 000 steps in float64:
``tests/torch/test_schedules.py`` and docs/torch.md). They part in two places:

- CosineAnnealingLR after ``T_max``: the recursion restarts at
  t = T_max + 1, 3·T_max + 1, … from ``eta_min + (base_lr − eta_min)·(1 −
  cos(π/T_max))/2`` and scales by ratios of ``1 + cos(π t/T_max)`` from
  there; the closed form ``eta_min + (base_lr − eta_min)(1 + cos(π t/T_max))/2``
  is mathematically the same, but ``1 + cos(π (T_max + 1)/T_max)`` cancels
  catastrophically, so past ``T_max`` it is off by up to about
  ``1e-16 · T_max²`` relative. `cosine_annealing_lr` follows the recursion.
- MultiStepLR with a negative milestone: ``step()`` never reaches it, the
  closed form counts it. Negative milestones are refused here.

References: PyTorch 2.13, ``torch/optim/lr_scheduler.py`` (the ``get_lr``
methods); Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
Restarts", ICLR 2017 (cosine annealing); Smith & Topin, "Super-Convergence:
Very Fast Training of Neural Networks Using Large Learning Rates", 2018
(one-cycle).
"""

from jaxopt_lessons.torch.schedules.annealing import cosine_annealing_lr, linear_lr
from jaxopt_lessons.torch.schedules.one_cycle import one_cycle_lr
from jaxopt_lessons.torch.schedules.stepwise import (
    exponential_lr,
    multi_step_lr,
    step_lr,
)

__all__ = [
    "cosine_annealing_lr",
    "exponential_lr",
    "linear_lr",
    "multi_step_lr",
    "one_cycle_lr",
    "step_lr",
]
