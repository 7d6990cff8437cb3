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

# -- sam, normalize, dpsgd, galore, sophia, split_real_and_imaginary ----------
from jaxopt_lessons.contrib.complex_valued import (
    SplitRealAndImaginaryArrays,
    SplitRealAndImaginaryState,
    split_real_and_imaginary,
)
from jaxopt_lessons.contrib.galore import (
    GaLoreDimensionNumbers,
    GaLoreState,
    galore,
    scale_by_galore,
)
from jaxopt_lessons.contrib.hutchinson import (
    HutchinsonState,
    hutchinson_estimator_diag_hessian,
)
from jaxopt_lessons.contrib.normalize import NormalizeState, normalize
from jaxopt_lessons.contrib.privacy import (
    DifferentiallyPrivateAggregateState,
    differentially_private_aggregate,
    dpsgd,
)
from jaxopt_lessons.contrib.sam import SAMState, sam
from jaxopt_lessons.contrib.sophia import SophiaState, scale_by_sophia, sophia

_SAM_DP_GALORE_SOPHIA_OPTIMIZERS = ("dpsgd", "galore", "sophia")
_SAM_DP_GALORE_SOPHIA_TRANSFORMS = (
    "differentially_private_aggregate",
    "hutchinson_estimator_diag_hessian",
    "normalize",
    "sam",
    "scale_by_galore",
    "scale_by_sophia",
    "split_real_and_imaginary",
)
_SAM_DP_GALORE_SOPHIA_STATES = (
    "DifferentiallyPrivateAggregateState",
    "GaLoreDimensionNumbers",
    "GaLoreState",
    "HutchinsonState",
    "NormalizeState",
    "SAMState",
    "SophiaState",
    "SplitRealAndImaginaryArrays",
    "SplitRealAndImaginaryState",
)
# -----------------------------------------------------------------------------

#: Whole optimizers (learning rate first, or learning-rate free).
OPTIMIZERS: tuple[str, ...] = (*_SAM_DP_GALORE_SOPHIA_OPTIMIZERS,)

#: Building blocks: `scale_by_*` transforms and helpers.
TRANSFORMS: tuple[str, ...] = (*_SAM_DP_GALORE_SOPHIA_TRANSFORMS,)

#: Other public names: state classes and functions that are not factories.
_OTHERS: tuple[str, ...] = _SAM_DP_GALORE_SOPHIA_STATES

# --- AdEMAMix, ADOPT, ACProp, MADGRAD, COCOB, schedule-free -----------------
from jaxopt_lessons.contrib.acprop import acprop, scale_by_acprop  # noqa: E402
from jaxopt_lessons.contrib.ademamix import (  # noqa: E402
    ScaleByAdemamixState,
    ScaleBySimplifiedAdEMAMixState,
    ademamix,
    scale_by_ademamix,
    scale_by_simplified_ademamix,
    simplified_ademamix,
)
from jaxopt_lessons.contrib.adopt import adopt, scale_by_adopt  # noqa: E402
from jaxopt_lessons.contrib.cocob import COCOBState, cocob, scale_by_cocob  # noqa: E402
from jaxopt_lessons.contrib.madgrad import (  # noqa: E402
    MadgradState,
    madgrad,
    scale_by_madgrad,
)
from jaxopt_lessons.contrib.schedule_free import (  # noqa: E402
    ScheduleFreeState,
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)

OPTIMIZERS += (
    "acprop",
    "ademamix",
    "adopt",
    "cocob",
    "madgrad",
    "schedule_free_adamw",
    "schedule_free_sgd",
    "simplified_ademamix",
)
# `schedule_free` wraps a base optimizer: a building block.
TRANSFORMS += (
    "scale_by_acprop",
    "scale_by_ademamix",
    "scale_by_adopt",
    "scale_by_cocob",
    "scale_by_madgrad",
    "scale_by_simplified_ademamix",
    "schedule_free",
)
_OTHERS += (
    "COCOBState",
    "MadgradState",
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScheduleFreeState",
    "schedule_free_eval_params",
)
# --- end of AdEMAMix ... schedule-free ---------------------------------------

# --- Learning-rate-free and adaptive-step methods, and reduce_on_plateau ----
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

OPTIMIZERS += _ADAPTIVE_OPTIMIZERS
TRANSFORMS += _ADAPTIVE_TRANSFORMS
_OTHERS += _ADAPTIVE_STATES

__all__ = ["OPTIMIZERS", "TRANSFORMS", *OPTIMIZERS, *TRANSFORMS, *_OTHERS]
