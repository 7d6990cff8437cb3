"""Optimizers beyond Optax's core: the methods of `optax.contrib`, written here.

Each factory has the name, signature, defaults and state fields of its
`optax.contrib` namesake, so code written for one runs with the other; the
tests in `tests/contrib/` compare them step by step. Like the core, every
factory returns an `optax.GradientTransformation` (or
`GradientTransformationExtraArgs` where the method needs `value=` or another
extra argument), and each idea lives in its own file.

`OPTIMIZERS` lists the factories that take a learning rate first (or are
learning-rate free) and give a whole optimizer; `TRANSFORMS` lists the
building blocks (`scale_by_*` and the rest). The reliability tests find both
lists, so every name added here is checked for bad input, checkpoints,
sharded state, non-finite gradients and low precision.
"""

# Each module below adds its names to the lists at the end.

# Learning-rate-free and adaptive-step methods, and reduce_on_plateau.
from jaxopt_lessons.contrib.dadapt_adamw import (
    DAdaptAdamWState,
    dadapt_adamw,
    scale_by_dadapt_adamw,
)
from jaxopt_lessons.contrib.dog import DoGState, dog, scale_by_dog
from jaxopt_lessons.contrib.dowg import DoWGState, dowg, scale_by_dowg
from jaxopt_lessons.contrib.mechanic import MechanicState, mechanize
from jaxopt_lessons.contrib.momo import MomoState, momo, scale_by_momo
from jaxopt_lessons.contrib.momo_adam import (
    MomoAdamState,
    momo_adam,
    scale_by_momo_adam,
)
from jaxopt_lessons.contrib.prodigy import ProdigyState, prodigy, scale_by_prodigy
from jaxopt_lessons.contrib.reduce_on_plateau import (
    ReduceLROnPlateauState,
    reduce_on_plateau,
)

_ADAPTIVE_OPTIMIZERS = (
    "dadapt_adamw",
    "dog",
    "dowg",
    "mechanize",
    "momo",
    "momo_adam",
    "prodigy",
)
_ADAPTIVE_TRANSFORMS = (
    "reduce_on_plateau",
    "scale_by_dadapt_adamw",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_momo",
    "scale_by_momo_adam",
    "scale_by_prodigy",
)
_ADAPTIVE_STATES = (
    "DAdaptAdamWState",
    "DoGState",
    "DoWGState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "ProdigyState",
    "ReduceLROnPlateauState",
)

#: Whole optimizers (learning rate first, or learning-rate free).
OPTIMIZERS: tuple[str, ...] = (*_ADAPTIVE_OPTIMIZERS,)

#: Building blocks: `scale_by_*` transforms and helpers.
TRANSFORMS: tuple[str, ...] = (*_ADAPTIVE_TRANSFORMS,)

__all__ = ["OPTIMIZERS", "TRANSFORMS", *OPTIMIZERS, *TRANSFORMS, *_ADAPTIVE_STATES]
