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

Also here: `grouped` (state of many small leaves in a few flat buffers, see
`jaxopt_lessons.grouping`), `make_train_step` (a jitted step with donated
buffers), `jaxopt_lessons.torch` (torch.optim's rules, imported on first use)
and `jaxopt_lessons.checkpoint` (save and restore optimizer state).
"""

import importlib

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

from jaxopt_lessons import grouping, training
from jaxopt_lessons import optimizers as _optimizers
from jaxopt_lessons import transforms as _transforms
from jaxopt_lessons.grouping import group, grouped
from jaxopt_lessons.optimizers import *  # noqa: F403  (each subpackage lists its API)
from jaxopt_lessons.training import make_apply_step, make_train_step
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

#: The verbs of faster execution; the rest of grouping (`GroupedTree`,
#: `NotElementwiseError`, the declarations) stays in `jaxopt_lessons.grouping`.
_VERBS = ["group", "grouped", "make_apply_step", "make_train_step"]

#: Subpackages and modules loaded on first attribute access, so that
#: `import jaxopt_lessons` stays light (the lessons need matplotlib and
#: scikit-learn, the benchmarks may import torch).
_LAZY = (
    "benchmarks",
    "checkpoint",
    "contrib",
    "diagnostics",
    "lessons",
    "problems",
    "sharding",
    "sweeps",
    "torch",
)


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "OPTIMIZERS",
    "TRANSFORMS",
    *_PLUMBING,
    *_VERBS,
    *_optimizers.__all__,
    *_transforms.__all__,
]
