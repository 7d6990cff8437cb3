"""jaxopt_lessons: first-order optimizers for JAX, written to be read, proven against Optax.

Every optimizer and building block here is an `optax.GradientTransformation`,
so it drops into Optax, Flax and Equinox training code::

    import jaxopt_lessons as jol

    opt = jol.adam(1e-3)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = jol.apply_updates(params, updates)

The update rules live in `jaxopt_lessons.transforms`, one idea per file; the
optimizers in `jaxopt_lessons.optimizers` are short chains of them. The
plumbing (`chain`, `apply_updates`, the base types) is Optax's own.
"""

from optax import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    ScalarOrSchedule,
    Schedule,
    Updates,
    apply_updates,
    chain,
    identity,
)

from jaxopt_lessons.optimizers import (
    adagrad,
    adam,
    adamax,
    adamaxw,
    adamw,
    amsgrad,
    nadam,
    nadamw,
    rmsprop,
    sgd,
)
from jaxopt_lessons.transforms import (
    AddDecayedWeightsState,
    EmaState,
    ScaleByAdamState,
    ScaleByAmsgradState,
    ScaleByRmsState,
    ScaleByRmsWithCountState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByRStdDevWithCountState,
    ScaleByScheduleState,
    TraceState,
    add_decayed_weights,
    ema,
    scale,
    scale_by_adam,
    scale_by_adamax,
    scale_by_amsgrad,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    scale_by_stddev,
    trace,
)

__version__ = "0.1.0"

#: The optimizer factories (learning rate first), for code that loops over them.
OPTIMIZERS = (
    "sgd",
    "rmsprop",
    "adam",
    "adamw",
    "nadam",
    "nadamw",
    "adamax",
    "adamaxw",
    "amsgrad",
    "adagrad",
)

#: The building blocks written in this package.
TRANSFORMS = (
    "trace",
    "ema",
    "scale_by_rms",
    "scale_by_stddev",
    "scale_by_rss",
    "scale_by_adam",
    "scale_by_amsgrad",
    "scale_by_adamax",
    "scale",
    "scale_by_learning_rate",
    "scale_by_schedule",
    "add_decayed_weights",
)

__all__ = [
    "OPTIMIZERS",
    "TRANSFORMS",
    "AddDecayedWeightsState",
    "EmaState",
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "OptState",
    "Params",
    "ScalarOrSchedule",
    "ScaleByAdamState",
    "ScaleByAmsgradState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "Schedule",
    "TraceState",
    "Updates",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "add_decayed_weights",
    "amsgrad",
    "apply_updates",
    "chain",
    "ema",
    "identity",
    "nadam",
    "nadamw",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_amsgrad",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "sgd",
    "trace",
]
