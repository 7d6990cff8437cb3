"""Notebook 08, beyond Adam: what the newer methods promise, measured.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_BASIC, code, md

CELLS = [
    md("""
# 8. Beyond Adam: newer promises, measured

Momentum, RMSprop and Adam answer the lesson's three complaints about SGD.
Newer methods make further promises, and the library has them
(`jaxopt_lessons.contrib` mirrors `optax.contrib`; `jol.lbfgs` is in the
core):

| promise | methods | section |
|---|---|---|
| no learning rate to tune | Prodigy, D-Adaptation, DoG, DoWG | 8.1 |
| no schedule, and no stopping time to fix in advance | schedule-free AdamW | 8.2 |
| better steps for weight matrices | Muon | 8.3 |
| steps that do not depend on the condition number | L-BFGS | 8.4 |

Each section states the promise, runs one experiment of
`jaxopt_lessons.lessons` in its small version (the main job,
`python -m jaxopt_lessons`, runs them larger and over more seeds) and says
what held. Where a promise holds only in part, the notebook says which part.
"""),
    code(SETUP_BASIC + "\nfrom jaxopt_lessons.lessons import plots_of"),
    md("""
## 8.1 Learning-rate-free methods

**Promise.** Prodigy (Mishchenko & Defazio, ICML 2024) and D-Adaptation
(Defazio & Mishchenko, ICML 2023) keep Adam's direction and scale its step by
a running lower bound on the distance to the solution; DoG (Ivgi et al., ICML
2023) and DoWG (Khaled et al., NeurIPS 2023) divide the distance travelled
so far by the size of the gradients seen. Their `learning_rate` is only a
multiplier, 1.0 by default, so there should be nothing left to tune.

**Experiment** (`lessons.lr_free`): notebook 4's digits network, 300
minibatch steps, the same start and batches for everyone. Each method at its
default, then with its multiplier swept over the same 1/3-decade grid as
Adam's learning rate; the number is the width of the range that reaches 90 %
test accuracy.
"""),
    code("""
from jaxopt_lessons.lessons import lr_free

free = lr_free.run(quick=True)
print(f"tuned Adam: {free.adam_best_acc[0]:.3f} at lr {free.adam_best_lr[0]:.3g}")
for name in free.default_acc:
    lo, hi = free.good_lo[name][0], free.good_hi[name][0]
    where = f"good from {lo:.3g} to {hi:.3g}" if np.isfinite(lo) else "no good range"
    print(f"{name:>14}: default {free.default_acc[name][0]:.3f}, "
          f"range {free.width[name][0]:.2f} decades ({where})")
print("claim holds:", free.holds)
for path in plots_of("lr_free").plot(free, OUT):
    display(Image(path))
"""),
    md("""
What holds: at its default, Prodigy is about as accurate as Adam at its best
learning rate, and its first distance estimate hardly matters. What does not:
the multiplier is still a learning rate with a good range of its own, and
that range is not much wider than Adam's. D-Adaptation's is narrower, DoG
works at 1.0 and fails a factor of two either side, and DoWG's default
does not train this network at all (Optax's DoWG does the same: the two agree
step for step). A good default is worth having; "no tuning" is too strong.
"""),
    md("""
## 8.2 Schedule-free AdamW

**Promise.** A cosine schedule is built for a stopping time T: stop earlier
and the learning rate is still high. Schedule-free AdamW (Defazio et al.,
NeurIPS 2024) keeps the rate constant after warmup and evaluates an average
of its iterates instead, so one run should serve every stopping time and do
as well as a schedule made for it.

**Experiment** (`lessons.schedule_free`): the digits network for T = 600
steps. Schedule-free AdamW (evaluated at its averaged point with
`contrib.schedule_free_eval_params`) against AdamW with the same 30-step
warmup followed by a cosine to zero, built for T/8, T/4, T/2 and T; each at
its best learning rate on one shared grid. The number is the loss on the
whole training set.
"""),
    code("""
from jaxopt_lessons.lessons import schedule_free

sf = schedule_free.run(quick=True)
s = sf.per_seed[0]
print("stop   schedule-free   cosine made for this stop   cosine made for T")
for j, h in enumerate(schedule_free.HORIZONS):
    print(f"{h:>4}   {s['sf_loss'][j]:13.2e}   {s['tuned_cosine_loss'][j]:25.2e}"
          f"   {s['cosine_for_T_loss'][j]:17.2e}")
print(f"test accuracy at T: schedule-free {s['sf_acc'][-1]:.3f}, "
      f"cosine {s['tuned_cosine_acc'][-1]:.3f}")
print("claim holds:", sf.holds)
for path in plots_of("schedule_free").plot(sf, OUT):
    display(Image(path))
"""),
    md("""
Here the promise holds and more: the one schedule-free run has a lower
training loss than the cosine made for each stop. Two cautions. The losses
are tiny (the network memorises its 1347 training images), and test accuracy
is the same for both, so the gain is in optimisation, not in what the
network learns. And the averaged point is the one to evaluate: the
parameters the optimizer steps from are noisier mid-run.
"""),
    md("""
## 8.3 Muon for weight matrices

**Promise.** Muon (Jordan et al., 2024) treats a weight matrix as a linear
map, not a bag of numbers: it takes the momentum of the gradient and
replaces it by the nearest orthogonal matrix (a few Newton–Schulz
iterations), so the update moves every direction of the map by the same
amount. Bernstein & Newhouse (2024) read this as steepest descent under the
spectral norm. Adam and SGD updates, in contrast, are dominated by a few
directions.

**Experiment** (`lessons.muon`): a 64-128-128-10 digits network (so there is
a square hidden matrix), 300 steps; Muon, AdamW and SGD with momentum, each
over one grid of learning rates. The numbers: steps to a training loss of
0.05 at each method's fastest rate, the final loss at its best rate, and the
singular values of one update of the 128×128 matrix.
"""),
    code("""
from jaxopt_lessons.lessons import muon

mu = muon.run(quick=True)
for name in muon.METHODS:
    print(f"{name:>13}: {mu.steps_to_target[name][0]} steps to loss {muon.TARGET_LOSS} "
          f"(lr {mu.fastest_lr[name][0]:.2g}), final loss {mu.best_final_loss[name][0]:.1e} "
          f"(lr {mu.best_lr[name][0]:.2g}), test acc {mu.best_test_acc[name][0]:.3f}, "
          f"update σ_max/σ_median at step {muon.RECORD_STEPS[1]}: {mu.ratio[name][0][1]:.1f}")
print("claim holds:", mu.holds)
for path in plots_of("muon").plot(mu, OUT):
    display(Image(path))
"""),
    md("""
The mechanism is there: Muon's update is nearly flat over most of its 128
directions (an effective rank of about 90), where AdamW's and SGD's are led
by a handful; the directions it leaves small are those where the momentum
itself is tiny, such as the rows of dead ReLU units. On a network this
small it buys a modest speed-up over a tuned AdamW and a lower final training
loss, but the fastest learning rate and the best final one are different
rates, test accuracy is no better, SGD with momentum is close behind, and
the range of good learning rates is narrower. The gains reported for Muon
are on transformers and far larger models; this experiment does not reach
that scale.
"""),
    md("""
## 8.4 L-BFGS on the ravine

**Promise.** Notebook 2 measured that gradient descent needs about κ steps
in a ravine of condition number κ and the tuned heavy ball about √κ.
A quasi-Newton method learns the curvature from the gradients it has seen,
so its steps should stop depending on κ. L-BFGS (Liu & Nocedal, 1989) keeps
the last few (here 10) gradient differences and finds its step size with a
line search.

**Experiment** (`lessons.quasi_newton`): the same rotated ravines, in 2, 10
and 100 dimensions, κ up to 1e4; steps until the error drops 1000×, the
function and gradient evaluations they cost, and the slope of log(steps)
against log(κ). `jol.lbfgs()` as shipped, and with a tight line search.
"""),
    code("""
from jaxopt_lessons.lessons import quasi_newton

qn = quasi_newton.run(quick=True)
print("κ:", qn.kappas)
for method, per_dim in qn.steps.items():
    for dim, steps in per_dim.items():
        slope = np.median(qn.slopes[method][dim])
        print(f"{method:>22}, d = {dim:>3}: median steps {np.median(steps, axis=0)}, "
              f"slope {slope:.2f}")
print("claim holds:", qn.holds)
for path in plots_of("quasi_newton").plot(qn, OUT):
    display(Image(path))
"""),
    md("""
In two dimensions the promise holds: three or four steps at every κ, where
GD zig-zags for hundreds. In 100 dimensions, ten times the memory, L-BFGS's
steps grow like √κ, just as the tuned heavy ball's do. That is no failing of
the implementation (SciPy's L-BFGS counts the same steps): a method whose
iterates stay in the span of the gradients seen so far cannot beat about √κ
steps on the worst quadratic until it has taken as many steps as there are
dimensions (Nesterov, 2004, §2.1). What L-BFGS does buy is the heavy ball's
speed without knowing the smallest and largest curvature, at about one
evaluation per step. It also needs exact values and gradients: its line
search compares losses at different points, which minibatch noise would
spoil.
"""),
]
