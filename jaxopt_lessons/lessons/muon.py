"""Muon on a small MLP: flat updates, somewhat faster training, a narrower lr range.

The experiment: a 64-128-128-10 ReLU network on the digits (`load_digits`,
pixels /16, stratified 75/25 split), `STEPS` minibatch steps of 64 samples
(about 14 epochs), from the same He-initialised weights and on the same
sequence of batches for every method and learning rate. The two hidden layers
are 128 wide so that the network has a square 128x128 hidden-to-hidden matrix
(and a 64x128 input matrix), matrices with many directions, which is where
Muon's idea applies; the lessons' 64-64-10 network has one small hidden
matrix only.

The methods, each at every learning rate of ``logspace(-3.5, 0, 8)`` (half
a decade apart, 3.2e-4 to 1), library defaults otherwise:

- SGD with momentum 0.9 (`jaxopt_lessons.sgd`);
- AdamW (`jaxopt_lessons.adamw`, weight decay 1e-4);
- Muon (`jaxopt_lessons.contrib.muon`, Optax's defaults: β = 0.95, Nesterov,
  five Newton–Schulz steps): every weight matrix, the first and last included,
  gets Muon's update; the biases get Adam's, at AdamW's best learning rate of
  the same seed, so only the matrices' learning rate is swept. (Jordan keeps
  the first and last layers on Adam; here every matrix is on Muon so that the
  matrices' updates come from Muon alone.)

The numbers, per seed, from the loss on the whole training set (every
`EVERY` steps):

1. speed: the fewest steps any learning rate needs to reach a training loss
   of `TARGET_LOSS`, and the final training loss and test accuracy at each
   method's best learning rate (lowest final training loss);
2. the mechanism: the singular values of the update of the 128x128 hidden
   matrix at steps `RECORD_STEPS` (at the best learning rate): the ratio of
   the largest to the median one, and the effective rank exp(entropy of
   σ/Σσ) (Roy and Vetterli, 2007);
3. the width of the good range: the longest run of grid learning rates whose
   final training loss is below `TARGET_LOSS`, each point counting half a
   decade.

One compiled program (`program`) trains every method at every learning
rate: the method's index and the learning rates are traced settings, and
`one_of` runs the chosen method only (``lax.switch``); `sweeps.sweep` runs it.

What was found (seeds 0-5, 300 steps). The mechanism: Muon's update of the
hidden matrix is nearly orthogonal, its largest singular value 1.7-2.0 times
the median one at steps 10 and 100 (not 1: Jordan's Newton–Schulz
coefficients trade exactness for speed and leave the singular values spread
around 1; and directions in which the momentum is tiny are only partly
lifted, so the smallest third falls off), effective rank 90-97 of 128.
AdamW's update is dominated by a few directions (ratio 20-300, effective rank
19-60) and SGD+momentum's even more (ratio 220-3200, effective rank 7-25).
Late in training (step 300) Muon's ratio rises to 3-19, as more of the
momentum's directions become too small for five Newton–Schulz steps.

Speed, each method tuned on the grid: Muon's fastest learning rate (3.2e-2 on
every seed) reaches the 0.05 target 20-40 steps (about a fifth) before
AdamW's fastest (60-120 steps against 80-140), and Muon's best learning rate
(1e-2) ends 1.4-13 times lower than AdamW's best (1e-2). These are two
learning rates: at 1e-2 Muon starts slowly and needs 140 steps to the target
(AdamW at its best 100-140), at 3.2e-2 it ends at 0.02-0.06, worse than
AdamW at its best. Tuned SGD+momentum (lr 0.1) is close behind (100-180 steps; on one
seed of six it ties Muon to the target and ends as low). Test accuracy is the
same within 2.2 points (all about 0.97-0.99): on a problem this small, faster
training does not buy better generalisation. And Muon's range of good
learning rates is narrower than AdamW's (0.5-1 decade against 1-2): its
matrix update has a fixed size whatever the gradient, so too large a rate
makes the weights and the logits grow and the loss blow up (while the test
accuracy may stay above 0.9).

References: K. Jordan et al., "Muon: An optimizer for hidden layers in neural
networks", 2024, https://kellerjordan.github.io/posts/muon/; J. Bernstein and
L. Newhouse, "Old Optimizer, New Norm: An Anthology", arXiv:2409.20325, 2024;
J. Liu et al., "Muon is Scalable for LLM Training", arXiv:2502.16982, 2025;
O. Roy and M. Vetterli, "The effective rank: a measure of effective
dimensionality", EUSIPCO 2007; I. Loshchilov and F. Hutter, "Decoupled Weight
Decay Regularization", ICLR 2019.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxopt_lessons as jol
from jaxopt_lessons import contrib, sweeps
from jaxopt_lessons.lessons import lr_sensitivity
from jaxopt_lessons.problems import datasets, mlp

CLAIM_ID = "muon"
CLAIM = (
    "On a digits MLP, Muon's matrix updates are nearly orthogonal (largest/median "
    "singular value about 2, against 20-300 for AdamW and hundreds for "
    "SGD+momentum); tuned for each goal, Muon reaches a low training loss about "
    "a fifth sooner than AdamW and, at a smaller learning rate, ends several "
    "times lower, but not both at one learning rate; test accuracy is no better, "
    "SGD+momentum is close behind, and Muon's good learning-rate range is "
    "narrower than AdamW's."
)

METHODS = ("SGD+momentum", "AdamW", "Muon")
SIZES = (64, 128, 128, 10)
HIDDEN = 1  # the layer whose 128x128 matrix's updates are recorded
LEARNING_RATES = np.logspace(-3.5, 0, 8)
SPACING = 0.5  # decades between neighbouring learning rates
STEPS = 300  # as in lr_sensitivity: about 14 epochs
BATCH = 64
EVERY = 20  # steps between two evaluations of the whole training loss
RECORD_STEPS = (10, 100, STEPS)
TARGET_LOSS = 0.05


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What `run` checks before it says the claim holds (the tests import these).

    Measured over seeds 0-5 (full runs): steps to the target, Muon 60-120,
    AdamW 80-140 (Muon 20-40 sooner on every seed), SGD+momentum 100-180
    (as soon on seed 5, where it also ends as low); final loss Muon / AdamW
    0.08-0.73; |test acc Muon − AdamW| <= 0.022; σ_max/σ_median of Muon's
    update 1.66-2.03 at steps 10 and 100 (3-19 at step 300), AdamW's
    20.8-300, SGD's 226-3232; good-lr width Muon 0.5-1.0 decade, AdamW
    1.0-2.0. Near the edges of the good ranges the final loss depends on
    float rounding (another compiled program changed a width by a grid point),
    hence the widths are only compared, Muon's against AdamW's.
    """

    steps_sooner_min: int = EVERY  # Muon before AdamW, every seed
    final_loss_share_max: float = 0.8  # Muon's best final loss / AdamW's
    acc_gap_max: float = 0.03  # |test acc of Muon − the others| at best lrs
    muon_ratio_max: float = 3.0  # σ_max/σ_median of Muon's update, steps 10, 100
    others_ratio_min: float = 10.0  # the same of AdamW's and SGD's, every step
    ratio_factor_min: float = 5.0  # others' ratio / Muon's, every recorded step


THRESHOLDS = Thresholds()


def optimizer(name: str, lr, adam_lr) -> optax.GradientTransformation:
    """The method called `name` (one of `METHODS`) at a traceable `lr`.

    `adam_lr` is the learning rate of Muon's Adam part (the biases).
    """
    if name == "SGD+momentum":
        return jol.sgd(lr, momentum=0.9)
    if name == "AdamW":
        return jol.adamw(lr)
    if name == "Muon":
        return contrib.muon(lr, adam_learning_rate=adam_lr)
    raise ValueError(f"muon.optimizer: `name` must be one of {METHODS}, got {name!r}.")


def one_of(transforms: list, index) -> optax.GradientTransformation:
    """The transform `transforms[index]`, picked by a traceable `index`.

    Unlike `sweeps.select`, only the chosen transform runs (``lax.switch``;
    under ``vmap`` the switch becomes a select and all of them run). The
    state holds every transform's state; only the chosen one advances.
    """

    def init_fn(params):
        return tuple(t.init(params) for t in transforms)

    def branch(i):
        def update(updates, state, params):
            new, own = transforms[i].update(updates, state[i], params)
            return new, (*state[:i], own, *state[i + 1 :])

        return update

    def update_fn(updates, state, params=None):
        branches = [branch(i) for i in range(len(transforms))]
        return jax.lax.switch(index, branches, updates, state, params)

    return optax.GradientTransformation(init_fn, update_fn)


def program(setting: dict, params0, data: dict, key: jax.Array) -> dict:
    """Trains the digits MLP with one method at one setting, all traced.

    Args:
        setting: ``method`` (index into `METHODS`), ``lr``, ``adam_lr``.
        params0: the starting parameters.
        data: ``x_train``, ``y_train``, ``x_test``, ``y_test``.
        key: the key of the batch sequence.

    Returns:
        ``curve`` (the whole training loss at steps 0, EVERY, ..., STEPS),
        ``test_acc`` (after training) and ``updates`` (the hidden matrix's
        update at each of RECORD_STEPS).
    """
    lr, adam_lr = setting["lr"], setting["adam_lr"]
    opt = one_of([optimizer(n, lr, adam_lr) for n in METHODS], setting["method"])
    x, y = data["x_train"], data["y_train"]
    batches = jax.random.randint(key, (STEPS // EVERY, EVERY, BATCH), 0, x.shape[0])
    record = jnp.asarray(RECORD_STEPS)

    def step(carry, batch):
        params, state, kept, k = carry
        grads = jax.grad(mlp.loss)(params, x[batch], y[batch])
        updates, state = opt.update(grads, state, params)
        k = k + 1
        kept = jnp.where((k == record)[:, None, None], updates[HIDDEN]["w"], kept)
        return (optax.apply_updates(params, updates), state, kept, k), None

    def chunk(carry, batch_chunk):
        carry, _ = jax.lax.scan(step, carry, batch_chunk)
        return carry, mlp.loss(carry[0], x, y)

    kept = jnp.zeros((len(RECORD_STEPS), *params0[HIDDEN]["w"].shape))
    start = (params0, opt.init(params0), kept, jnp.int32(0))
    (params, _, kept, _), curve = jax.lax.scan(chunk, start, batches)
    return {
        "curve": jnp.concatenate([mlp.loss(params0, x, y)[None], curve]),
        "test_acc": mlp.accuracy(params, data["x_test"], data["y_test"]),
        "updates": kept,
    }


def _train_grid(seed: int) -> dict:
    """Every method at every grid lr on seed `seed`: curves, accuracies, updates.

    One compiled program (`program`) serves the three methods. Muon's Adam
    part runs at AdamW's best lr, so SGD and AdamW run first.
    """
    d = datasets.load_digits(seed)
    data = {"x_train": d.x_train, "y_train": d.y_train}
    data |= {"x_test": d.x_test, "y_test": d.y_test}
    init_key, batch_key = jax.random.split(jax.random.PRNGKey(seed))
    params0 = mlp.init(init_key, SIZES)
    n = LEARNING_RATES.size
    first = {"method": np.repeat([0, 1], n), "lr": np.tile(LEARNING_RATES, 2)}
    res = sweeps.sweep(
        program, first | {"adam_lr": np.ones(2 * n)}, params0, data, batch_key
    )
    adam_lr = float(LEARNING_RATES[np.argmin(res.outputs["curve"][n:, -1])])
    muon_rows = {
        "method": np.full(n, 2),
        "lr": LEARNING_RATES,
        "adam_lr": np.full(n, adam_lr),
    }
    rows = [
        res.outputs,
        sweeps.sweep(program, muon_rows, params0, data, batch_key).outputs,
    ]
    both = jax.tree.map(lambda a, b: np.concatenate([a, b]), *rows)
    both["curve"] = np.where(np.isfinite(both["curve"]), both["curve"], np.inf)
    out = {
        name: jax.tree.map(lambda a, i=i: a[i * n : (i + 1) * n], both)
        for i, name in enumerate(METHODS)
    }
    out["method"] = res.method
    return out


def spectrum_stats(singular_values) -> tuple[float, float]:
    """``(σ_max / σ_median, effective rank)`` of one update's singular values.

    The effective rank is exp(−Σ pᵢ log pᵢ) with pᵢ = σᵢ / Σσ (Roy and
    Vetterli, 2007): n for n equal singular values, 1 for a rank-one matrix.
    """
    s = np.asarray(singular_values, np.float64)
    p = s[s > 0] / s.sum()
    median = np.median(s)
    ratio = s.max() / median if median > 0 else np.inf
    return float(ratio), float(np.exp(-np.sum(p * np.log(p))))


def steps_to(curve, target: float = TARGET_LOSS) -> int | None:
    """The first evaluated step whose training loss is <= `target`, or None."""
    below = np.nonzero(np.asarray(curve) <= target)[0]
    return int(below[0]) * EVERY if below.size else None


def good_width(final_losses, target: float = TARGET_LOSS) -> float:
    """Decades covered by the longest run of lrs with final loss <= `target`
    (`lr_sensitivity.good_range` on the negated losses; nan and inf fail)."""
    losses = np.asarray(final_losses, np.float64)
    return lr_sensitivity.good_range(-losses, LEARNING_RATES[: losses.size], -target)[0]


@dataclasses.dataclass(frozen=True)
class Result:
    """What the sweeps measured; every dict maps method -> one entry per seed."""

    holds: bool
    measured: str
    seeds: list[int]
    learning_rates: list[float]
    final_loss: dict[str, list[list[float | None]]]  # per seed, lr; None: inf/nan
    test_acc: dict[str, list[list[float]]]
    best_lr: dict[str, list[float]]  # lowest final training loss
    best_final_loss: dict[str, list[float]]
    best_test_acc: dict[str, list[float]]
    steps_to_target: dict[str, list[int | None]]  # fewest over the lrs
    fastest_lr: dict[str, list[float]]  # the lr of those fewest steps
    curve_at_fastest: dict[str, list[list[float]]]
    curve_at_best: dict[str, list[list[float]]]  # loss at steps 0, EVERY, ...
    spectra: dict[str, list[list[list[float]]]]  # per seed, per RECORD_STEPS
    ratio: dict[str, list[list[float]]]  # σ_max/σ_median, per RECORD_STEPS
    effective_rank: dict[str, list[list[float]]]
    width: dict[str, list[float]]  # decades with final loss <= TARGET_LOSS
    muon_adam_lr: list[float]  # the lr of Muon's Adam part (AdamW's best)
    checks: dict[str, bool]
    method: str

    def numbers(self) -> dict:
        fields = dataclasses.asdict(self)
        del fields["holds"], fields["measured"], fields["spectra"]
        return {
            "target_loss": TARGET_LOSS,
            "steps": STEPS,
            "record_steps": list(RECORD_STEPS),
            **fields,
        }


def _summarise(out: dict) -> dict:
    """One seed's numbers from `_train_grid`'s outputs, per method."""
    f = {}
    for name in METHODS:
        o = out[name]
        final = o["curve"][:, -1]
        best = int(np.argmin(final))
        spectra = np.linalg.svd(o["updates"][best].astype(np.float64), compute_uv=False)
        stats = [spectrum_stats(s) for s in spectra]
        reached = [np.inf if r is None else r for r in map(steps_to, o["curve"])]
        fastest = int(np.argmin(reached))
        f[name] = {
            "final_loss": [float(v) if np.isfinite(v) else None for v in final],
            "test_acc": [float(v) for v in o["test_acc"]],
            "best_lr": float(LEARNING_RATES[best]),
            "best_final_loss": float(final[best]),
            "best_test_acc": float(o["test_acc"][best]),
            "steps_to_target": steps_to(o["curve"][fastest]),
            "fastest_lr": float(LEARNING_RATES[fastest]),
            "curve_at_fastest": [float(v) for v in o["curve"][fastest]],
            "curve_at_best": [float(v) for v in o["curve"][best]],
            "spectra": spectra.tolist(),
            "ratio": [round(r, 4) for r, _ in stats],
            "effective_rank": [round(e, 4) for _, e in stats],
            "width": good_width(final),
        }
    return f


def _checks(f: dict, t: Thresholds = THRESHOLDS) -> dict:
    """The verdict, on every seed: sooner and lower than AdamW, not slower than
    SGD+momentum, the same test accuracy, flat updates, no wider lr range."""
    steps, final = f["steps_to_target"], f["best_final_loss"]
    acc, ratio, width = f["best_test_acc"], f["ratio"], f["width"]
    seeds = range(len(f["seeds"]))
    others = ("AdamW", "SGD+momentum")

    def reached(name, i):
        return np.inf if steps[name][i] is None else steps[name][i]

    return {
        "muon_sooner_than_adamw": all(
            reached("Muon", i) <= reached("AdamW", i) - t.steps_sooner_min
            for i in seeds
        ),
        "muon_not_slower_than_sgd": all(
            reached("Muon", i) <= reached("SGD+momentum", i) for i in seeds
        ),
        "muon_ends_lower_than_adamw": all(
            final["Muon"][i] <= t.final_loss_share_max * final["AdamW"][i]
            for i in seeds
        ),
        "test_accuracy_about_equal": all(
            abs(acc["Muon"][i] - acc[o][i]) <= t.acc_gap_max
            for i in seeds
            for o in others
        ),
        "muon_update_flat": all(
            max(ratio["Muon"][i][:2]) <= t.muon_ratio_max for i in seeds
        ),
        "others_dominated_by_few_directions": all(
            min(ratio[o][i]) >= t.others_ratio_min for i in seeds for o in others
        ),
        "muon_flatter_at_every_step": all(
            ratio[o][i][k] >= t.ratio_factor_min * ratio["Muon"][i][k]
            for i in seeds
            for o in others
            for k in range(len(RECORD_STEPS))
        ),
        "muon_range_no_wider": all(
            width["Muon"][i] <= width["AdamW"][i] for i in seeds
        ),
    }


def _measured(f: dict) -> str:
    med = np.median

    def steps(name):
        values = [np.inf if s is None else s for s in f["steps_to_target"][name]]
        return f"{med(values):.0f}"

    return (
        f"steps to training loss {TARGET_LOSS} at the quickest lr (median of "
        f"{len(f['seeds'])}): "
        + ", ".join(f"{n} {steps(n)}" for n in METHODS)
        + "; final loss at the best lr: "
        + ", ".join(f"{n} {med(f['best_final_loss'][n]):.4f}" for n in METHODS)
        + "; test acc: "
        + ", ".join(f"{n} {med(f['best_test_acc'][n]):.3f}" for n in METHODS)
        + f"; σmax/σmed of the hidden update at step {RECORD_STEPS[1]}: "
        + ", ".join(f"{n} {med([r[1] for r in f['ratio'][n]]):.1f}" for n in METHODS)
        + "; good-lr width (decades): "
        + ", ".join(f"{n} {med(f['width'][n]):.1f}" for n in METHODS)
    )


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Every method over the lr grid; quick: 1 seed, else 3."""
    seeds = [seed] if quick else [seed, seed + 1, seed + 2]
    per_seed = []
    for s in seeds:
        out = _train_grid(s)
        per_seed.append((_summarise(out), out))
    keys = per_seed[0][0]["Muon"].keys()
    f = {key: {n: [p[n][key] for p, _ in per_seed] for n in METHODS} for key in keys}
    f["seeds"] = seeds
    f["learning_rates"] = [float(v) for v in LEARNING_RATES]
    f["muon_adam_lr"] = f["best_lr"]["AdamW"]
    f["method"] = per_seed[-1][1]["method"]
    checks = _checks(f)
    return Result(holds=all(checks.values()), measured=_measured(f), checks=checks, **f)
