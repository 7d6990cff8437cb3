"""The schedule-free claim: one constant-lr run against cosine schedules.

The claim's thresholds live in `schedule_free.THRESHOLDS`; these tests use
them. Quick runs over seeds 0-11: tuned cosine / schedule-free training loss
3.9-12.9 at T, 1.40-2.14 at T/8; the cosine made for T, read at T/8, 1.7-6.3;
test accuracy 0.960-0.989 for both, gap at most 0.020; schedule-free's best
lr 0.1-0.32, the cosine's 0.1-0.18; loss(y)/loss(x) at worst 1.36-27.
"""

import json

import jax
import numpy as np
import optax
import pytest

from jaxopt_lessons import sweeps
from jaxopt_lessons.lessons import _plotting
from jaxopt_lessons.lessons import schedule_free as sf
from jaxopt_lessons.lessons.experiments import digits
from jaxopt_lessons.lessons.plots import schedule_free as sf_plots
from jaxopt_lessons.problems import mlp
from tests.lessons import figures

T = sf.THRESHOLDS


@pytest.fixture(scope="module")
def result():
    return sf.run(quick=True, seed=0)


def test_claim_holds(result):
    assert result.holds, (result.measured, result.checks)
    assert result.seeds == [0] and len(result.per_seed) == 1


def test_fixed_horizon(result):
    s = result.per_seed[0]
    ratio = s["tuned_cosine_loss"][-1] / s["sf_loss"][-1]
    assert ratio >= T.final_ratio_min, s
    # Both best lrs lie inside the grid, schedule-free's at least as large.
    inside = sf.LEARNING_RATES[1:-1]
    assert inside.min() <= s["cosine_lr"][-1] <= s["sf_lr"] <= inside.max()
    assert min(s["sf_acc"][-1], s["tuned_cosine_acc"][-1]) >= T.acc_min
    assert abs(s["sf_acc"][-1] - s["tuned_cosine_acc"][-1]) <= T.acc_gap_max


def test_anytime(result):
    s = result.per_seed[0]
    sf_loss = np.asarray(s["sf_loss"])
    assert np.all(np.asarray(s["tuned_cosine_loss"]) >= T.anytime_ratio_min * sf_loss)
    early = np.asarray(s["cosine_for_T_loss"][:-1]) / sf_loss[:-1]
    assert early.min() >= T.early_read_ratio_min
    # The loss keeps falling: each later stop is lower, for every method.
    for key in ("sf_loss", "tuned_cosine_loss"):
        assert np.all(np.diff(s[key]) < 0), (key, s[key])
    # The readings come from the curves: the stops of one schedule-free run,
    # the cosine made for T read along its own curve.
    at = [sf.EVAL_STEPS.index(h) for h in sf.HORIZONS]
    assert s["sf_loss"] == [s["sf_curve"][e] for e in at]
    assert s["cosine_for_T_loss"] == [s["cosine_curves"][-1][e] for e in at]
    assert s["cosine_for_T_loss"][-1] == s["tuned_cosine_loss"][-1]


def test_wrong_point_caveat(result):
    s = result.per_seed[0]
    low, _, worst = s["y_over_x"]
    assert worst >= T.y_worse_somewhere_min  # y is noisier during the run
    assert low < 1.0  # ... but not worse everywhere
    assert 0.3 <= s["sf_loss_at_y"][-1] / s["sf_loss"][-1] <= 3.0  # alike at T
    assert s["sf_curve"] != s["sf_curve_at_y"]


def test_warmup_cosine_is_optaxs_schedule_read_at_step_t():
    lr, horizon = 0.1, 150
    counts = np.arange(horizon + 20)
    reference = optax.warmup_cosine_decay_schedule(0.0, lr, sf.WARMUP, horizon + 1)
    both = jax.jit(lambda c: (sf.warmup_cosine(lr, horizon)(c), reference(c + 1)))
    ours, theirs = (np.asarray(v) for v in both(counts))
    np.testing.assert_allclose(ours, theirs, atol=1e-7)
    # The warmup is schedule-free's: η·t/W for step t = 1..W (count t − 1).
    t = np.arange(1, sf.WARMUP + 1)
    np.testing.assert_allclose(ours[: sf.WARMUP], lr * t / sf.WARMUP, rtol=1e-6)
    assert ours[horizon - 1] > 0 and np.all(ours[horizon:] == 0)


def test_cosine_run_stops_at_its_horizon_and_repeats(result):
    """Rerun the tuned cosine for T/8 alone: the same curve, bit for bit (the
    same compiled program, deterministic), and no move after its horizon."""
    s = result.per_seed[0]
    data = digits.digits_data(0)
    init_key, batch_key = jax.random.split(jax.random.PRNGKey(0))
    params0 = mlp.init(init_key, (64, sf.HIDDEN, 10))
    settings = {
        "lr": np.float32([s["cosine_lr"][0]]),
        "horizon": np.int32([sf.HORIZONS[0]]),
    }
    out = sweeps.sweep(sf._cosine_program, settings, params0, data, batch_key)
    loss = out.outputs["train_loss"][0]
    stop = sf.EVAL_STEPS.index(sf.HORIZONS[0])
    assert loss[: stop + 1].tolist() == s["cosine_curves"][0]
    assert np.all(loss[stop:] == loss[stop])
    assert loss[0] > loss[stop]


def test_numbers_are_json(result):
    numbers = result.numbers()
    text = json.dumps(numbers, allow_nan=False)
    assert json.loads(text)["checks"] == result.checks
    assert numbers["tuned_cosine_over_sf"][0][-1] == pytest.approx(
        result.per_seed[0]["tuned_cosine_loss"][-1] / result.per_seed[0]["sf_loss"][-1]
    )


def test_plot(result, tmp_path):
    with figures.captured() as saved:
        paths = sf_plots.plot(result, tmp_path)
    assert [p.name for p in paths] == ["schedule_free.png"]
    figures.assert_pngs(paths)
    fig = saved["schedule_free.png"]
    assert _plotting.covered(fig) == []
    curves, anytime = fig.axes
    lines = {line.get_label(): line for line in curves.get_lines()}
    sf_line = next(
        v for k, v in lines.items() if k.startswith("schedule-free AdamW at x")
    )
    np.testing.assert_allclose(sf_line.get_ydata(), result.per_seed[0]["sf_curve"])
    assert sum(k.startswith("AdamW + cosine for") for k in lines) == len(sf.HORIZONS)
    assert curves.get_yscale() == anytime.get_yscale() == "log"
    assert all(
        ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes
    )
