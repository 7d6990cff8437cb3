"""Notebook 02, momentum: ravines (√κ instead of κ) and minibatch noise.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_PROBLEMS, code, md

CELLS = [
    md("""
# 2. Momentum: keep moving where the gradients agree

Heavy-ball momentum keeps a velocity, `v ← β v + g`, and steps along it,
`w ← w − lr · v` (`jol.sgd(lr, momentum=β)`; Polyak 1964). Successive
gradients that point the same way add up; ones that flip sign cancel. This
notebook measures two claims of the lesson, with the caveats the numbers force.
The experiments are `jaxopt_lessons.lessons.ravine` and `...lessons.noise`; each
`run()` returns a dataclass of measured numbers.
"""),
    code(SETUP_PROBLEMS + "\nfrom jaxopt_lessons.lessons import noise, plots_of, ravine"),
    md("""
## 2.1 Ravines: √κ instead of κ

**Claim.** GD needs about κ steps in a ravine, the heavy ball with Polyak's
optimal (α, β) about √κ.

**Experiment.** Random rotated ravines, κ ∈ {10, 100, 1000}, several
dimensions and seeds; steps until the error drops 1000×; the slope of
log(steps) against log(κ).
"""),
    code("""
result = ravine.run(quick=True)
print(ravine.CLAIM)
print("holds:", result.holds)
print(f"slope GD {np.median(result.slopes_gd):.2f}, heavy ball {np.median(result.slopes_hb):.2f}")
for kappa, ratios in result.ratio_gd_hb.items():
    print(f"κ = {kappa:>5}: GD needs {min(ratios):.1f}-{max(ratios):.1f}x the heavy ball's steps")
paths = plots_of("ravine").plot(result, OUT)
display(Image(paths[1]))
"""),
    md("""
The heavy ball's slope is a little above 0.5: its error shrinks like
(1 + c·k)·rᵏ, the polynomial factor of a critically damped iteration.

## 2.2 The zig-zag, and the caveat

**Claim.** Momentum damps the zig-zag. Measured at κ = 100 in 2-D: the share of
steps on which the motion across the valley reverses, and the total sideways
travel relative to the starting offset.
"""),
    code("""
for method, metrics in result.zigzag.items():
    print(f"{method:<30} steps {np.median(metrics['steps']):6.0f}   "
          f"flips {np.median(metrics['flip_fraction']):4.0%}   "
          f"sideways travel {np.median(metrics['sideways_travel']):6.1f}   "
          f"max ‖x‖/‖x₀‖ {np.median(metrics['max_error']):4.2f}")
display(Image(paths[0]))
display(Image(paths[2]))
"""),
    md("""
At the **same** learning rate as GD, β = 0.9 cuts the sideways travel about
fourfold (≈ 100 → 25): that is the damping the lesson describes. The
**fastest** heavy ball, however, swings across the valley as much as GD (travel
≈ κ) and at first even moves *away* from the minimum; it wins because it can
use a step ≈ 3.3/L where GD must stay below 2/L, not because it zig-zags less.
Nesterov's scheme with its standard constants (lr 1/L) is the one that really
removes the sideways motion (travel ≈ 2.6).

## 2.3 Noise: a steadier direction; a lower floor only near SGD's edge

**Claim (as the numbers allow it).** Momentum averages recent minibatch
gradients, so its steps point much closer to the true gradient. At the same
*effective* learning rate η = lr/(1 − β) it leaves the noise floor
**unchanged** while η·λ_max is small, and **lowers** it only near SGD's
stability edge, η·λ_max → 2.

**Theory.** On a quadratic with curvatures λᵢ and gradient noise of variance
σ² per coordinate, the long-run loss of SGD and of the heavy ball solves a
discrete Lyapunov equation, and has a closed form
(`NoisyQuadratic.closed_form_loss`):

$$\\mathbb{E}f_{\\text{SGD}} = \\sum_i \\frac{\\eta\\sigma^2}{2(2-\\eta\\lambda_i)},
\\qquad
\\mathbb{E}f_{\\text{HB}} = \\sum_i \\frac{\\eta\\sigma^2}{2\\left(2-\\eta\\lambda_i\\frac{1-\\beta}{1+\\beta}\\right)}.$$

SGD is stable for η·λ < 2, the heavy ball for η·λ < 2(1 + β)/(1 − β) (= 38 at
β = 0.9). For η·λ ≪ 1 both are ≈ Σ ησ²/4; near SGD's edge SGD's floor blows up
while the heavy ball is still far from its own.

**Experiment.** A noisy quadratic (λ in [0.1, 1], σ = 0.5) in both regimes,
η = 0.05 and η = 1.5 (SGD's limit is 2), and minibatch least squares on the
diabetes data (batch 8): SGD with lr η against the heavy ball with lr η(1 − β).
"""),
    code("""
noisy_result = noise.run(quick=True)
print(noise.CLAIM)
print("holds:", noisy_result.holds)
print(noisy_result.measured)
print(f"stable for η < {noisy_result.sgd_edge:g} (SGD), η < {noisy_result.hb_edge:g} (heavy ball)")
for i, eta in enumerate(noisy_result.etas):
    ratio = noisy_result.floor_hb[i] / noisy_result.floor_sgd[i]
    exact_ratio = noisy_result.exact_hb[i] / noisy_result.exact_sgd[i]
    print(f"quadratic η_eff {eta}: floor SGD {noisy_result.floor_sgd[i].mean():.4f} "
          f"(exact {noisy_result.exact_sgd[i].mean():.4f}), heavy ball {noisy_result.floor_hb[i].mean():.4f} "
          f"(exact {noisy_result.exact_hb[i].mean():.4f}); HB/SGD {ratio.mean():.3f}, theory {exact_ratio.mean():.3f}")
noise_paths = plots_of("noise").plot(noisy_result, OUT)
for p in noise_paths:
    display(Image(p))
"""),
    md("""
At η = 0.05 the two floors agree within about 1 %, as the closed form says.
At η = 1.5, three quarters of the way to SGD's limit, the heavy ball's floor is
about 0.6 of SGD's, again as predicted: SGD's floor grows like 1/(2 − ηλ) as
it nears its edge, while the heavy ball is nowhere near its own. So momentum
lowers the floor where SGD is close to diverging; at the small steps that
usually end a training run it does not. Adding momentum at the same *raw*
learning rate multiplies the effective step by 1/(1 − β) = 10, so the floor
rises about tenfold (it is reached sooner). To lower a floor, shrink or decay
the step, enlarge the batch, or average the iterates.
"""),
]
