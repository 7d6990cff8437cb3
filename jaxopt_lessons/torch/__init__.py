"""Presets with the arguments, defaults and arithmetic of `torch.optim`.

`jaxopt_lessons.torch.adam(lr=1e-3, betas=(0.9, 0.999), ...)` takes the same
keyword arguments as `torch.optim.Adam(params, ...)` and, fed the same
gradients, follows the same trajectory (tests compare every step with torch
2.13 in float64 and float32). Each preset is an
`optax.GradientTransformationExtraArgs`, so it composes like any Optax
transform. `lr` may be a number or a schedule `count -> lr`, called with the
number of steps taken, which is where a torch LR scheduler stepped once per
`optimizer.step()` puts its value.

torch's common LR schedulers (StepLR, MultiStepLR, ExponentialLR,
CosineAnnealingLR, LinearLR, OneCycleLR) are here too, as schedules with
torch's argument names (`step_lr`, `multi_step_lr`, …, in
`jaxopt_lessons/torch/schedules/`): each gives, at every `count`, the lr
torch's ``scheduler.step()`` gives after `count` steps.

This package is pure JAX: importing it does not import torch. torch's
execution flags (`foreach`, `fused`, `capturable`, `differentiable`) accept
only None or False. The table in `docs/torch.md` compares each preset with
torch's arguments and with the Optax alias of the same name.
"""

from jaxopt_lessons.torch.adadelta import AdadeltaState, adadelta
from jaxopt_lessons.torch.adagrad import AdagradState, adagrad
from jaxopt_lessons.torch.adam import AdamState, adam, adamw
from jaxopt_lessons.torch.adamax import AdamaxState, adamax
from jaxopt_lessons.torch.muon import MuonState, muon
from jaxopt_lessons.torch.nadam import NadamState, nadam
from jaxopt_lessons.torch.radam import RadamState, radam
from jaxopt_lessons.torch.rmsprop import RmspropState, rmsprop
from jaxopt_lessons.torch.rprop import RpropState, rprop
from jaxopt_lessons.torch.schedules import (
    cosine_annealing_lr,
    exponential_lr,
    linear_lr,
    multi_step_lr,
    one_cycle_lr,
    step_lr,
)
from jaxopt_lessons.torch.sgd import SgdState, sgd

__all__ = [
    "AdadeltaState",
    "AdagradState",
    "AdamState",
    "AdamaxState",
    "MuonState",
    "NadamState",
    "RadamState",
    "RmspropState",
    "RpropState",
    "SgdState",
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "cosine_annealing_lr",
    "exponential_lr",
    "linear_lr",
    "multi_step_lr",
    "muon",
    "nadam",
    "one_cycle_lr",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "step_lr",
]

#: The LR schedulers, one per torch.optim.lr_scheduler class.
SCHEDULES: tuple[str, ...] = (
    "step_lr",
    "multi_step_lr",
    "exponential_lr",
    "cosine_annealing_lr",
    "linear_lr",
    "one_cycle_lr",
)

#: The presets, one per torch.optim class, for code that loops over them.
PRESETS: tuple[str, ...] = tuple(
    name for name in __all__ if name[0].islower() and name not in SCHEDULES
)
