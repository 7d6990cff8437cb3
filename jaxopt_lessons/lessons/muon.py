"""Muon on a small MLP: faster training, flat updates, not a wider lr range.

The experiment: a 64-128-128-10 ReLU network on the digits (`load_digits`,
pixels /16, stratified 75/25 split), `STEPS` minibatch steps of 64 samples
(about 14 epochs), from the same He-initialised weights and on the same
sequence of batches for every method and learning rate. The two hidden layers
are 128 wide so that the network has a square 128x128 hidden-to-hidden matrix
(and a 64x128 input matrix), matrices with many directions, which is where
Muon's idea applies; the lessons' 64-64-10 network has one small hidden
matrix only.

The methods, each at every learning rate of ``logspace(-4, 0, 9)`` (half a
decade apart), library defaults otherwise:

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

Each method's grid is one compiled program (`PROGRAMS[name]`, learning rates
traced), run by `sweeps.sweep`.

What was found (3 seeds): Muon reaches the target in about half AdamW's
steps and ends with a training loss several times lower; SGD with momentum is
slower than both. Test accuracy is the same for all three within a point or
two: on this small problem, faster training buys no better generalisation.
Muon's updates are nearly orthogonal (largest/median singular value about
2; Newton–Schulz with Jordan's coefficients leaves the singular values in
roughly [0.7, 1.2] on purpose), while AdamW's are dominated by a few
directions (ratio 20 to a few hundred) and SGD's even more (several hundred).
Muon's range of good learning rates is no wider than AdamW's: its update has
a fixed size whatever the gradient, so too large a rate makes the weights
grow and the loss blow up (while accuracy may stay high).

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
from jaxopt_lessons.lessons._common import min_median_max
from jaxopt_lessons.problems import datasets, mlp

CLAIM_ID = "muon"
CLAIM = (
    "On a digits MLP, Muon (orthogonalised momentum for the weight matrices) "
    "reaches a low training loss in about half the steps of a tuned AdamW and "
    "ends lower, because its matrix updates move all directions equally; test "
    "accuracy is no better, and its good learning-rate range is no wider."
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
    """What `run` checks before it says the claim holds (the tests import these)."""

    steps_share_max: float = 0.8  # Muon's steps to target / AdamW's, every seed
    final_loss_share_max: float = 0.5  # Muon's best final loss / AdamW's
    acc_gap_max: float = 0.02  # |test acc of Muon − AdamW| at their best lrs
    muon_ratio_max: float = 4.0  # σ_max/σ_median of Muon's update, steps 10, 100
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


def _make_program(name: str):
    def program(setting: dict, params0, data: dict, key: jax.Array) -> dict:
        opt = optimizer(name, setting["lr"], setting["adam_lr"])
        x, y = data["x_train"], data["y_train"]
        batches = jax.random.randint(
            key, (STEPS // EVERY, EVERY, BATCH), 0, x.shape[0]
        )
        record = jnp.asarray(RECORD_STEPS)

        def step(carry, batch):
            params, state, kept, k = carry
            grads = jax.grad(mlp.loss)(params, x[batch], y[batch])
            updates, state = opt.update(grads, state, params)
            k = k + 1
            hit = (k == record)[:, None, None]
            kept = jnp.where(hit, updates[HIDDEN]["w"], kept)
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

    program.__name__ = f"muon_program[{name}]"
    program.__doc__ = (
        f"Trains the digits MLP with {name} at one setting (``lr``, ``adam_lr``); "
        "returns the whole training loss every EVERY steps (``curve``, from step "
        "0), the final ``test_acc`` and the hidden matrix's update at "
        "RECORD_STEPS (``updates``)."
    )
    return program


#: One training program per method, each compiled once per process.
PROGRAMS = {name: _make_program(name) for name in METHODS}


def _train_grid(seed: int) -> dict:
    """Every method at every grid lr on seed `seed`: curves, accuracies, spectra.

    Muon's Adam part runs at AdamW's best lr, so AdamW runs first.
    """
    d = datasets.load_digits(seed)
    data = {"x_train": d.x_train, "y_train": d.y_train}
    data |= {"x_test": d.x_test, "y_test": d.y_test}
    init_key, batch_key = jax.random.split(jax.random.PRNGKey(seed))
    params0 = mlp.init(init_key, SIZES)
    out, adam_lr = {}, 1e-3
    for name in ("SGD+momentum", "AdamW", "Muon"):
        settings = {"lr": LEARNING_RATES, "adam_lr": np.full(LEARNING_RATES.size, adam_lr)}
        res = sweeps.sweep(PROGRAMS[name], settings, params0, data, batch_key)
        o = dict(res.outputs)
        o["curve"] = np.where(np.isfinite(o["curve"]), o["curve"], np.inf)
        out[name] = o
        if name == "AdamW":
            adam_lr = float(LEARNING_RATES[np.argmin(o["curve"][:, -1])])
    out["method"] = res.method
    return out


def spectrum_stats(singular_values) -> tuple[float, float]:
    """``(σ_max / σ_median, effective rank)`` of one update's singular values.

    The effective rank is exp(−Σ pᵢ log pᵢ) with pᵢ = σᵢ / Σσ (Roy and
    Vetterli, 2007): n for n equal singular values, 1 for a rank-one matrix.
    """
    s = np.asarray(singular_values, np.float64)
    p = s / s.sum()
    entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0))
    return float(s.max() / np.median(s)), float(np.exp(entropy))


def steps_to(curve, target: float = TARGET_LOSS) -> int | None:
    """The first evaluated step whose training loss is <= `target`, or None."""
    below = np.nonzero(np.asarray(curve) <= target)[0]
    return int(below[0]) * EVERY if below.size else None


def good_width(final_losses, target: float = TARGET_LOSS) -> float:
    """Decades covered by the longest run of lrs with final loss <= `target`."""
    best = run_length = 0
    for ok in np.asarray(final_losses) <= target:
        run_length = run_length + 1 if ok else 0
        best = max(best, run_length)
    return best * SPACING


@dataclasses.dataclass(frozen=True)
class Result:
    """What the sweeps measured; every dict maps method -> one entry per seed."""

    holds: bool
    measured: str
    seeds: list[int]
    learning_rates: list[float]
    final_loss: dict[str, list[list[float]]]  # per seed, per lr
    test_acc: dict[str, list[list[float]]]
    best_lr: dict[str, list[float]]  # lowest final training loss
    best_final_loss: dict[str, list[float]]
    best_test_acc: dict[str, list[float]]
    steps_to_target: dict[str, list[int | None]]  # fewest over the lrs
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
        reached = [steps_to(c) for c in o["curve"]]
        reached = [r for r in reached if r is not None]
        f[name] = {
            "final_loss": [float(v) for v in final],
            "test_acc": [float(v) for v in o["test_acc"]],
            "best_lr": float(LEARNING_RATES[best]),
            "best_final_loss": float(final[best]),
            "best_test_acc": float(o["test_acc"][best]),
            "steps_to_target": min(reached) if reached else None,
            "curve_at_best": [float(v) for v in o["curve"][best]],
            "spectra": spectra.tolist(),
            "ratio": [round(r, 4) for r, _ in stats],
            "effective_rank": [round(e, 4) for _, e in stats],
            "width": good_width(final),
        }
    return f


def _checks(f: dict, t: Thresholds = THRESHOLDS) -> dict:
    """The verdict on every seed: faster, lower, same accuracy, flat updates."""
    steps, final = f["steps_to_target"], f["best_final_loss"]
    acc, ratio = f["best_test_acc"], f["ratio"]
    seeds = range(len(f["seeds"]))
    others = ("AdamW", "SGD+momentum")

    def faster(i):
        mine = steps["Muon"][i]
        return mine is not None and all(
            steps[o][i] is None or mine <= t.steps_share_max * steps[o][i]
            for o in others
        )

    return {
        "muon_reaches_target_sooner": all(faster(i) for i in seeds),
        "muon_ends_lower": all(
            final["Muon"][i] <= t.final_loss_share_max * final[o][i]
            for i in seeds
            for o in others
        ),
        "test_accuracy_about_equal": all(
            abs(acc["Muon"][i] - acc["AdamW"][i]) <= t.acc_gap_max for i in seeds
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
        "muon_range_not_wider": all(
            f["width"]["Muon"][i] <= f["width"]["AdamW"][i] for i in seeds
        ),
    }


def _measured(f: dict) -> str:
    med = np.median

    def steps(name):
        values = [np.inf if s is None else s for s in f["steps_to_target"][name]]
        return f"{med(values):.0f}"

    return (
        f"steps to training loss {TARGET_LOSS} (median of {len(f['seeds'])}): "
        + ", ".join(f"{n} {steps(n)}" for n in METHODS)
        + "; final loss: "
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
