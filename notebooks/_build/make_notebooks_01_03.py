"""Writes notebooks 01-03 (without outputs) from the cell texts below.

Run from the repository root: `.venv/bin/python notebooks/_build/make_notebooks_01_03.py`.
Edit the cells here, not in the .ipynb files, and run it again.
"""

from __future__ import annotations

import pathlib

import nbformat

HERE = pathlib.Path(__file__).resolve().parent.parent

SETUP = """\
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

import jaxopt_lessons as jol
from jaxopt_lessons import diagnostics, problems

OUT = Path(tempfile.mkdtemp(prefix="jaxopt-lessons-"))  # plots go to a scratch folder"""


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str):
    return nbformat.v4.new_code_cell(text.strip())


NB01 = [
    md("""
# 1. What plain SGD struggles with

The update `w ← w − lr · g` uses one number, the learning rate, for every
direction and every step. This notebook measures three situations where that is
not enough, each with a problem from `jaxopt_lessons.problems`:

1. **a ravine**: steep walls, a shallow floor: GD bounces between the walls;
2. **noisy gradients**: with a constant step the iterate never settles;
3. **uneven scales**: one coordinate's gradient is 1000× another's, and the
   shallow one barely moves.

Each section states a claim, runs an experiment, prints the number, and plots it.
"""),
    code(SETUP),
    md("""
## 1.1 The ravine: bouncing between the walls

**Claim.** On f(x) = ½ xᵀAx with condition number κ = L/μ, gradient descent at
its best fixed step 2/(L+μ) overshoots the steep direction on *every* step,
and shrinks the error only by (κ−1)/(κ+1) per step, so it needs about κ steps.

**Experiment.** A 2-D ravine with κ = 100, GD wrapped in `diagnostics.diagnose`,
which records the share of coordinates whose update flips sign each step (the
zig-zag index).
"""),
    code("""
ravine = problems.make_ravine(kappa=100.0, dim=2, rotated=False, x0=jnp.array([-1.0, 0.5]))
lr = ravine.gd_step_size()
path, stats = diagnostics.run(jol.sgd(lr), ravine.grad, ravine.x0, 500)
error = np.linalg.norm(np.asarray(path), axis=1) / np.linalg.norm(ravine.x0)
steps = int(np.argmax(error < 1e-3)) + 1
closed_form = int(np.ceil(np.log(1e3) / np.log(101 / 99)))
print(f"steps to cut the error 1000x: {steps} (closed form ceil(ln 1e3 / ln(101/99)) = {closed_form})")
print(f"zig-zag index over those steps: {np.nanmean(stats.zigzag[1:steps]):.2f}")
"""),
    md("""
Along the steep axis the update flips sign on every step while the shallow
coordinate creeps: half the coordinates flip, so the index is 0.5, and the steep
one flips 100 % of the time.
"""),
    code("""
fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
ax[0].plot(np.asarray(path)[:60, 1], "-o", ms=3)
ax[0].axhline(0, color="k", lw=0.5)
ax[0].set(xlabel="step", ylabel="steep coordinate x₂", title="GD on a κ = 100 ravine: zig-zag")
ax[1].semilogy(error)
ax[1].axhline(1e-3, color="k", ls=":", label="target 1e-3")
ax[1].set(xlabel="step", ylabel="‖x‖ / ‖x₀‖", title="slow progress along the floor")
ax[1].legend()
fig.tight_layout()
"""),
    md("""
## 1.2 Noise: a floor instead of a minimum

**Claim.** With noisy gradients g = ∇f + σξ and a constant learning rate, SGD
does not converge: it hovers at a loss floor that grows with the learning rate.
For the quadratic the floor has an exact value (a discrete Lyapunov equation),
`NoisyQuadratic.stationary_loss`.

**Experiment.** 32 independent noise streams (σ = 0.5), 3000 steps of SGD at
two learning rates; the floor is the mean loss over the second half.
"""),
    code("""
noisy = problems.make_noisy_quadratic(kappa=10.0, dim=10, sigma=0.5, key=0)


@jax.jit
def sgd_losses(lr, keys):
    opt = jol.sgd(lr)  # built inside: lr is an argument, one compilation

    def one_stream(stream_keys):
        def step(carry, key):
            x, state = carry
            u, state = opt.update(noisy.noisy_grad(x, key), state, x)
            return (jol.apply_updates(x, u), state), noisy.loss(x)

        return jax.lax.scan(step, (noisy.x0, opt.init(noisy.x0)), stream_keys)[1]

    return jax.vmap(one_stream)(keys)


keys = jax.random.split(jax.random.key(0), (32, 3000))
curves = {lr: np.asarray(sgd_losses(lr, keys)) for lr in (0.05, 0.5)}
for lr, c in curves.items():
    print(f"lr {lr}: floor {c[:, 1500:].mean():.4f}   exact {noisy.stationary_loss(lr):.4f}")
"""),
    code("""
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for lr, c in curves.items():
    line, = ax.semilogy(c.mean(0), lw=0.8, label=f"SGD lr {lr}")
    ax.axhline(noisy.stationary_loss(lr), color=line.get_color(), ls=":", label=f"exact floor, lr {lr}")
ax.set(xlabel="step", ylabel="E f(x) over 32 streams", title="Noise sets a floor that grows with lr")
ax.legend(fontsize=8)
fig.tight_layout()
"""),
    md("""
A ten times larger step reaches the floor sooner but sits on a floor about ten
times higher: with a constant step, speed and final accuracy pull against each
other.

## 1.3 Uneven scales: the steepest coordinate sets the pace

**Claim.** On f = ½(1000 x₁² + x₂²), SGD is unstable for lr > 2/1000, so the
shallow coordinate x₂ moves by at most 0.2 % of itself per step.

**Experiment.** SGD just below and just above the limit, 200 steps from (1, 1).
"""),
    code("""
bowl = problems.make_scaled_bowl((1000.0, 1.0))
for lr in (1.9e-3, 2.1e-3):
    path, stats = diagnostics.run(jol.sgd(lr), bowl.grad, bowl.x0, 200)
    x = np.asarray(path[-1])
    print(f"lr {lr}: x after 200 steps = {x},  shallow progress 1 − |x₂|/|x₂,0| = {1 - abs(x[1]):.3f}")
print("effective learning rates differ by log10 spread:", float(stats.step_spread_log10[0]), "(one lr for all)")
"""),
    md("""
Just below the limit the shallow coordinate has covered only 32 % of its way
after 200 steps (exactly 1 − (1 − 0.0019)²⁰⁰); just above it the steep
coordinate blows up. The next two notebooks measure what momentum
(`02_momentum`) and per-coordinate scaling (`03_rmsprop`) do about these three
weaknesses, and where they do not help.
"""),
]


NB02 = [
    md("""
# 2. Momentum: keep moving where the gradients agree

Heavy-ball momentum keeps a velocity, `v ← β v + g`, and steps along it,
`w ← w − lr · v` (`jol.sgd(lr, momentum=β)`; Polyak 1964). Successive
gradients that point the same way add up; ones that flip sign cancel. This
notebook measures two claims of the lesson, with the caveats the numbers force.
The experiments are `jaxopt_lessons.lessons.ravine` and `...lessons.noise`; each
`run()` returns a dataclass of measured numbers.
"""),
    code(SETUP + "\nfrom jaxopt_lessons.lessons import noise, ravine"),
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
paths = ravine.plot(result, OUT)
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
noise_paths = noise.plot(noisy_result, OUT)
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


NB03 = [
    md("""
# 3. RMSprop: one step size per coordinate

RMSprop keeps a running average of each coordinate's squared gradient,
`ν ← ρ ν + (1 − ρ) g²`, and divides the step by its root: `w ← w − lr · g / √ν`
(`jol.rmsprop`; Tieleman & Hinton 2012). A coordinate with consistently large
gradients gets a small effective learning rate and vice versa. The experiment is
`jaxopt_lessons.lessons.scales`.
"""),
    code(SETUP + "\nfrom jaxopt_lessons.lessons import scales"),
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
paths = scales.plot(result, OUT)
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


def write(name: str, cells) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write("01_what_sgd_struggles_with.ipynb", NB01)
    write("02_momentum.ipynb", NB02)
    write("03_rmsprop.ipynb", NB03)
