"""Sharded optimizer state for data-parallel training (ZeRO stage 1).

Lesson: in data-parallel training every device holds the whole model, and
with a plain `jit` it also holds the whole optimizer state. For Adam that is
two more arrays the size of the model, often the first thing that stops
fitting. But each device needs the state of only the coordinates it updates:
split the state over the data-parallel axis, let every device update its
slice of the parameters, and gather the new parameters afterwards. That is
ZeRO stage 1 (Rajbhandari et al., 2020). Under `jit` it takes no new
arithmetic: the shardings of the state, the gradients and the parameters are
annotated, and XLA inserts the collectives (a slice of the all-reduced
gradient before the update, an all-gather of the new parameters after it).

    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    params = sharding.replicate(params, mesh)
    opt_state = sharding.init_state(tx, params, mesh)       # 1/8 per device on 8
    step = sharding.make_sharded_train_step(loss_fn, tx, mesh)
    for x, y in batches:
        batch = sharding.shard_batch((x, y), mesh)
        params, opt_state, loss = step(params, opt_state, *batch)

Which dimension a state leaf is split along (`plan_state` says it leaf by
leaf):

- a leaf shaped like a parameter starts from that parameter's own sharding
  (params replicated, or sharded over other mesh axes as the user chose);
- the first dimension that is not sharded yet and whose size the axis size
  divides gets the axis; failing that, a dimension already sharded over
  other axes whose size the product of the sizes divides gets it as well;
- otherwise the leaf stays as it was (replicated): scalars (step counts,
  schedule states, PRNG keys) and leaves no dimension of which divides.
  Nothing is padded, because the optimizer's state must stay shaped like the
  parameters; `group_for_mesh` pads the flat buffers of grouped parameters
  instead, which are 1-D and whose length is free.

Which optimizers: all of them; none is refused. Each device's slice of an
elementwise update (Adam, SGD, Lion, ... 22 of the 29) is computed from the
same values as on one device (noisy_sgd's noise too: JAX's partitionable
threefry draws the same bits whichever device computes a slice), and XLA's collectives bring whatever a rule
needs from other slices: SM3's maxima over its covers (exact, a maximum does
not depend on order), and the sums behind per-leaf norms (lamb, lars,
fromage, novograd), Adafactor's factored means and block RMS, and
polyak_sgd's gradient norm. Those sums are added per device and then across
devices, another order than one device's, so these 6 agree with the
unsharded run to float32 rounding rather than bit for bit (measured on 8
devices in `tests/distributed`: every other optimizer, grouped ones
included, gives the same bits when both programs are compiled with the same
options; XLA may still fuse a partitioned program differently and move a
last bit). In a train step the gradient itself is such
a sum over the batch's shards, for every optimizer.

What does not shrink is a leaf no dimension of which the axis size divides;
it stays whole on every device (`plan_state` names it). Adafactor's factored
row and column statistics split like any other leaf.

Meshes with Explicit axes (`jax.make_mesh`'s default) and Auto axes both
work. On Explicit axes the update runs inside `jax.sharding.auto_axes`,
because sharding-in-types refuses to combine arrays split along different
dimensions (Adafactor's row and column factors, SM3's covers), which XLA's
partitioner handles.

Communication: per step, the gradient's all-reduce (as in plain data
parallelism), each device's slice of it taken locally, and an all-gather of
the new parameters. On the CPU, XLA keeps the all-reduce followed by a
slice; a reduce-scatter in its place would halve the gradient's traffic.
"""

from jaxopt_lessons.sharding.placement import group_for_mesh, replicate, shard_batch
from jaxopt_lessons.sharding.plan import (
    LeafPlan,
    init_state,
    plan_state,
    state_bytes,
    state_shardings,
)
from jaxopt_lessons.sharding.steps import (
    make_sharded_apply_step,
    make_sharded_train_step,
)

__all__ = [
    "LeafPlan",
    "group_for_mesh",
    "init_state",
    "make_sharded_apply_step",
    "make_sharded_train_step",
    "plan_state",
    "replicate",
    "shard_batch",
    "state_bytes",
    "state_shardings",
]
