"""The ravine lesson: GD needs ~κ steps and zig-zags, the heavy ball ~√κ.

The claim's thresholds live in `ravine.THRESHOLDS`; these tests use them, and
check the exact values (closed forms, GD's travel of κ) more tightly. Quick
runs over seeds 0-4 (GD slope 0.995-0.999, heavy ball
0.546-0.567, GD/HB 16-20 at κ = 1000 and 5.7-7.1 at κ = 100, sideways travel
GD 99.9, momentum at the same lr 24.6-24.9, optimal heavy ball 99.95-99.99,
Nesterov 2.64).
"""

import json
import math

import numpy as np
import pytest

from jaxopt_lessons.lessons import plots_of, ravine
from tests.lessons import figures

T = ravine.THRESHOLDS
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def results():
    return [ravine.run(quick=True, seed=s) for s in SEEDS]


def _zig(result, index):
    return result.zigzag[ravine.ZIGZAG_METHODS[index]]


def test_claim_holds(results):
    for r in results:
        assert r.holds, r.measured


def test_steps_grow_like_kappa_and_root_kappa(results):
    for r in results:
        assert T.gd_slope[0] <= np.median(r.slopes_gd) <= T.gd_slope[1]
        assert T.hb_slope[0] <= np.median(r.slopes_hb) <= T.hb_slope[1]
        assert min(r.ratio_gd_hb["100"]) >= 4.5
        assert min(r.ratio_gd_hb["1000"]) >= T.hb_speedup_min


def test_2d_gd_matches_closed_form(results):
    for r in results:
        expected = [
            math.ceil(math.log(1e3) / math.log((k + 1) / (k - 1))) for k in r.kappas
        ]
        assert r.closed_form_2d == expected == [35, 346, 3454]
        for per_seed in r.measured_2d_gd:
            np.testing.assert_allclose(per_seed, expected, atol=1)


def test_zigzag_and_its_caveat(results):
    for r in results:
        gd, gd_small, mom, hb, nag = (_zig(r, i) for i in range(5))
        # GD bounces on every step, and the diagnostics wrapper agrees.
        assert min(gd["flip_fraction"]) >= T.gd_flip_fraction_min
        assert min(gd["zigzag_index"]) >= T.gd_flip_fraction_min
        kappa = ravine.ZIGZAG_KAPPA
        np.testing.assert_allclose(gd["sideways_travel"], kappa, rtol=0.05)
        assert max(gd_small["sideways_travel"]) <= 1.05  # lr 1/L: no overshoot
        travel = gd["sideways_travel"]  # same lr: damped; optimal HB: swings
        assert max(mom["sideways_travel"]) < T.damped_travel_max * min(travel)
        assert min(hb["sideways_travel"]) >= T.swing_travel_min * np.median(travel)
        assert np.median(hb["max_error"]) > 1.0  # and first moves away
        assert max(hb["steps"]) < min(gd["steps"]) / 4  # yet is much faster
        assert max(nag["sideways_travel"]) <= 5  # Nesterov removes the swing


def test_numbers_are_json(results):
    numbers = results[0].numbers()
    json.dumps(numbers)
    assert numbers["slope_gd_min_median_max"][1] == pytest.approx(
        np.median(results[0].slopes_gd)
    )


def test_deterministic():
    a, b = ravine.run(quick=True, seed=5), ravine.run(quick=True, seed=5)
    assert a.numbers() == b.numbers()


def test_plot_writes_pngs(results, tmp_path):
    paths = plots_of("ravine").plot(results[0], tmp_path)
    assert [p.name for p in paths] == [
        "ravine_contours.png",
        "ravine_steps_vs_kappa.png",
        "ravine_zigzag.png",
    ]
    figures.assert_pngs(paths)


def test_contour_plot_is_readable(results, tmp_path):
    problems = figures.contour_problems_in(
        plots_of("ravine").plot,
        results[0],
        tmp_path,
        "ravine_contours.png",
        min_levels=8,
        min_labels=6,
    )
    assert problems == []
