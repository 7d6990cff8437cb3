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
lists, so every name here is checked for bad input, checkpoints, sharded
state, non-finite gradients and low precision.
"""

from jaxopt_lessons.contrib.acprop import acprop, scale_by_acprop
from jaxopt_lessons.contrib.ademamix import (
    ScaleByAdemamixState,
    ScaleBySimplifiedAdEMAMixState,
    ademamix,
    scale_by_ademamix,
    scale_by_simplified_ademamix,
    simplified_ademamix,
)
from jaxopt_lessons.contrib.adopt import adopt, scale_by_adopt
from jaxopt_lessons.contrib.cocob import COCOBState, cocob, scale_by_cocob
from jaxopt_lessons.contrib.complex_valued import (
    SplitRealAndImaginaryArrays,
    SplitRealAndImaginaryState,
    split_real_and_imaginary,
)
from jaxopt_lessons.contrib.dadapt_adamw import (
    DAdaptAdamWState,
    dadapt_adamw,
    scale_by_dadapt_adamw,
)
from jaxopt_lessons.contrib.dog import DoGState, dog, scale_by_dog
from jaxopt_lessons.contrib.dowg import DoWGState, dowg, scale_by_dowg
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
from jaxopt_lessons.contrib.madgrad import MadgradState, madgrad, scale_by_madgrad
from jaxopt_lessons.contrib.mechanic import MechanicState, mechanize
from jaxopt_lessons.contrib.momo import MomoState, momo, scale_by_momo
from jaxopt_lessons.contrib.momo_adam import (
    MomoAdamState,
    momo_adam,
    scale_by_momo_adam,
)
from jaxopt_lessons.contrib.muon import (
    MuonDimensionNumbers,
    MuonState,
    muon,
    scale_by_muon,
)
from jaxopt_lessons.contrib.normalize import NormalizeState, normalize
from jaxopt_lessons.contrib.privacy import (
    DifferentiallyPrivateAggregateState,
    differentially_private_aggregate,
    dpsgd,
)
from jaxopt_lessons.contrib.prodigy import ProdigyState, prodigy, scale_by_prodigy
from jaxopt_lessons.contrib.reduce_on_plateau import (
    ReduceLROnPlateauState,
    reduce_on_plateau,
)
from jaxopt_lessons.contrib.sam import SAMState, sam
from jaxopt_lessons.contrib.schedule_free import (
    ScheduleFreeState,
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)
from jaxopt_lessons.contrib.sophia import SophiaState, scale_by_sophia, sophia

#: Whole optimizers (learning rate first, or learning-rate free).
OPTIMIZERS: tuple[str, ...] = (
    "acprop",
    "adopt",
    "ademamix",
    "cocob",
    "dadapt_adamw",
    "dog",
    "dowg",
    "dpsgd",
    "galore",
    "madgrad",
    "mechanize",
    "momo",
    "momo_adam",
    "muon",
    "prodigy",
    "schedule_free_adamw",
    "schedule_free_sgd",
    "simplified_ademamix",
    "sophia",
)

#: Building blocks: `scale_by_*` transforms, wrappers (`schedule_free`, `sam`,
#: `split_real_and_imaginary`) and the other pieces Optax's contrib exports.
TRANSFORMS: tuple[str, ...] = (
    "differentially_private_aggregate",
    "hutchinson_estimator_diag_hessian",
    "normalize",
    "reduce_on_plateau",
    "sam",
    "scale_by_acprop",
    "scale_by_adopt",
    "scale_by_ademamix",
    "scale_by_cocob",
    "scale_by_dadapt_adamw",
    "scale_by_dog",
    "scale_by_dowg",
    "scale_by_galore",
    "scale_by_madgrad",
    "scale_by_momo",
    "scale_by_momo_adam",
    "scale_by_muon",
    "scale_by_prodigy",
    "scale_by_simplified_ademamix",
    "scale_by_sophia",
    "schedule_free",
    "split_real_and_imaginary",
)

#: State classes (Optax's own) and the other public names.
_OTHERS: tuple[str, ...] = (
    "COCOBState",
    "DAdaptAdamWState",
    "DifferentiallyPrivateAggregateState",
    "DoGState",
    "DoWGState",
    "GaLoreDimensionNumbers",
    "GaLoreState",
    "HutchinsonState",
    "MadgradState",
    "MechanicState",
    "MomoAdamState",
    "MomoState",
    "MuonDimensionNumbers",
    "MuonState",
    "NormalizeState",
    "ProdigyState",
    "ReduceLROnPlateauState",
    "SAMState",
    "ScaleByAdemamixState",
    "ScaleBySimplifiedAdEMAMixState",
    "ScheduleFreeState",
    "SophiaState",
    "SplitRealAndImaginaryArrays",
    "SplitRealAndImaginaryState",
    "schedule_free_eval_params",
)

__all__ = ["OPTIMIZERS", "TRANSFORMS", *OPTIMIZERS, *TRANSFORMS, *_OTHERS]
