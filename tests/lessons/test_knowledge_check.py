"""The knowledge check: exactly option A passes each question.

The options' thresholds live in `knowledge_check.THRESHOLDS`; these tests use
them. Evidence over seeds 0-4: GD flips sideways on 100 % of steps, 346 steps
against heavy ball's 49-58; sideways travel 100.0 (GD) vs 24.9 (momentum,
same lr); SGD shallow progress 0.316 vs Adam 0.984; the library's Adam equals
the formula to 1.0e-5 (float32); the same last gradient after two histories
changes Adam's update by 76-320 %; momentum at lr 1e-4 leaves 0.68-0.99 of the
error after 500 steps, diverges at lr 10.
"""

import pytest

from jaxopt_lessons.lessons import knowledge_check, plots_of

T = knowledge_check.THRESHOLDS
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def evidence():
    return [knowledge_check.gather_evidence(s) for s in SEEDS]


def test_exactly_option_a_passes_each_question(evidence):
    for e in evidence:
        assert knowledge_check.supported_options(e) == {1: ["A"], 2: ["A"], 3: ["A"]}


def test_run_reports_the_verdicts():
    r = knowledge_check.run(quick=True, seed=0)
    assert r.holds, r.measured
    assert r.verdicts[2] == {"A": True, "B": False, "C": False}
    assert r.numbers()["supported_options"] == {"1": ["A"], "2": ["A"], "3": ["A"]}


def test_evidence_numbers(evidence):
    for e in evidence:
        assert e["gd_flip_fraction"] == 1.0
        hb_steps = e["heavy_ball_steps_to_1e-3"]
        assert e["gd_steps_to_1e-3"] >= T.gd_over_hb_steps_min * hb_steps
        assert e["gd_sideways_travel"] == pytest.approx(100, rel=1e-3)
        damped = e["momentum_same_lr_sideways_travel"]
        assert e["gd_sideways_travel"] >= T.damping_min * damped
        assert e["bowl_shallow_progress_sgd"] == pytest.approx(
            1 - (1 - 1.9e-3) ** 200, abs=1e-3
        )
        assert e["adam_formula_max_rel_gap"] < T.adam_formula_gap_max
        assert e["adam_history_update_gap"] > T.history_gap_min
        assert e["sgd_relu_circles_best_test_acc"] >= T.sgd_circles_acc_min


def test_a_wrong_option_would_be_detected(evidence):
    # The checks read the numbers: flip the evidence and the verdicts flip.
    e = dict(evidence[0])
    e["momentum_same_lr_sideways_travel"] = e["gd_sideways_travel"]  # no damping
    e["adam_history_update_gap"] = 0.0  # Adam ignores history
    supported = knowledge_check.supported_options(e)
    assert supported[2] == []
    assert supported[3] == ["A", "C"]  # no longer exactly one option


def test_grade_explains_with_numbers(evidence):
    feedback = knowledge_check.grade({1: "A", 2: "C", 3: "b"}, evidence[0])
    assert [f.correct for f in feedback] == [True, False, False]
    assert "346" in feedback[0].explanation
    assert "lr 10" in feedback[1].explanation and "supported answer is A" in str(
        feedback[1]
    )
    assert "category error" in feedback[2].explanation
    assert [f.correct for f in knowledge_check.grade("AAA", evidence[0])] == [True] * 3


@pytest.mark.parametrize("answers", [{1: "A", 2: "D", 3: "A"}, ["A", "B"]])
def test_grade_refuses_bad_answers(answers, evidence):
    with pytest.raises(ValueError, match="grade: `answers"):
        knowledge_check.grade(answers, evidence[0])


def test_plot_shows_every_option_and_the_numbers_behind_it(tmp_path):
    from tests.lessons import figures

    r = knowledge_check.run(quick=True, seed=0)
    with figures.captured() as saved:
        paths = plots_of("knowledge_check").plot(r, tmp_path)
    assert [p.name for p in paths] == ["knowledge_check.png"]
    drawn = " | ".join(figures.texts(saved["knowledge_check.png"]))
    checks = knowledge_check.check_options(r.evidence)
    for q, (question, options) in knowledge_check.QUESTIONS.items():
        assert f"Q{q}. {question}" in drawn
        for letter, option in options.items():
            assert f"{letter}) {' '.join(option.split())}" in drawn
            why = " ".join(checks[q][letter][1].split())
            assert f"measured: {why}" in drawn, (q, letter)
    # One mark per option: ✓ for the supported ones, ✗ for the others.
    marks = [t for t in figures.texts(saved["knowledge_check.png"]) if t in "✓✗"]
    n_supported = sum(len(v) for v in r.supported.values())
    assert marks.count("✓") == n_supported == 3
    assert marks.count("✗") == 9 - n_supported
    # The numbers themselves, taken from the evidence, are on the sheet.
    e = r.evidence
    for number in (
        str(e["gd_steps_to_1e-3"]),
        f"{e['gd_sideways_travel']:.1f}",
        f"{e['momentum_same_lr_sideways_travel']:.1f}",
        f"{e['bowl_shallow_progress_sgd']:.3f}",
        f"{e['adam_history_update_gap']:.0%}",
    ):
        assert number in drawn, number
