"""The update rules, one idea per file.

- `scaling`: multiply by a step size (`scale`, `scale_by_learning_rate`).
- `momentum`: smooth the direction (`trace`, `ema`).
- `rms`: normalise by recent gradient scale (`scale_by_rms`, `scale_by_stddev`,
  `scale_by_rss`).
- `adam`: both at once (`scale_by_adam`, `scale_by_amsgrad`, `scale_by_adamax`).
- `weight_decay`: pull parameters towards zero (`add_decayed_weights`).
- Adam's relatives: `radam`, `yogi`, `belief` (AdaBelief), `adan`, `novograd`.
- Less memory: `factored` (Adafactor), `sm3`.
- Signs: `sign`, `lion`, `rprop`.
- Step sizes from elsewhere: `adadelta`, `polyak`, `trust_ratio` (LARS, LAMB).
- Bounding and perturbing the step: `clipping`, `noise`, `optimistic`,
  `centralize`.
- Curvature and step sizes from the loss: `lbfgs` (the L-BFGS direction),
  `linesearch` (backtracking and zoom line searches), `distance_over_gradients`
  (DoG).
- Waiting: `accumulation` (`apply_every`).

The states are Optax's own classes (`_states`), so a state made by Optax's
transform of the same name is a state of ours, and the other way round.
"""

from jaxopt_lessons.transforms import _states
from jaxopt_lessons.transforms._states import *
from jaxopt_lessons.transforms.accumulation import apply_every
from jaxopt_lessons.transforms.adadelta import scale_by_adadelta
from jaxopt_lessons.transforms.adam import (
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
)
from jaxopt_lessons.transforms.adan import scale_by_adan
from jaxopt_lessons.transforms.belief import scale_by_belief
from jaxopt_lessons.transforms.centralize import centralize
from jaxopt_lessons.transforms.clipping import (
    adaptive_grad_clip,
    clip,
    clip_by_block_rms,
    clip_by_global_norm,
)
from jaxopt_lessons.transforms.distance_over_gradients import (
    scale_by_distance_over_gradients,
)
from jaxopt_lessons.transforms.factored import (
    scale_by_factored_rms,
    scale_by_param_block_rms,
)
from jaxopt_lessons.transforms.lbfgs import scale_by_lbfgs
from jaxopt_lessons.transforms.linesearch import (
    scale_by_backtracking_linesearch,
    scale_by_zoom_linesearch,
)
from jaxopt_lessons.transforms.lion import scale_by_lion
from jaxopt_lessons.transforms.momentum import ema, trace
from jaxopt_lessons.transforms.noise import add_noise
from jaxopt_lessons.transforms.novograd import scale_by_novograd
from jaxopt_lessons.transforms.optimistic import scale_by_optimistic_gradient
from jaxopt_lessons.transforms.polyak import scale_by_polyak
from jaxopt_lessons.transforms.radam import scale_by_radam
from jaxopt_lessons.transforms.rms import scale_by_rms, scale_by_rss, scale_by_stddev
from jaxopt_lessons.transforms.rprop import scale_by_rprop
from jaxopt_lessons.transforms.scaling import (
    scale,
    scale_by_learning_rate,
    scale_by_schedule,
)
from jaxopt_lessons.transforms.sign import scale_by_sign
from jaxopt_lessons.transforms.sm3 import scale_by_sm3
from jaxopt_lessons.transforms.trust_ratio import scale_by_trust_ratio
from jaxopt_lessons.transforms.weight_decay import add_decayed_weights
from jaxopt_lessons.transforms.yogi import scale_by_yogi

__all__ = [
    *_states.__all__,
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "apply_every",
    "centralize",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "ema",
    "scale",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_distance_over_gradients",
    "scale_by_factored_rms",
    "scale_by_lbfgs",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "trace",
]
