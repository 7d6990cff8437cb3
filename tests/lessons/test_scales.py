"""The scales lesson: per-coordinate normalisation, and where it stops helping.

The claim's thresholds live in `scales.THRESHOLDS`; these tests use them.
Margins of the other checks come from quick runs over seeds 0-4: 10-D axis-aligned best steps SGD
1637-2429 vs Adam 77-84; RMSprop rotated/axis 3.5-13.5 (median 5.5); momentum
rotated/axis 0.92-1.14; raw breast_cancer best loss SGD 0.26-0.34 vs Adam
0.092-0.098. The 2-D bowl numbers are exact.
"""

import json

import numpy as np
import pytest

from jaxopt_lessons.lessons import plots_of, scales
from tests.lessons import figures

T = scales.THRESHOLDS
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def results():
    return [scales.run(quick=True, seed=s) for s in SEEDS]


def test_claim_holds(results):
    for r in results:
        assert r.holds, r.measured


def test_bowl_step_ratios(results):
    r = results[0]
    # Exact up to rounding: g = (1000 x₁, x₂) from (1, 1), far inside the
    # claim's T.step_ratio_rtol.
    assert r.bowl_step_ratio_first["SGD"] == pytest.approx(1000, rel=1e-3)
    assert r.bowl_step_ratio_first["RMSprop"] == pytest.approx(1, rel=1e-3)
    assert r.bowl_step_ratio_first["Adam"] == pytest.approx(1, rel=1e-3)
    # RMSprop's effective learning rates differ by the gradient ratio, 10^3.
    np.testing.assert_allclose(r.bowl_spread_log10["RMSprop"], 3.0, atol=1e-3)
    np.testing.assert_allclose(r.bowl_spread_log10["SGD"], 0.0, atol=1e-6)
    # Shallow progress in 200 steps: SGD at lr 1.9e-3 gets 1 − (1 − 0.0019)^200.
    assert r.bowl_shallow_progress["SGD"] == pytest.approx(
        1 - (1 - 1.9e-3) ** 200, abs=1e-3
    )
    assert r.bowl_shallow_progress["SGD"] < T.sgd_progress_max
    assert r.bowl_shallow_progress["RMSprop"] > T.adaptive_progress_min
    assert r.bowl_shallow_progress["Adam"] > T.adaptive_progress_min


def test_axis_aligned_adam_much_faster_than_sgd(results):
    for r in results:
        axis = r.nd_steps["axis"]
        speedup = np.array(axis["SGD"]) / np.array(axis["Adam"])
        assert np.all(speedup >= T.adam_speedup_min)
        assert np.all(np.array(axis["SGD"]) >= 5 * np.array(axis["RMSprop"]))


def test_rotation_removes_rmsprop_advantage(results):
    ratios = []
    for r in results:
        ratios += list(
            np.array(r.nd_steps["rotated"]["RMSprop"]) / r.nd_steps["axis"]["RMSprop"]
        )
        momentum = (
            np.array(r.nd_steps["rotated"]["momentum 0.9"])
            / r.nd_steps["axis"]["momentum 0.9"]
        )
        assert np.all((0.7 <= momentum) & (momentum <= 1.5))  # rotation-invariant
    assert min(ratios) >= 2.5 and np.median(ratios) >= T.rotated_slowdown_min


def test_raw_features_adam_beats_sgd_standardising_helps_all(results):
    for r in results:
        raw, std = r.logreg_best_loss["raw"], r.logreg_best_loss["standardized"]
        assert max(raw["Adam"]) <= 0.12 and min(raw["SGD"]) >= 0.2
        assert max(raw["Adam"]) < T.raw_loss_ratio_max * min(raw["SGD"])
        for name in scales.OPTIMIZERS:
            assert max(std[name]) <= 0.05
        assert r.logreg_effective_spread["Adam"] > 4  # decades between features
        assert r.logreg_effective_spread["SGD"] < 1e-3


def test_numbers_are_json(results):
    json.dumps(results[0].numbers())


def test_plot_writes_pngs(results, tmp_path):
    paths = plots_of("scales").plot(results[0], tmp_path)
    assert len(paths) == 3
    figures.assert_pngs(paths)


def test_bowl_contour_plot_is_readable(results, tmp_path):
    problems = figures.contour_problems_in(
        plots_of("scales").plot, results[0], tmp_path, "scales_bowl.png", min_levels=8, min_labels=5
    )
    assert problems == []
