"""Wrong gradients, a broken model and a mis-scaled loss, over seeds.

The claim's thresholds live in `wrong_gradients.THRESHOLDS`; these tests use
them. Margins of the other checks from quick runs over seeds 0-3: correct gradients best test accuracy
0.969-0.980; sign bug at most 0.156; layer-1 sign slip at most 0.56 (Adam);
missing ReLU derivative 0.944-0.976 while its gradient check reads 0.52-0.77
(correct: 1.8e-8 - 3.0e-8); circles linear net at most 0.66, ReLU net at
least 0.983; loss x1e-3: SGD 0.97 -> 0.10-0.21, Adam unchanged to 0.007,
RMSprop 0.87-0.92; Adam's 10-step displacement gap 0.07-0.11 (eps 1e-8),
3e-5 - 8e-5 (eps 1e-12), 1.4e-7 (eps 1e-20).
"""

import json

import jax
import numpy as np
import pytest

from jaxopt_lessons.lessons import wrong_gradients
from jaxopt_lessons.problems import datasets, mlp

T = wrong_gradients.THRESHOLDS
SEEDS = (0, 1)


@pytest.fixture(scope="module")
def results():
    return [wrong_gradients.run(quick=True, seed=s) for s in SEEDS]


def test_claim_holds(results):
    for r in results:
        assert r.holds, (r.measured, r.checks)


def test_bugs_defeat_every_optimizer(results):
    for r in results:
        for o in wrong_gradients.OPTIMIZERS:
            assert r.best_acc["correct"][o][0] >= T.correct_acc_min
            assert r.best_acc["sign bug"][o][0] < T.sign_bug_acc_max
            assert r.best_acc["layer-1 sign slip"][o][0] < T.layer1_slip_acc_max
            # The sign bug climbs the loss: no lr gets below the initial ~2.3.
            assert r.best_train_loss["sign bug"][o][0] > 2.0


def test_silent_bug_learns_and_only_the_gradient_check_sees_it(results):
    for r in results:
        for o in wrong_gradients.OPTIMIZERS:
            assert r.best_acc["missing ReLU derivative"][o][0] >= T.silent_bug_acc_min
        assert r.gradcheck_rel_error["correct"][0] < T.gradcheck_correct_max
        silent = r.gradcheck_rel_error["missing ReLU derivative"][0]
        assert silent > T.gradcheck_silent_min
        assert r.gradcheck_rel_error["sign bug"][0] == pytest.approx(2.0, abs=1e-4)


def test_gradient_check_of_the_correct_backprop_is_exact():
    d = datasets.load_digits(3)
    params = mlp.init(jax.random.PRNGKey(7))
    errors = wrong_gradients.gradient_check(
        params, d.x_train[:64], d.y_train[:64], np.ones((3, 3), np.float32)
    )
    np.testing.assert_array_less(np.asarray(errors), T.gradcheck_correct_max)


def test_optimizer_subsets(results):
    r = wrong_gradients.run(quick=True, seed=0, optimizers=("momentum 0.9", "Adam"))
    assert r.holds, r.checks
    assert list(r.best_acc["correct"]) == ["momentum 0.9", "Adam"]
    assert list(r.circles_best_acc["ReLU"]) == ["momentum 0.9", "Adam"]
    # The same program and data as the full menu: identical numbers.
    full = results[0]
    assert r.best_acc["sign bug"]["Adam"] == full.best_acc["sign bug"]["Adam"]
    with pytest.raises(ValueError, match="`optimizers` must include Adam"):
        wrong_gradients.run(quick=True, optimizers=("SGD", "RMSprop"))


def test_linear_model_fails_on_circles(results):
    for r in results:
        for o in wrong_gradients.OPTIMIZERS:
            assert r.circles_best_acc["linear"][o][0] < T.circles_linear_acc_max
            assert r.circles_best_acc["ReLU"][o][0] >= T.circles_relu_acc_min


def test_adam_hides_a_mis_scaled_loss(results):
    for r in results:
        sgd, adam = r.scaled_acc["scaled"]["SGD"][0], r.scaled_acc["scaled"]["Adam"][0]
        assert r.scaled_acc["unscaled"]["SGD"][0] >= 0.95
        assert sgd < T.scaled_sgd_acc_max
        assert abs(adam - r.scaled_acc["unscaled"]["Adam"][0]) < T.adam_scaled_gap_max


def test_adam_is_scale_invariant_up_to_eps():
    d = datasets.load_digits(1)
    params = mlp.init(jax.random.PRNGKey(1))
    gaps = np.asarray(
        wrong_gradients.adam_displacement_gap(
            params,
            d.x_train[:256],
            d.y_train[:256],
            np.asarray(wrong_gradients.EPS_VALUES, np.float32),
            1e-3,
        )
    )
    # The gap shrinks with eps: 0.07-0.11, 3e-5 - 8e-5, 1.4e-7 over seeds 0-3.
    assert gaps[0] > 10 * gaps[1] > 100 * gaps[2]
    assert gaps[0] > 0.01 and gaps[2] < 1e-5


def test_numbers_are_json(results):
    json.dumps(results[0].numbers(), allow_nan=False)
