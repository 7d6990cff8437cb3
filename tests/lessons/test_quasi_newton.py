"""The quasi-Newton lesson: L-BFGS's steps stop depending on κ only in small
dimension; in 100-D they grow like √κ, as the tuned heavy ball's do.

The claim's thresholds live in `quasi_newton.THRESHOLDS`; these tests use
them, check the bookkeeping (evaluations, the padding, GD and the heavy ball
from the `ravine` claim's own counter) and the plot. One quick run (seed 0:
2-D 3-5 steps, 10-D tight search 9-10, 100-D slope 0.49, memory 10 / 100 at
κ = 1e4: 360-365 / 207-210 steps).
"""

import json

import numpy as np
import pytest

from jaxopt_lessons.lessons import quasi_newton, ravine
from jaxopt_lessons.lessons.experiments import quasi_newton as counting
from jaxopt_lessons.lessons.plots import quasi_newton as plots
from jaxopt_lessons.problems import make_ravine
from tests.lessons import figures

T = quasi_newton.THRESHOLDS


@pytest.fixture(scope="module")
def result():
    return quasi_newton.run(quick=True, seed=0)


def test_claim_holds(result):
    assert result.holds, (result.measured, result.checks)
    assert set(result.checks) >= {
        "flat_in_2d",
        "grows_like_sqrt_kappa_in_100d",
        "about_heavy_ball_in_100d",
    }


def test_small_dimension_flat_large_dimension_root_kappa(result):
    lbfgs = result.steps["L-BFGS"]
    assert lbfgs[2].max() <= T.small_dim_steps_max  # every seed and κ
    assert (
        result.steps["L-BFGS, tight search"][10].max() <= 10 + T.tight_extra_steps_max
    )
    slope = np.median(result.slopes["L-BFGS"][100])
    assert T.large_dim_slope[0] <= slope <= T.large_dim_slope[1]
    # GD's slope is about 1, L-BFGS's well below, steps grow with κ in 100-D.
    assert np.median(result.slopes["GD"][100]) > slope + 0.3
    assert np.all(np.diff(lbfgs[100], axis=1) > 0)
    # 100-D is ten times the memory: far more steps than d at κ = 1e4.
    assert lbfgs[100][:, -1].min() > 100


def test_evaluations_count_the_line_search(result):
    for method in ("L-BFGS", "L-BFGS, tight search"):
        for dim, steps in result.steps[method].items():
            evals = result.evaluations[method][dim]
            assert np.all(evals >= steps + 1), (method, dim)  # x0, then >= 1 a step
    # The tight search pays several trials a step; unit steps pay exactly one.
    tight = result.evaluations["L-BFGS, tight search"][100]
    assert np.all(tight >= 2 * result.steps["L-BFGS, tight search"][100])
    plain = result.steps["L-BFGS, no line search"][100]
    np.testing.assert_array_equal(
        result.evaluations["L-BFGS, no line search"][100], plain
    )
    np.testing.assert_allclose(plain, result.steps["L-BFGS"][100], rtol=0.15)


def test_gd_and_heavy_ball_come_from_ravine(result):
    gd, hb = ravine.steps_in_dimension(10, result.seeds, list(quasi_newton.GD_KAPPAS))
    np.testing.assert_array_equal(result.steps["GD"][10], gd)
    np.testing.assert_array_equal(result.steps["heavy ball"][10], hb)


def test_padding_keeps_the_count():
    """A 10-D problem in 100 coordinates takes the steps it takes alone
    (κ = 100: no count there is sensitive to rounding). Unit steps: the
    cheapest program to compile; the directions are the same two-loop ones."""
    problem = make_ravine(100.0, 10, key=3)
    alone = {"hessian": problem.hessian, "x0": problem.x0, "curv_rtol": 0.9}
    counter = counting.lbfgs_counter(10, False)
    padded = counter(counting.padded_row(problem, 0.9), quasi_newton.TOLERANCE)
    own = counter(alone, quasi_newton.TOLERANCE)
    assert int(padded["steps"]) == int(own["steps"])
    assert int(padded["evaluations"]) == int(own["evaluations"])
    np.testing.assert_allclose(padded["path"][:, 10:], 0.0)


def test_memory(result):
    steps = {m: np.median(v) for m, v in result.memory_steps.items()}
    assert list(steps) == [10, 100]  # the quick run leaves memory 1 out
    assert steps[10] > steps[100] > 100
    assert steps[10] / steps[100] >= T.memory_gain_min


def test_example_paths(result):
    lbfgs, gd = result.example_paths["L-BFGS"], result.example_paths["GD"]
    assert len(lbfgs) <= 8
    assert np.linalg.norm(lbfgs[-1]) < quasi_newton.TOLERANCE * np.linalg.norm(lbfgs[0])
    assert np.linalg.norm(gd[-1]) > 0.1 * np.linalg.norm(gd[0])  # GD still far
    assert np.all(np.sign(gd[1:, 1]) != np.sign(gd[:-1, 1]))  # and zig-zagging


def test_numbers_are_json(result):
    numbers = result.numbers()
    json.dumps(numbers)
    assert numbers["steps"]["L-BFGS"]["2"] == result.steps["L-BFGS"][2].tolist()
    assert numbers["stalled_runs"] == quasi_newton.stalled(result.steps) == 0


def test_stalled_counts_runs_at_the_cap():
    steps = {
        "L-BFGS": {2: np.array([[3, quasi_newton.MAX_STEPS]])},
        "GD": {2: np.array([[9**9]])},
    }
    assert quasi_newton.stalled(steps) == 1


def test_plot_writes_one_png(result, tmp_path):
    with figures.captured() as saved:
        paths = plots.plot(result, tmp_path)
    assert [p.name for p in paths] == ["quasi_newton.png"]
    figures.assert_pngs(paths)
    fig = saved["quasi_newton.png"]
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("L-BFGS (memory 10), d=100: slope") for lab in labels)
    assert any(lab.startswith("GD") for lab in labels)
