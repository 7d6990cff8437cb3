"""Line searches: a step size chosen by evaluating the loss along the update.

- `backtracking`: shrink until the loss drops enough (Armijo).
- `zoom`: bracket, then zoom in, until the strong Wolfe conditions hold
  (`zoom_phases` holds the two phases, `interpolation` the trial points).

Both are `optax.GradientTransformationExtraArgs` whose `update` takes the
loss (`value=`), its gradient (`grad=`) and the loss function (`value_fn=`),
as Optax's do; their states are Optax's classes.
"""

from jaxopt_lessons.transforms.linesearch.backtracking import (
    BacktrackingLinesearchInfo,
    ScaleByBacktrackingLinesearchState,
    scale_by_backtracking_linesearch,
)
from jaxopt_lessons.transforms.linesearch.zoom import (
    ScaleByZoomLinesearchState,
    ZoomLinesearchInfo,
    scale_by_zoom_linesearch,
)

__all__ = [
    "BacktrackingLinesearchInfo",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByZoomLinesearchState",
    "ZoomLinesearchInfo",
    "scale_by_backtracking_linesearch",
    "scale_by_zoom_linesearch",
]
