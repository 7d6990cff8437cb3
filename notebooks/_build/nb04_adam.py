"""Notebook 04, Adam: a smoothed direction and a per-coordinate scale.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_BASIC, code, md

CELLS = [
    md("""
# 4. Adam: a smoothed direction, a per-coordinate scale

Adam keeps two running averages per parameter: one of the gradient
(momentum's idea, a smoothed direction) and one of the squared gradient
(RMSprop's idea, the recent gradient scale). Its step divides the first by
the square root of the second:

```
m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²
m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)        (early-step correction)
w ← w − lr · m̂ / (√v̂ + eps)
```

This notebook measures three consequences with `jol.adam`:

1. the step is about `lr` in every coordinate, whatever the gradient's size;
2. so Adam barely notices if the whole loss is multiplied by a constant;
3. yet its learning rate still has to be chosen.
"""),
    code(SETUP_BASIC),
    md("""
## 4.1 The first step is `lr` in every coordinate

**Claim.** On the 1000:1 bowl f(x) = ½(1000 x₁² + x₂²) the gradient at (1, 1)
is 1000 times larger along x₁. SGD's step inherits that ratio; Adam's first
step is m̂/√v̂ = g/|g| = ±1 per coordinate, times `lr`.

**Experiment.** One step of each from (1, 1).
"""),
    code("""
from jaxopt_lessons.problems import make_scaled_bowl

bowl = make_scaled_bowl((1000.0, 1.0))
g = bowl.grad(bowl.x0)
for name, opt in [("SGD, lr 1.9e-3", jol.sgd(1.9e-3)), ("Adam, lr 1e-2", jol.adam(1e-2))]:
    step, _ = opt.update(g, opt.init(bowl.x0), bowl.x0)
    step = np.abs(np.asarray(step))
    print(f"{name:>15}: |step| = {step}, steep/shallow = {step[0] / step[1]:.3f}")
"""),
    md("""
SGD's steps differ by the full factor of 1000: a learning rate small enough
for x₁ leaves x₂ crawling. Adam moves both coordinates by the same amount.
"""),
    md("""
## 4.2 Adam does not see the loss's scale (up to eps)

**Claim.** Multiplying the loss by a constant c multiplies every gradient by
c, so m̂ scales by c and √v̂ by |c|: their ratio does not change, except
where eps matters. A loss that is accidentally 1000× too small (say, a mean
divided by the batch size twice) shrinks SGD's steps 1000×, but not Adam's.

**Experiment.** Ten Adam steps on the digits MLP, with the loss as is and
multiplied by 1e-3, for three values of eps; the number is the relative
difference of the two displacements.
"""),
    code("""
from jaxopt_lessons.lessons import wrong_gradients
from jaxopt_lessons.problems import datasets, mlp

digits = datasets.load_digits(0)
params0 = mlp.init(jax.random.PRNGKey(0))
eps_values = np.asarray(wrong_gradients.EPS_VALUES, np.float32)
gaps = wrong_gradients.adam_displacement_gap(
    params0, digits.x_train[:256], digits.y_train[:256], eps_values, 1e-3
)
for eps, gap in zip(wrong_gradients.EPS_VALUES, np.asarray(gaps)):
    print(f"eps = {eps:g}: relative change of Adam's 10-step displacement = {gap:.1e}")
"""),
    md("""
With the default eps = 1e-8 the scaled run moves a few percent differently;
with a smaller eps the two runs agree to the last digits. Adam is invariant to
the gradient's scale up to eps (Kingma & Ba, ICLR 2015, §2.1). Convenient,
and also a way for a loss bug to go unnoticed: notebook 05 shows the same
bug wrecking SGD.
"""),
    md("""
## 4.3 Adam still needs its learning rate

**Claim.** Adaptive scaling widens the range of learning rates that work,
but does not remove the choice.

**Experiment.** A 64-64-10 ReLU network on the digits, 300 minibatch steps,
19 learning rates from 1e-5 to 10, SGD and Adam from the same weights on the
same batches (`lessons.lr_sensitivity`; the main job also runs momentum,
Nesterov and RMSprop, and three seeds). The number is the width, in decades,
of the range where the test accuracy reaches 0.9.
"""),
    code("""
from jaxopt_lessons.lessons import lr_sensitivity, plots_of

result = lr_sensitivity.run(quick=True, optimizers=("SGD", "Adam"))
for name in result.width:
    print(f"{name:>5}: good range {result.good_lo[name][0]:.2g} … "
          f"{result.good_hi[name][0]:.2g}, width {result.width[name][0]:.2f} decades, "
          f"best test accuracy {result.best_acc[name][0]:.3f}")
print(f"Adam's accuracy at lr >= 1: {max(result.adam_acc_at_lr_ge_1):.2f}; "
      f"at lr = 1e-5: {max(result.adam_acc_at_smallest_lr):.2f}")
print("claim holds:", result.holds)
"""),
    code("""
for path in plots_of("lr_sensitivity").plot(result, OUT):
    display(Image(path))
"""),
    md("""
Adam's good range is wider than SGD's and sits at smaller learning rates, but
it is still a window of a couple of decades: at a learning rate of 1 Adam is
no better than guessing, and at 1e-5 it has barely started. The lesson's
"adaptive methods reduce some sensitivity, but learning rate still matters"
is what these numbers say.
"""),
]
