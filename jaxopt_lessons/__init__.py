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

from jaxopt_lessons import optimizers as _optimizers
from jaxopt_lessons import transforms as _transforms
from jaxopt_lessons.optimizers import *  # noqa: F403  (each subpackage lists its API)
from jaxopt_lessons.transforms import *  # noqa: F403

__version__ = "0.1.0"

#: Names of the optimizer factories (learning rate first), for code that loops over them.
OPTIMIZERS: tuple[str, ...] = tuple(_optimizers.__all__)

#: Names of the building blocks (transform factories) written in this package.
TRANSFORMS: tuple[str, ...] = tuple(
    name for name in _transforms.__all__ if name[0].islower()
)

#: Optax's plumbing, re-exported so that one import is enough.
_PLUMBING = [
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "OptState",
    "Params",
    "ScalarOrSchedule",
    "Schedule",
    "Updates",
    "apply_updates",
    "chain",
    "identity",
]

__all__ = [
    "OPTIMIZERS",
    "TRANSFORMS",
    *_PLUMBING,
    *_optimizers.__all__,
    *_transforms.__all__,
]
