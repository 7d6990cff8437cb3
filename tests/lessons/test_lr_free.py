"""The learning-rate-free claim: good defaults, bounded multiplier ranges.

The claim's thresholds live in `lr_free.THRESHOLDS`; these tests use them.
Quick runs over seeds 0-4 (19 multipliers 1e-3 … 1e3, 1/3 decade apart,
target 0.9): test accuracy at the default Prodigy 0.962-0.980, D-Adapt
0.913-0.951, DoG 0.944-0.971, DoWG 0.10-0.22, Adam at 1e-3 0.927-0.953,
tuned Adam 0.973-0.982; widths (decades) Adam 2.33-3.0, Prodigy 2.33-3.33,
D-Adapt 1.67, DoG 0.33, DoWG 0.67 on every seed; final Adam step η·d at the
default Prodigy 0.031-0.036, D-Adapt 0.064-0.080; slope of log step against
log multiplier over the good range Prodigy 0.48-0.61, D-Adapt 0.75-0.99,
DoWG 1.32-1.48.
"""

import json

import numpy as np
import pytest

from jaxopt_lessons.lessons import _plotting, lr_free, lr_sensitivity
from jaxopt_lessons.lessons.plots import lr_free as lr_free_plots
from tests.lessons import figures

T = lr_free.THRESHOLDS
ONE = lr_free.DEFAULT  # the index of multiplier 1.0


@pytest.fixture(scope="module")
def result():
    return lr_free.run(quick=True, seed=0)


def test_claim_holds(result):
    assert result.holds, (result.measured, result.checks)
    assert len(result.checks) == 7


def test_grid_matches_adams_spacing():
    assert lr_free.MULTIPLIERS[ONE] == pytest.approx(1.0)
    spacing = np.diff(np.log10(lr_free.MULTIPLIERS))
    np.testing.assert_allclose(spacing, lr_sensitivity.SPACING, rtol=1e-9)


def test_defaults_against_adam(result):
    acc = {n: result.default_acc[n][0] for n in result.default_acc}
    tuned = result.adam_best_acc[0]
    assert tuned - acc["Prodigy"] <= T.prodigy_gap_to_tuned_adam_max
    assert acc["Prodigy"] > acc["Adam"]  # Adam at its default 1e-3
    for name in ("D-Adapt AdamW", "DoG"):
        assert T.default_acc_min <= acc[name] < tuned, name
    assert acc["DoWG"] < T.fails_below


def test_ranges_end_and_where_the_default_sits(result):
    width = {n: w[0] for n, w in result.width.items()}
    for name in lr_free.METHODS:
        row = result.accuracy[name][0]
        assert max(row[0], row[-1]) < T.fails_below, name
        assert width[name] <= width["Adam"] + T.prodigy_width_gap_max + 1e-3
        inside = result.good_lo[name][0] <= 1.0 <= result.good_hi[name][0]
        assert inside == (name != "DoWG"), name
    assert abs(width["Prodigy"] - width["Adam"]) <= T.prodigy_width_gap_max + 1e-3
    assert width["D-Adapt AdamW"] <= width["Adam"] - T.narrower_by_min + 1e-3
    assert width["DoG"] <= T.dog_width_max + 1e-3
    assert result.good_hi["DoWG"][0] < 1.0  # DoWG works only below its default
    # 1.0 sits at least a decade from both ends of Prodigy's range.
    assert result.good_lo["Prodigy"][0] <= 0.1 and result.good_hi["Prodigy"][0] >= 10


def test_what_the_methods_estimate(result):
    step = {n: np.asarray(rows[0]) for n, rows in result.step.items()}
    prodigy, dadapt = step["Prodigy"][ONE], step["D-Adapt AdamW"][ONE]
    # Prodigy's η·d at 1.0 is an Adam learning rate inside Adam's good range;
    # D-Adaptation ends with a larger one.
    assert result.good_lo["Adam"][0] <= prodigy <= result.good_hi["Adam"][0]
    assert dadapt > 1.5 * prodigy
    # Over the good range, log step against log multiplier: Prodigy's estimate
    # partly undoes the multiplier, D-Adaptation's hardly, DoWG's amplifies it.
    slope = {n: v[0] for n, v in result.step_slope.items()}
    assert slope["Prodigy"] <= 0.7
    assert slope["D-Adapt AdamW"] >= slope["Prodigy"] + 0.1
    assert slope["DoWG"] >= 1.1
    assert result.step_slope["DoG"][0] is None  # a one-point range
    # Below the ranges the estimate never grew: a tiny multiplier, a tinier step.
    for name, s in step.items():
        assert s[0] < 1e-3 * s[ONE], name


def test_first_estimate_barely_matters_for_prodigy_and_dadapt(result):
    d0 = {n: np.asarray(rows[0]) for n, rows in result.d0_accuracy.items()}
    factors = np.asarray(result.d0_factors)
    for name in ("Prodigy", "D-Adapt AdamW"):
        assert d0[name].min() >= T.default_acc_min, name
    assert d0["DoG"][0] < T.fails_below  # r_ε 1e-4 of the default: too slow
    # The d₀ factor 1 run is the multiplier 1 run (same program, same setting).
    at_one = int(np.argmin(np.abs(np.log10(factors))))
    for name in lr_free.METHODS:
        assert d0[name][at_one] == result.accuracy[name][0][ONE], name


def test_numbers_are_json(result):
    numbers = result.numbers()
    json.dumps(numbers, allow_nan=False)
    assert numbers["width_decades"] == result.width
    assert numbers["final_step_at_default"]["Prodigy"] == [
        result.step["Prodigy"][0][ONE]
    ]


def test_subset_of_methods_and_unknown_method(result):
    dog = lr_free.run(quick=True, methods=("DoG",))  # programs already compiled
    assert list(dog.accuracy) == ["Adam", "DoG"] and dog.holds, dog.checks
    assert dog.accuracy["DoG"] == result.accuracy["DoG"]
    with pytest.raises(ValueError, match="`methods` must be a non-empty subset"):
        lr_free.run(quick=True, methods=("Adam",))
    with pytest.raises(ValueError, match="`methods` must be a non-empty subset"):
        lr_free.run(quick=True, methods=())


def test_plot_writes_one_readable_png(result, tmp_path):
    with figures.captured() as saved:
        paths = lr_free_plots.plot(result, tmp_path)
    assert [p.name for p in paths] == ["lr_free.png"]
    figures.assert_pngs(paths)
    fig = saved["lr_free.png"]
    assert _plotting.covered(fig) == []
    widths = [t for t in figures.texts(fig) if t.endswith("dec")]
    assert len(widths) == 1 + len(lr_free.METHODS)
    assert f"{result.width['Prodigy'][0]:.2f} dec" in widths
