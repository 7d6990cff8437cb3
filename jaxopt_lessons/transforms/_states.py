"""Optax's own state classes, used by the blocks whose state has Optax's layout.

A state is a pytree, and its node types are part of its tree structure. With
classes of our own (even with Optax's field names), a state made by
`optax.adam` could not be the carry of a `lax.scan` that calls `jol.adam`'s
`update`, and a checkpoint written from one would restore as different node
types. Using Optax's classes makes the two interchangeable wherever the
fields and their meaning agree, which is every block here (the update rules
stay ours; only the containers are shared).

Several classes are not exported at Optax's top level (0.2.8); they are taken
from the module that defines them. `tests/transforms/test_states.py` checks
that each is the very class Optax's transform returns.
"""

from __future__ import annotations

import optax
from optax._src.linesearch import BacktrackingLinesearchInfo
from optax._src.transform import (
    ScaleByDistanceOverGradientsState,
    ScaleByOptimisticGradientState,
    ScaleByRmsWithCountState,
    ScaleByRStdDevWithCountState,
)
from optax.transforms._adding import WeightDecaySchedule

__all__ = [
    "AddDecayedWeightsState",
    "ApplyEvery",
    "BacktrackingLinesearchInfo",
    "AddNoiseState",
    "EmaState",
    "FactoredState",
    "ScaleByAdaDeltaState",
    "ScaleByAdamState",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByDistanceOverGradientsState",
    "ScaleByLBFGSState",
    "ScaleByLionState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRpropState",
    "ScaleByRssState",
    "ScaleBySM3State",
    "ScaleByScheduleState",
    "ScaleByZoomLinesearchState",
    "TraceState",
    "WeightDecaySchedule",
    "ZoomLinesearchInfo",
]

# Optax's name for the state of `add_decayed_weights` with a constant decay:
# `optax.EmptyState`. With a schedule, the state is a `WeightDecaySchedule`.
AddDecayedWeightsState = optax.AddDecayedWeightsState
AddNoiseState = optax.AddNoiseState
# Optax's name for apply_every's state (count, grad_acc) has no "State" suffix.
ApplyEvery = optax.ApplyEvery
EmaState = optax.EmaState
FactoredState = optax.FactoredState
ScaleByAdaDeltaState = optax.ScaleByAdaDeltaState
ScaleByAdamState = optax.ScaleByAdamState  # also Adamax's, RAdam's and Yogi's
ScaleByAdanState = optax.ScaleByAdanState
ScaleByAmsgradState = optax.ScaleByAmsgradState
ScaleByBacktrackingLinesearchState = optax.ScaleByBacktrackingLinesearchState
ScaleByBeliefState = optax.ScaleByBeliefState
ScaleByLBFGSState = optax.ScaleByLBFGSState
ScaleByLionState = optax.ScaleByLionState
ScaleByNovogradState = optax.ScaleByNovogradState
ScaleByRStdDevState = optax.ScaleByRStdDevState
ScaleByRmsState = optax.ScaleByRmsState
ScaleByRpropState = optax.ScaleByRpropState
ScaleByRssState = optax.ScaleByRssState
ScaleBySM3State = optax.ScaleBySM3State
ScaleByScheduleState = optax.ScaleByScheduleState
ScaleByZoomLinesearchState = optax.ScaleByZoomLinesearchState
TraceState = optax.TraceState
ZoomLinesearchInfo = optax.ZoomLinesearchInfo
