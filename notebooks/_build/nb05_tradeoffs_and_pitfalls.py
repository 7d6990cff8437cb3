"""Notebook 05, trade-offs and pitfalls: implicit bias, generalisation, wrong gradients.

The cell texts, in order; `build.py` turns them into the notebook.
"""

from notebooks._build.build import SETUP_BASIC, code, md

CELLS = [
    md("""
# 5. Trade-offs and pitfalls

Two questions. Does the optimizer change *which* solution training finds, and
does that show up in test accuracy? And can any optimizer make up for a
wrong gradient, a model that cannot fit, or a mis-scaled loss?
"""),
    code(SETUP_BASIC),
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
from jaxopt_lessons.lessons import plots_of, tradeoff

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
for path in plots_of("tradeoff").plot(result, OUT):
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
for path in plots_of("wrong_gradients").plot(pitfalls, OUT):
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
