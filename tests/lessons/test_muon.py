"""The Muon claim: flat matrix updates, somewhat faster training than AdamW.

The claim's thresholds live in `muon.THRESHOLDS`; these tests use them.
Seed 0, quick run: steps to a training loss of 0.05, SGD+momentum 100,
AdamW 120, Muon 80 (at lr 3.2e-2; 140 at its best lr 1e-2); final loss
0.0090, 0.0099, 0.0011; test accuracy 0.976, 0.969, 0.984; σ_max/σ_median of
the hidden update at steps 10/100/300, SGD 270/550/1763, AdamW 24/130/183,
Muon 2.0/1.8/6.9.
"""

import json

import numpy as np
import pytest

from jaxopt_lessons.lessons import _plotting, muon
from jaxopt_lessons.lessons.plots import muon as muon_plots
from tests.lessons import figures

T = muon.THRESHOLDS


@pytest.fixture(scope="module")
def result():
    return muon.run(quick=True, seed=0)


def test_claim_holds(result):
    assert result.holds, (result.measured, result.checks)
    assert result.seeds == [0]


def test_muon_trains_faster_than_adamw(result):
    steps, final = result.steps_to_target, result.best_final_loss
    assert steps["Muon"][0] <= steps["AdamW"][0] - T.steps_sooner_min
    assert steps["Muon"][0] <= steps["SGD+momentum"][0]
    assert final["Muon"][0] <= T.final_loss_share_max * final["AdamW"][0]
    for name in muon.METHODS:
        curve = result.curve_at_best[name][0]
        assert len(curve) == muon.STEPS // muon.EVERY + 1
        assert curve[-1] == pytest.approx(final[name][0])
        assert curve[-1] < 0.02 < 2.0 < curve[0]  # every method learns
        assert muon.steps_to(curve) >= steps[name][0]  # the best lr's own count


def test_not_both_at_one_learning_rate(result):
    """Muon's quickest lr is not its best one: at its best lr it starts slowly."""
    steps, best = result.steps_to_target, result.curve_at_best
    assert result.fastest_lr["Muon"][0] > result.best_lr["Muon"][0]
    assert muon.steps_to(best["Muon"][0]) >= steps["AdamW"][0]
    fast_final = result.curve_at_fastest["Muon"][0][-1]
    assert fast_final > result.best_final_loss["AdamW"][0]
    assert best["Muon"][0][1] > 2 * best["AdamW"][0][1]  # loss at step EVERY


def test_test_accuracy_is_no_better(result):
    acc = result.best_test_acc
    for name in muon.METHODS:
        assert acc[name][0] >= 0.95
        assert abs(acc["Muon"][0] - acc[name][0]) <= T.acc_gap_max


def test_muon_update_is_nearly_orthogonal(result):
    ratio, rank = result.ratio, result.effective_rank
    n = muon.SIZES[muon.HIDDEN + 1]
    assert max(ratio["Muon"][0][:2]) <= T.muon_ratio_max
    assert min(rank["Muon"][0][:2]) >= 0.6 * n
    for other in ("AdamW", "SGD+momentum"):
        assert min(ratio[other][0]) >= T.others_ratio_min
        for k in range(len(muon.RECORD_STEPS)):
            assert ratio[other][0][k] >= T.ratio_factor_min * ratio["Muon"][0][k]
            assert rank[other][0][k] < rank["Muon"][0][k]
    for name in muon.METHODS:
        for s in result.spectra[name][0]:
            assert len(s) == n and np.all(np.diff(s) <= 0)  # largest first


def test_muon_range_is_no_wider(result):
    width = result.width
    assert 0 < width["Muon"][0] <= width["AdamW"][0]
    losses = result.final_loss["Muon"][0]
    lrs = np.asarray(result.learning_rates)
    big = [v for v, lr in zip(losses, lrs, strict=True) if lr > 0.3]
    assert all(v is None or v > 1.0 for v in big)  # too large: the loss blows up
    assert result.muon_adam_lr == result.best_lr["AdamW"]


def test_spectrum_stats_and_counts():
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(8, 8)))
    s = np.linalg.svd(q, compute_uv=False)
    assert muon.spectrum_stats(s) == pytest.approx((1.0, 8.0))
    assert muon.spectrum_stats([10.0, 1.0, 1.0, 1.0, 0.0])[0] == pytest.approx(10.0)
    assert muon.spectrum_stats([3.0, 0.0, 0.0]) == (np.inf, pytest.approx(1.0))
    curve = [2.0, 0.5, 0.06, 0.04, 0.01]
    assert muon.steps_to(curve) == 3 * muon.EVERY
    assert muon.steps_to(curve, 0.001) is None
    assert muon.good_width([1.0, 0.01, 0.02, 0.9, 0.01]) == 2 * muon.SPACING
    assert muon.good_width([np.inf, np.nan]) == 0.0


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="`name` must be one of"):
        muon.optimizer("Lion", 0.1, 0.1)


def test_numbers_are_json(result):
    numbers = result.numbers()
    json.dumps(numbers, allow_nan=False)
    assert numbers["steps_to_target"] == result.steps_to_target
    assert numbers["target_loss"] == muon.TARGET_LOSS
    assert "spectra" not in numbers


def test_plot_writes_one_readable_png(result, tmp_path):
    with figures.captured() as saved:
        paths = muon_plots.plot(result, tmp_path)
    assert [p.name for p in paths] == ["muon.png"]
    figures.assert_pngs(paths)
    fig = saved["muon.png"]
    assert _plotting.covered(fig) == []
    curves, spectra = fig.axes[:2]
    labels = [line.get_label() for line in curves.get_lines()]
    assert sum("(lowest final loss)" in label for label in labels) == 3
    assert sum("(first to the target)" in label for label in labels) == 2
    assert "singular values" in spectra.get_title().lower()
