"""Grouped execution: many small parameter arrays updated as a few flat buffers.

Lesson: an elementwise optimizer (SGD, momentum, RMSprop, Adam, ...) does the
same arithmetic on every coordinate, whichever array the coordinate lives in.
So the thousands of small arrays of a model can be laid end to end in one flat
buffer per dtype and updated in one go. The numbers do not change; what
changes is the cost of the step. On a CPU, XLA pays about 20 µs and 10 ms of
compile time per array per step (measured on a 2-core machine, 4000 arrays of
256 floats); one flat buffer pays that once.

Two ways to use it:

1. Keep the parameters grouped for the whole run (the fast way)::

       params = jol.group(params)              # a GroupedTree: a few buffers
       opt = jol.grouped(jol.adam(1e-3))
       state = opt.init(params)
       def loss_fn(params, batch):             # the model sees the usual tree
           return model_loss(params.ungroup(), batch)
       # jax.grad(loss_fn)(params, batch) is a GroupedTree too

   (`jaxopt_lessons.training.make_train_step` does this for you.)

2. Wrap an optimizer and feed it ordinary trees: ``grouped(tx).update`` packs
   the gradients, runs `tx` on the buffers and unpacks the updates. The state
   is grouped; the parameters and gradients still cross the `jit` boundary
   one array at a time, so this saves less.

Only leaves with at most `max_leaf_size` elements are grouped: large arrays
already run at memory speed on their own, and on a CPU one big concatenated
buffer was measured *slower* than the per-array update for transformer-sized
arrays. Large leaves stay as they are, inside the same `GroupedTree`. The way
2 copies every grouped element in and out each step, so it groups only
leaves of up to 2^10 elements by default (`DEFAULT_PLAIN_MAX_LEAF_SIZE`),
where the way 1 groups up to 2^14 (`DEFAULT_MAX_LEAF_SIZE`).

Which transforms can be grouped: those whose update treats every
coordinate alike, with coordinates that do not interact. Every transform of
this package declares whether it is (`declarations`); `grouped` reads the
declarations, and judges the operations of transforms that declare nothing
(Optax's, a user's) one by one (`check`). Anything it cannot accept is
refused with `NotElementwiseError`, naming the transform and the reason.

The modules: `layout` (the grouped representation), `declarations`,
`check` (the traced update), `wrapper` (`grouped`).
"""

from jaxopt_lessons.grouping.check import (
    NotElementwiseError,
    check_elementwise,
    problems_of,
)
from jaxopt_lessons.grouping.declarations import (
    Declaration,
    declaration_of,
    elementwise,
    not_elementwise,
    partition_invariant,
)
from jaxopt_lessons.grouping.layout import (
    DEFAULT_MAX_LEAF_SIZE,
    DEFAULT_PLAIN_MAX_LEAF_SIZE,
    GroupedTree,
    Layout,
    group,
    is_grouped,
    layout_of,
)
from jaxopt_lessons.grouping.wrapper import grouped

__all__ = [
    "DEFAULT_MAX_LEAF_SIZE",
    "DEFAULT_PLAIN_MAX_LEAF_SIZE",
    "Declaration",
    "GroupedTree",
    "Layout",
    "NotElementwiseError",
    "check_elementwise",
    "declaration_of",
    "elementwise",
    "group",
    "grouped",
    "is_grouped",
    "layout_of",
    "not_elementwise",
    "partition_invariant",
    "problems_of",
]
