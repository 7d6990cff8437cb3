"""Writes notebooks 04-06 (without outputs) from the cell texts below.

Run from the repository root: `.venv/bin/python notebooks/_build/build_04_06.py`.
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
import numpy as np
from IPython.display import Image, display

import jaxopt_lessons as jol

OUT = Path(tempfile.mkdtemp(prefix="jaxopt-lessons-"))  # plots go to a scratch folder"""


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str):
    return nbformat.v4.new_code_cell(text.strip())


NB04 = [
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
    code(SETUP),
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
from jaxopt_lessons.lessons import lr_sensitivity

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
for path in lr_sensitivity.plot(result, OUT):
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

NB05 = [
    md("""
# 5. Trade-offs and pitfalls

Two questions. Does the optimizer change *which* solution training finds, and
does that show up in test accuracy? And can any optimizer make up for a
wrong gradient, a model that cannot fit, or a mis-scaled loss?
"""),
    code(SETUP),
    md("""
## 5.1 Implicit bias: the same data, different solutions

**Claim.** With more weights than samples, many weight vectors fit the
training data exactly. Gradient descent and heavy-ball momentum, started at
zero, only ever add combinations of the data rows, so they end on the
minimum-norm fit w_mn = pinv(X) y. Adam and RMSprop rescale each coordinate
and end somewhere else.

**Experiment.** Least squares with 40 samples and 200 weights, 5000
full-batch steps from w = 0, three random problems (`lessons.tradeoff`).
The number is ‖w − w_mn‖ / ‖w_mn‖.
"""),
    code("""
from jaxopt_lessons.lessons import tradeoff

result = tradeoff.run(quick=True)
for name in tradeoff.LS_OPTIMIZERS:
    d = result.ls_distance[name]
    print(f"{name:>13}: ‖w − w_mn‖/‖w_mn‖ = {min(d):.1e} … {max(d):.1e}, "
          f"train MSE ≤ {max(result.ls_train_mse[name]):.0e}")
print("test MSE of Adam's fit / GD's fit, per problem:",
      np.round(result.adam_over_gd_test_mse, 3))
"""),
    md("""
GD and momentum land on w_mn up to float32 rounding; RMSprop and Adam fit
the data just as well but end more than half of ‖w_mn‖ away, on a longer
weight vector. On these problems (the true weights are drawn isotropically)
the min-norm fit also predicts better, but that part depends on how the data
were made; the bias itself does not.
"""),
    md("""
## 5.2 Generalisation on real data: no robust gap

**Claim (as the lesson puts it).** SGD with momentum sometimes generalises
better than Adam.

**Experiment.** The digits MLP trained on only 300 samples, the learning
rate of each optimizer tuned on 450 held-out samples, then scored on the
test part; same split, weights and batches for both, paired by seed.
"""),
    code("""
mean, se = result.difference_summary()
for seed, m, a in zip(result.digits_seeds, result.digits_test_acc["momentum 0.9"],
                      result.digits_test_acc["Adam"]):
    print(f"seed {seed}: momentum {m:.3f}   Adam {a:.3f}   difference {m - a:+.3f}")
print(f"mean difference momentum − Adam: {mean:+.4f} ± {se:.4f} (standard error)")
print("claim holds (as stated here):", result.holds)
"""),
    code("""
for path in tradeoff.plot(result, OUT):
    display(Image(path))
"""),
    md("""
The per-seed differences are a point or two either way and their mean is
within noise of zero. On this problem, tuned SGD+momentum and tuned Adam
generalise alike; "sometimes better" needs bigger models and data than this
to show (Wilson et al., NeurIPS 2017, report such cases), and it should be
measured rather than assumed.
"""),
    md("""
## 5.3 Pitfalls no optimizer fixes

**Claim.** An optimizer only moves along the gradient it is given.

**Experiment** (`lessons.wrong_gradients`):
- the digits MLP with a hand-written backward pass, correct or with one of
  three bugs, each at several learning rates; the number is the best test
  accuracy, and a gradient check against `jax.grad`;
- a 2-32-2 network on two concentric rings, with and without its ReLU;
- the loss multiplied by 1e-3, at a learning rate that works unscaled.

Here momentum and Adam train the digits network (the main job also runs
plain SGD and RMSprop); the rings use all four.
"""),
    code("""
from jaxopt_lessons.lessons import wrong_gradients

pitfalls = wrong_gradients.run(quick=True, optimizers=("momentum 0.9", "Adam"))
print("best test accuracy over learning rates, and the gradient check:")
for variant in wrong_gradients.VARIANTS:
    accs = "  ".join(f"{o} {v[0]:.3f}" for o, v in pitfalls.best_acc[variant].items())
    print(f"{variant:>24}: {accs}   check {pitfalls.gradcheck_rel_error[variant][0]:.1e}")
for kind in ("linear", "ReLU"):
    accs = "  ".join(f"{o} {v[0]:.3f}" for o, v in pitfalls.circles_best_acc[kind].items())
    print(f"rings, {kind:>6} net: {accs}")
for o in pitfalls.scaled_acc["scaled"]:
    print(f"loss × 1e-3, {o:>12}: test accuracy {pitfalls.scaled_acc['unscaled'][o][0]:.3f}"
          f" → {pitfalls.scaled_acc['scaled'][o][0]:.3f}")
print("claim holds:", pitfalls.holds)
"""),
    code("""
for path in wrong_gradients.plot(pitfalls, OUT):
    display(Image(path))
"""),
    md("""
- A sign bug makes every optimizer climb the loss: chance accuracy at every
  learning rate. A sign slip in one layer is nearly as bad.
- A forgotten ReLU derivative is *silent*: the network still learns to a
  respectable accuracy, so the accuracy curve does not reveal it. The gradient
  check does, by orders of magnitude. Check a hand-written gradient against
  automatic differentiation before tuning anything.
- Without its nonlinearity the network is one linear map, and no optimizer
  gets it far past chance on the rings; with the ReLU every optimizer is
  near perfect.
- With the loss 1000× too small, momentum SGD stalls while Adam trains as if
  nothing happened. Adam hides the bug; SGD would have exposed it.
"""),
]

NB06 = [
    md("""
# 6. Knowledge check, answered by measurement

The lesson ends with three multiple-choice questions. Here every option gets
a check that runs against evidence measured with this library
(`lessons.knowledge_check`): small quadratics, Adam against its formula, SGD
on a nonlinear model, and the optimizer interface itself. Exactly one option
per question should survive.
"""),
    code(SETUP),
    code("""
from jaxopt_lessons.lessons import knowledge_check

evidence = knowledge_check.gather_evidence(0)
verdicts = knowledge_check.check_options(evidence)
for q, (question, options) in knowledge_check.QUESTIONS.items():
    print(f"Q{q}. {question}")
    for letter, text in options.items():
        ok, why = verdicts[q][letter]
        print(f"  {letter}) {text}\\n     {'SUPPORTED' if ok else 'refuted'}: {why}")
    print()
"""),
    md("""
The two "B" options are category errors: an update sees gradients, its own
state and the parameters, so it cannot turn classification into regression
or replace a loss. Their checks read the interface rather than run an
experiment. Every other option is decided by a number.
"""),
    code("""
supported = knowledge_check.supported_options(evidence)
print("options the evidence supports:", supported)
assert supported == {1: ["A"], 2: ["A"], 3: ["A"]}
"""),
    md("""
## Grade yourself

`grade` takes your answers and explains each verdict with the measured
numbers. Try your own answers in the next cell.
"""),
    code("""
for feedback in knowledge_check.grade({1: "A", 2: "C", 3: "B"}, evidence):
    print(feedback, end="\\n\\n")
"""),
    code("""
result = knowledge_check.run(quick=True)
print(result.measured)
for path in knowledge_check.plot(result, OUT):
    display(Image(path))
"""),
]


def write(name: str, cells) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    nbformat.write(nb, HERE / name)


if __name__ == "__main__":
    write("04_adam.ipynb", NB04)
    write("05_tradeoffs_and_pitfalls.ipynb", NB05)
    write("06_knowledge_check.ipynb", NB06)
