"""The learning-rate sensitivity claim, over seeds.

The claim's thresholds live in `lr_sensitivity.THRESHOLDS`; these tests use
them. Margins from quick runs over seeds 0-4 (19 lrs, 1/3 decade apart, target 0.9):
width SGD 1.67 on every seed, momentum 2.33, RMSprop 2.33-2.67, Adam
2.33-3.0; best test accuracy 0.969-0.984; Adam at lr >= 1 at most 0.107, at
lr 1e-5 at most 0.198.
"""

import json

import numpy as np
import pytest

from jaxopt_lessons.lessons import lr_sensitivity

T = lr_sensitivity.THRESHOLDS
SEEDS = (0, 1)
THIRD = lr_sensitivity.SPACING  # 1/3 decade between neighbouring lrs


@pytest.fixture(scope="module")
def results():
    return [lr_sensitivity.run(quick=True, seed=s) for s in SEEDS]


def test_claim_holds(results):
    for r in results:
        assert r.holds, (r.measured, r.checks)


def test_sgd_has_the_narrowest_range(results):
    for r in results:
        sgd = r.width["SGD"][0]
        assert 1.0 <= sgd <= 2.0 + 1e-6, r.width
        for name in ("momentum 0.9", "RMSprop", "Adam"):
            assert r.width[name][0] >= sgd + T.wider_by_min - 1e-6, (name, r.width)
        # ... and momentum moves it to smaller learning rates.
        assert r.good_lo["momentum 0.9"][0] < r.good_lo["SGD"][0]


def test_adam_still_needs_its_learning_rate(results):
    for r in results:
        assert r.best_acc["Adam"][0] >= T.best_acc_min
        assert max(r.adam_acc_at_lr_ge_1) < T.adam_extreme_acc_max
        assert max(r.adam_acc_at_smallest_lr) < T.adam_extreme_acc_max
        decades = np.log10(r.learning_rates[-1] / r.learning_rates[0]) + THIRD
        assert r.width["Adam"][0] <= T.width_share_max * decades  # of 6.3 swept


def test_good_range_counts_the_longest_run():
    lrs = np.logspace(-3, 0, 10)
    acc = [0.1, 0.95, 0.2, 0.91, 0.92, 0.99, 0.5, 0.93, 0.94, 0.1]
    width, lo, hi = lr_sensitivity.good_range(acc, lrs, 0.9)
    assert width == pytest.approx(3 * THIRD)
    assert (lo, hi) == pytest.approx((lrs[3], lrs[5]))
    assert lr_sensitivity.good_range([0.1] * 10, lrs)[0] == 0.0


def test_numbers_are_json(results):
    numbers = results[0].numbers()
    json.dumps(numbers, allow_nan=False)
    assert numbers["width_decades"]["SGD"] == results[0].width["SGD"]


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="`name` must be one of"):
        lr_sensitivity.optimizer("LBFGS", 0.1)
