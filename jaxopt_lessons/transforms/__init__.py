"""The update rules, one idea per file.

- `scaling`: multiply by a step size (`scale`, `scale_by_learning_rate`).
- `momentum`: smooth the direction (`trace`, `ema`).
- `rms`: normalise by recent gradient scale (`scale_by_rms`, `scale_by_stddev`,
  `scale_by_rss`).
- `adam`: both at once (`scale_by_adam`, `scale_by_amsgrad`, `scale_by_adamax`).
- `weight_decay`: pull parameters towards zero (`add_decayed_weights`).
"""

from jaxopt_lessons.transforms.adam import (
    ScaleByAdamState,
    ScaleByAmsgradState,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
)
from jaxopt_lessons.transforms.momentum import EmaState, TraceState, ema, trace
from jaxopt_lessons.transforms.rms import (
    ScaleByRmsState,
    ScaleByRmsWithCountState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByRStdDevWithCountState,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
)
from jaxopt_lessons.transforms.scaling import (
    ScaleByScheduleState,
    scale,
    scale_by_learning_rate,
    scale_by_schedule,
)
from jaxopt_lessons.transforms.weight_decay import (
    AddDecayedWeightsState,
    add_decayed_weights,
)

__all__ = [
    "AddDecayedWeightsState",
    "EmaState",
    "ScaleByAdamState",
    "ScaleByAmsgradState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "add_decayed_weights",
    "ema",
    "scale",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amsgrad",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "trace",
]
