"""The lesson's knowledge check, answered by experiments instead of by a key.

Each of the three questions has three options. Every option gets a check
(`check_options`, its limits in `THRESHOLDS`) that runs against evidence
measured with this library's optimizers by `gather_evidence(seed)` (the
experiments live in `lessons._quiz_evidence`):

- small 2-D quadratics (a κ = 100 ravine from `problems.make_ravine`, the
  1000:1 bowl from `problems.make_scaled_bowl`), trained by SGD, momentum and
  Adam in one compiled program;
- Adam's update against its textbook formula, and against itself after two
  different gradient histories;
- SGD training a ReLU network on make_circles (from `wrong_gradients`);
- the optimizer interface itself: what an update can see.

`supported_options(evidence)` lists the options whose check passes: exactly
option A per question. `grade(answers)` tells a learner, per question,
whether the chosen option is right and why, with the numbers.

The two "B" options (momentum turns classification into regression; Adam
replaces the loss) are category errors; their checks are structural (an
update sees gradients, a state and the parameters, never a loss or labels)
rather than experimental, and the feedback says so.

References: the lesson's answers; Polyak (1964) and Goh, "Why Momentum Really
Works", Distill 2017 (momentum on quadratics); Kingma & Ba, "Adam: A Method for
Stochastic Optimization", ICLR 2015 (Algorithm 1).
"""

from __future__ import annotations

import dataclasses

from jaxopt_lessons.lessons._quiz_evidence import STEPS, gather_evidence

CLAIM_ID = "knowledge_check"
CLAIM = (
    "Each quiz question of the lesson has exactly one option that the measured "
    "evidence supports, and it is option A."
)

QUESTIONS = {
    1: (
        "What is one main weakness of plain SGD?",
        {
            "A": "It can zig-zag or move inefficiently when gradients are noisy or "
            "differently scaled across directions.",
            "B": "It cannot use gradients at all.",
            "C": "It only works for linear models.",
        },
    ),
    2: (
        "What problem does momentum mainly address?",
        {
            "A": "It reduces noisy directional oscillation by accumulating a running "
            "velocity.",
            "B": "It converts classification into regression.",
            "C": "It removes the need for a learning rate.",
        },
    ),
    3: (
        "What is the main idea behind Adam?",
        {
            "A": "Combine smoothed directional updates with adaptive scaling based on "
            "recent gradient magnitudes.",
            "B": "Replace the loss function with a better metric.",
            "C": "Use only the last gradient and ignore history.",
        },
    ),
}


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """What each option's check requires of the evidence (the tests import these)."""

    gd_flip_fraction_min: float = 0.9  # GD reverses its sideways move (Q1 A)
    gd_over_hb_steps_min: float = 4.0  # GD needs this many times the HB's steps
    shallow_progress_split: float = 0.5  # 1000:1 bowl: SGD below, Adam at or above
    loss_reduction_max: float = 1e-6  # SGD cuts the ravine's loss below this (Q1 B)
    sgd_circles_acc_min: float = 0.9  # SGD trains a ReLU net on circles (Q1 C)
    damping_min: float = 3.0  # GD's sideways travel / momentum's, same lr (Q2 A)
    stalled_error_min: float = 0.5  # momentum at lr 1e-4, error after 500 steps
    converged_error_max: float = 0.01  # ... at lr 0.1 (Q2 C: the lr still decides)
    diverged_error_min: float = 1.0  # ... at lr 10
    adam_formula_gap_max: float = 1e-4  # Adam against its formula (Q3 A)
    equal_step_rtol: float = 1e-3  # Adam's first step on the bowl: ratio 1
    history_gap_min: float = 0.1  # the history changes Adam's update (Q3 C)


THRESHOLDS = Thresholds()

_TASK_WORDS = {"loss", "loss_fn", "labels", "label", "targets", "target", "y", "metric"}


def _question_1(e: dict, t: Thresholds) -> dict[str, tuple[bool, str]]:
    """SGD's weakness: A zig-zag and uneven scales; B no gradients; C linear only."""
    gd_hb = e["gd_steps_to_1e-3"] / max(e["heavy_ball_steps_to_1e-3"], 1)
    a = (
        e["gd_flip_fraction"] >= t.gd_flip_fraction_min
        and gd_hb >= t.gd_over_hb_steps_min
        and e["bowl_shallow_progress_sgd"]
        < t.shallow_progress_split
        <= e["bowl_shallow_progress_adam"]
    )
    return {
        "A": (
            a,
            f"on a κ=100 ravine GD reverses its sideways move on "
            f"{e['gd_flip_fraction']:.0%} of steps and needs "
            f"{e['gd_steps_to_1e-3']} steps vs heavy ball's "
            f"{e['heavy_ball_steps_to_1e-3']} ({gd_hb:.1f}x); on the 1000:1 bowl "
            f"SGD moves the shallow coordinate {e['bowl_shallow_progress_sgd']:.3f} "
            f"of the way in 200 steps, Adam {e['bowl_shallow_progress_adam']:.3f}",
        ),
        "B": (
            not e["gd_loss_reduction"] < t.loss_reduction_max,
            f"SGD uses nothing but gradients and cut the ravine's loss by a factor "
            f"{e['gd_loss_reduction']:.1e} in {STEPS} steps",
        ),
        "C": (
            not e["sgd_relu_circles_best_test_acc"] >= t.sgd_circles_acc_min,
            f"SGD trained a nonlinear ReLU network on make_circles to "
            f"{e['sgd_relu_circles_best_test_acc']:.3f} test accuracy",
        ),
    }


def _structural(e: dict) -> tuple[bool, str]:
    """The "B" options of Q2 and Q3: does an update ever see a loss or labels?"""
    task_args = sorted(
        _TASK_WORDS
        & (set(e["momentum_update_arguments"]) | set(e["adam_update_arguments"]))
    )
    return bool(task_args), (
        "an optimizer's update takes ("
        + ", ".join(e["momentum_update_arguments"])
        + "): gradients, its own state and the parameters, never a loss, labels or "
        "a task (a structural check: the option is a category error)"
    )


def _question_2(e: dict, t: Thresholds) -> dict[str, tuple[bool, str]]:
    """Momentum: A damps oscillation; B changes the task; C needs no lr."""
    travel_ratio = e["gd_sideways_travel"] / e["momentum_same_lr_sideways_travel"]
    errs = e["momentum_error_after_500_by_lr"]
    lr_decides = (
        errs["1e-4"] > t.stalled_error_min
        and errs["0.1"] < t.converged_error_max
        and not errs["10"] < t.diverged_error_min
    )
    return {
        "A": (
            travel_ratio >= t.damping_min,
            f"at GD's learning rate on the κ=100 ravine, the sideways travel "
            f"(total steep-axis motion / start offset) is "
            f"{e['gd_sideways_travel']:.1f} for GD and "
            f"{e['momentum_same_lr_sideways_travel']:.1f} with momentum 0.9 "
            f"({travel_ratio:.1f}x less)",
        ),
        "B": _structural(e),
        "C": (
            not lr_decides,
            f"momentum 0.9 on the ravine, error after 500 steps: "
            f"{errs['1e-4']:.2f} at lr 1e-4 (barely moved), {errs['0.1']:.1e} at "
            f"lr 0.1, {errs['10']:.3g} at lr 10 (diverged): the learning rate "
            f"still decides",
        ),
    }


def _question_3(e: dict, t: Thresholds) -> dict[str, tuple[bool, str]]:
    """Adam: A smoothed direction and adaptive scale; B a new loss; C no history."""
    return {
        "A": (
            e["adam_formula_max_rel_gap"] < t.adam_formula_gap_max
            and abs(e["bowl_adam_first_step_ratio"] - 1) < t.equal_step_rtol,
            f"the library's Adam equals −lr·m̂/(√v̂+eps) built from running "
            f"averages of g and g² (max relative gap "
            f"{e['adam_formula_max_rel_gap']:.1e}), and its first step on the "
            f"1000:1 bowl is the same size in both coordinates (ratio "
            f"{e['bowl_adam_first_step_ratio']:.3f}, SGD's is 1000)",
        ),
        "B": _structural(e),
        "C": (
            not e["adam_history_update_gap"] > t.history_gap_min,
            f"two gradient histories that end in the same gradient give Adam "
            f"updates that differ by {e['adam_history_update_gap']:.0%}",
        ),
    }


def check_options(
    evidence: dict, thresholds: Thresholds = THRESHOLDS
) -> dict[int, dict[str, tuple[bool, str]]]:
    """For every question and option: (supported by the evidence?, why, in numbers)."""
    return {
        1: _question_1(evidence, thresholds),
        2: _question_2(evidence, thresholds),
        3: _question_3(evidence, thresholds),
    }


def supported_options(evidence: dict | None = None) -> dict[int, list[str]]:
    """The options whose check passes, per question (measures evidence if None)."""
    checks = check_options(gather_evidence() if evidence is None else evidence)
    return {
        q: sorted(k for k, (ok, _) in options.items() if ok)
        for q, options in checks.items()
    }


@dataclasses.dataclass(frozen=True)
class Feedback:
    """The verdict on one answer."""

    question: int
    answer: str
    correct: bool
    explanation: str

    def __str__(self) -> str:
        verdict = "right" if self.correct else "wrong"
        return f"Q{self.question}: {self.answer} is {verdict}. {self.explanation}"


def grade(answers, evidence: dict | None = None) -> list[Feedback]:
    """Grades a learner's answers against the measured evidence.

    Args:
        answers: ``{1: "A", 2: "C", 3: "A"}`` or a sequence of three letters.
        evidence: from `gather_evidence`; measured when None.

    Returns:
        One `Feedback` per question: right or wrong, and why, with numbers.

    Raises:
        ValueError: a question is missing or an answer is not A, B or C.
    """
    if not isinstance(answers, dict):
        answers = dict(enumerate(answers, start=1))
    for q in QUESTIONS:
        a = answers.get(q)
        if not isinstance(a, str) or a.strip().upper() not in ("A", "B", "C"):
            raise ValueError(
                f"grade: `answers[{q}]` must be 'A', 'B' or 'C', got {a!r}."
            )
    checks = check_options(gather_evidence() if evidence is None else evidence)
    out = []
    for q, options in checks.items():
        a = answers[q].strip().upper()
        ok, why = options[a]
        right = [k for k, (v, _) in options.items() if v]
        if ok:
            text = f"Measured: {why}."
        else:
            text = f"Measured against it: {why}."
            if right:
                text += f" The supported answer is {', '.join(right)}: "
                text += options[right[0]][1] + "."
        out.append(Feedback(question=q, answer=a, correct=ok, explanation=text))
    return out


@dataclasses.dataclass(frozen=True)
class Result:
    """Which options the evidence supports, with the evidence."""

    holds: bool
    measured: str
    supported: dict[int, list[str]]
    evidence: dict
    verdicts: dict[int, dict[str, bool]]

    def numbers(self) -> dict:
        return {
            "supported_options": {str(q): v for q, v in self.supported.items()},
            "option_supported": {str(q): dict(v) for q, v in self.verdicts.items()},
            "evidence": self.evidence,
        }


def run(*, quick: bool = False, seed: int = 0) -> Result:
    """Measures the evidence (the same in quick mode: it is small) and checks."""
    del quick
    evidence = gather_evidence(seed)
    checks = check_options(evidence)
    supported = supported_options(evidence)
    verdicts = {q: {k: bool(v[0]) for k, v in o.items()} for q, o in checks.items()}
    e = evidence
    measured = (
        "supported: "
        + ", ".join(f"Q{q} {'/'.join(v) or 'none'}" for q, v in supported.items())
        + f"; GD flips {e['gd_flip_fraction']:.2f}, GD/HB steps "
        f"{e['gd_steps_to_1e-3']}/{e['heavy_ball_steps_to_1e-3']}; sideways travel "
        f"{e['gd_sideways_travel']:.1f} vs {e['momentum_same_lr_sideways_travel']:.1f}; "
        f"Adam = formula to {e['adam_formula_max_rel_gap']:.0e}, history changes "
        f"update by {e['adam_history_update_gap']:.0%}"
    )
    return Result(
        holds=supported == {1: ["A"], 2: ["A"], 3: ["A"]},
        measured=measured,
        supported=supported,
        evidence=evidence,
        verdicts=verdicts,
    )
