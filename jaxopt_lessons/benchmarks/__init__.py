"""Benchmarks: optimizer step time, compile time, HLO traffic and memory.

``python -m jaxopt_lessons bench`` measures every optimizer of this package
against Optax (and torch.optim, foreach and fused, when torch is installed)
on three tree shapes: one large leaf, a transformer-like tree and many small
leaves, with the grouped path (`jaxopt_lessons.grouping`) beside the per-leaf
one, plus a sweep benchmark of `jaxopt_lessons.sweeps`. ``--quick`` runs tiny
shapes in under a minute. See `cli.main` for the options.

How it measures: all cases of one shape live in one process and are timed in
interleaved rounds (each case: untimed warm-up, then single steps, each
timed with `block_until_ready` on one output leaf); numbers are medians, and
ratios come with the range of the per-round ratios. Traffic and memory are
read from the compiled module (`cost_analysis`, `memory_analysis`), so they do
not depend on load.
"""
