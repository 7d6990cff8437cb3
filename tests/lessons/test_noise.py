"""The noise lesson: momentum smooths the direction; it lowers the floor only
near SGD's stability edge.

The claim's thresholds live in `noise.THRESHOLDS`; these tests use them, and
compare measured floors and ratios with the exact theory of
`NoisyQuadratic.closed_form_loss`. Quick runs over seeds 0-4 gave: floor
HB/SGD at matched η_eff 0.987-0.996 (quadratic, η = 0.05) and 0.993-1.003
(diabetes), 0.59-0.61 at η_eff = 1.5; early cos on diabetes SGD 0.52-0.55 vs HB
0.905-0.945; momentum at the same raw lr: floor ×9.2-10.3, reached 6-17x
sooner.
"""

import json

import numpy as np
import pytest

from jaxopt_lessons.lessons import noise, plots_of
from jaxopt_lessons.problems import make_noisy_quadratic
from tests.lessons import figures

T = noise.THRESHOLDS
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def results():
    return [noise.run(quick=True, seed=s) for s in SEEDS]


def test_claim_holds(results):
    for r in results:
        assert r.holds, r.measured


def _ratios(r, eta):
    i = r.etas.index(eta)
    return r.floor_hb[i] / r.floor_sgd[i], r.exact_hb[i] / r.exact_sgd[i]


def test_both_regimes_are_measured(results):
    for r in results:
        assert T.small_eta in r.etas and T.edge_eta in r.etas
        # Small: η λ_max far below SGD's limit; edge: below it, but close.
        assert T.small_eta < 0.05 * r.sgd_edge
        assert 0.5 * r.sgd_edge < T.edge_eta < r.sgd_edge < r.hb_edge
        # The limits from the problems' eigenvalues: 2/λ_max and
        # 2(1 + β)/((1 − β) λ_max).
        lam_max = max(
            float(
                np.max(
                    make_noisy_quadratic(10.0, noise.DIM, key=s).quadratic.eigenvalues
                )
            )
            for s in r.seeds
        )
        assert r.sgd_edge == pytest.approx(2 / lam_max)
        assert r.hb_edge == pytest.approx(
            2 * (1 + noise.BETA) / ((1 - noise.BETA) * lam_max)
        )


def test_same_floor_at_small_matched_effective_lr(results):
    low, high = T.same_floor
    for r in results:
        ratio, exact = _ratios(r, T.small_eta)
        assert np.all((low <= ratio) & (ratio <= high))
        assert np.all((low <= exact) & (exact <= high))  # theory agrees
        np.testing.assert_allclose(ratio, exact, rtol=2 * T.theory_rel)
        ls_ratio = r.ls_floor_hb[0] / r.ls_floor_sgd[0]
        assert np.all((low <= ls_ratio) & (ls_ratio <= high))


def test_lower_floor_near_sgd_edge(results):
    for r in results:
        ratio, exact = _ratios(r, T.edge_eta)
        assert np.all(ratio < T.edge_ratio_max)
        assert np.all(exact < T.edge_ratio_max)  # theory agrees
        np.testing.assert_allclose(ratio, exact, rtol=2 * T.theory_rel)
        i = r.etas.index(T.edge_eta)
        assert np.all(r.floor_hb[i] < r.floor_sgd[i])


def test_floors_agree_with_exact_theory(results):
    for r in results:
        assert r.theory_ok
        assert r.rel_err_max < 0.12
        for got, exact in ((r.floor_sgd, r.exact_sgd), (r.floor_hb, r.exact_hb)):
            np.testing.assert_allclose(got, exact, rtol=0.12)


def test_claim_and_table_name_both_regimes(results):
    r = results[0]
    assert "unchanged" in noise.CLAIM and "lowers" in noise.CLAIM
    for eta in (T.small_eta, T.edge_eta):
        ratio, _ = _ratios(r, eta)
        assert f"η={eta:g}" in r.measured
        assert f"HB/SGD {np.median(ratio):.2f}" in r.measured
        i = r.etas.index(eta)
        assert f"SGD {np.median(r.floor_sgd[i]):#.3g} vs HB" in r.measured
        assert f"exact {np.median(r.exact_sgd[i]):#.3g}" in r.measured
    numbers = r.numbers()["quadratic"][f"{T.edge_eta:g}"]
    assert numbers["hb_over_sgd_exact"][1] < T.edge_ratio_max


def test_momentum_direction_follows_true_gradient(results):
    for r in results:
        assert np.all(r.ls_cos_hb[0] - r.ls_cos_sgd[0] >= T.cos_gap_min)
        assert np.all(r.ls_cos_hb[0] >= 0.85)


def test_same_raw_lr_raises_floor_but_gets_there_sooner(results):
    for r in results:
        factor = np.array(r.raw_floor_hb) / np.array(r.raw_floor_sgd)
        assert np.all(factor >= T.raw_floor_factor_min)
        assert np.all(factor <= 13)  # ~1/(1 − β) = 10
        assert np.all(np.array(r.raw_steps_hb) * 4 < np.array(r.raw_steps_sgd))


def test_numbers_are_json(results):
    json.dumps(results[0].numbers())


def test_plot_writes_pngs(results, tmp_path):
    paths = plots_of("noise").plot(results[0], tmp_path)
    assert [p.name for p in paths] == ["noise_floors.png", "noise_direction.png"]
    figures.assert_pngs(paths)
