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

#: Whole optimizers (learning rate first, or learning-rate free).
OPTIMIZERS: tuple[str, ...] = ()

#: Building blocks: `scale_by_*` transforms and helpers.
TRANSFORMS: tuple[str, ...] = ()

#: Other public names: state classes and argument types.
_OTHER: tuple[str, ...] = ()

# Muon (muon.py, newton_schulz.py).
from jaxopt_lessons.contrib.muon import (  # noqa: E402
    MuonDimensionNumbers,
    MuonState,
    muon,
    scale_by_muon,
)

OPTIMIZERS += ("muon",)
TRANSFORMS += ("scale_by_muon",)
_OTHER += ("MuonDimensionNumbers", "MuonState")
# End of Muon.

__all__ = ["OPTIMIZERS", "TRANSFORMS", *OPTIMIZERS, *TRANSFORMS, *_OTHER]
