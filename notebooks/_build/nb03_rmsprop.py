"""Notebook 03, RMSprop: uneven gradient scales, and where rescaling stops helping.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_PROBLEMS, code, md

CELLS = [
    md("""
# 3. RMSprop: one step size per coordinate

RMSprop keeps a running average of each coordinate's squared gradient,
`ν ← ρ ν + (1 − ρ) g²`, and divides the step by its root: `w ← w − lr · g / √ν`
(`jol.rmsprop`; Tieleman & Hinton 2012). A coordinate with consistently large
gradients gets a small effective learning rate and vice versa. The experiment is
`jaxopt_lessons.lessons.scales`.
"""),
    code(SETUP_PROBLEMS + "\nfrom jaxopt_lessons.lessons import plots_of, scales"),
    md("""
## 3.1 The 1000:1 bowl

**Claim.** On f = ½(1000 x₁² + x₂²), SGD's steps are 1000× larger along the
steep x₁ than along x₂; RMSprop's (and Adam's) are equal, because its effective
learning rate `|u_i| / |g_i|` is 1000× smaller on x₁.
"""),
    code("""
result = scales.run(quick=True)
print(scales.CLAIM)
print("holds:", result.holds)
for name in scales.OPTIMIZERS:
    print(f"{name:<13} |Δx₁|/|Δx₂| at step 1: {result.bowl_step_ratio_first[name]:8.1f}   "
          f"spread of effective lrs (log10): {result.bowl_spread_log10[name][1]:.2f}   "
          f"shallow progress in 200 steps: {result.bowl_shallow_progress[name]:.3f}")
paths = plots_of("scales").plot(result, OUT)
display(Image(paths[0]))
display(Image(paths[1]))
"""),
    md("""
The effective learning rates of RMSprop differ by exactly three decades, the
gradient ratio, so both coordinates move by the same amount, and the shallow
one is within 10⁻⁴ of its minimum in under 140 steps, where SGD has covered a
third of the way in 200.

## 3.2 The caveat: only scales aligned with the coordinates

**Claim.** Per-coordinate scaling can only undo scale differences that sit on
the coordinates. Rotate the same bowl (same eigenvalues, scales 1 … 1000 in 10
dimensions) and RMSprop's advantage disappears; momentum does not care about the
rotation.

**Experiment.** Best learning rate of a grid for each optimizer; steps until
‖x‖/‖x₀‖ stays below 1e-2.
"""),
    code("""
for kind in ("axis", "rotated"):
    row = "   ".join(f"{name} {np.median(result.nd_steps[kind][name]):5.0f}" for name in scales.OPTIMIZERS)
    print(f"{kind:>8}: {row}")
display(Image(paths[2]))
"""),
    md("""
Axis-aligned, Adam needs about twenty times fewer steps than SGD and RMSprop
about seven to ten times fewer; rotated, RMSprop falls back towards SGD and Adam keeps only part of its
edge, while momentum is about equally fast in both.

## 3.3 Real data: raw breast-cancer features

**Claim.** Features in very different units make a badly scaled problem;
adaptive methods cope better than SGD, and standardising the features helps
every optimizer more than switching optimizer does.
"""),
    code("""
for kind in ("raw", "standardized"):
    row = "   ".join(f"{name} {np.median(result.logreg_best_loss[kind][name]):.4f}" for name in scales.OPTIMIZERS)
    print(f"{kind:>12} best training loss after 300 steps: {row}")
"""),
    md("""
On raw features Adam reaches a loss three to four times lower than SGD at the
best learning rate of each; after standardising, every optimizer does better
than Adam did on raw features.
"""),
]
