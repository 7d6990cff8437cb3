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
]
