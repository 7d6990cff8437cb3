"""The lesson's knowledge check, answered by experiments instead of by a key.

Each of the three questions has three options. Every option gets a check
that runs against evidence measured here, with this library's optimizers:

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
import functools
import inspect
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import jaxopt_lessons as jol
from jaxopt_lessons import sweeps
from jaxopt_lessons.lessons import _plotting
from jaxopt_lessons.problems import make_ravine, make_scaled_bowl

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

STEPS = 2000
TOLERANCE = 1e-3
_TASK_WORDS = {"loss", "loss_fn", "labels", "label", "targets", "target", "y", "metric"}


def _quadratic_program(setting):
    """SGD/momentum (which=0) or Adam (which=1) on ½ xᵀAx; the whole path."""
    lr, beta = setting["lr"], setting["beta"]
    opt = sweeps.select([jol.sgd(lr, momentum=beta), jol.adam(lr)], setting["which"])
    hessian, x0 = setting["hessian"], setting["x0"]

    def step(carry, _):
        x, state = carry
        u, state = opt.update(hessian @ x, state, x)
        return (x + u, state), x + u

    _, path = jax.lax.scan(step, (x0, opt.init(x0)), None, length=STEPS)
    return jnp.concatenate([x0[None], path])


@jax.jit
def _adam_checks(grads, other_first):
    """Adam (library) against the formula; and after two different histories."""
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    opt = jol.adam(lr, b1=b1, b2=b2, eps=eps)

    def run(gs):
        def step(state, g):
            u, state = opt.update(g, state)
            return state, u

        _, us = jax.lax.scan(step, opt.init(gs[0]), gs)
        return us

    ours = run(grads)
    # Both histories end in the same gradient grads[-1]; they differ before.
    alternative = grads.at[: grads.shape[0] - 1].set(other_first)
    return ours, run(alternative)


def _adam_by_hand(grads, lr=0.1, b1=0.9, b2=0.999, eps=1e-8):
    g = np.asarray(grads, np.float64)
    m = np.zeros_like(g[0])
    v = np.zeros_like(g[0])
    out = []
    for t, gt in enumerate(g, start=1):
        m = b1 * m + (1 - b1) * gt
        v = b2 * v + (1 - b2) * gt**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        out.append(-lr * m_hat / (np.sqrt(v_hat) + eps))
    return np.stack(out)


def _steps_below(path, tolerance=TOLERANCE):
    err = np.linalg.norm(path, axis=1) / np.linalg.norm(path[0])
    err = np.where(np.isfinite(err), err, np.inf)
    above = np.nonzero(err >= tolerance)[0]
    return int(above[-1] + 1) if above.size else 0


def _update_parameters(transform) -> list[str]:
    return list(inspect.signature(transform.update).parameters)


@functools.lru_cache(maxsize=8)
def gather_evidence(seed: int = 0) -> dict:
    """Runs every experiment behind the checks; returns the numbers (cached)."""
    ravine = make_ravine(100.0, 2, key=seed)
    lr_gd = ravine.gd_step_size()
    alpha, beta = ravine.heavy_ball_constants()
    bowl = make_scaled_bowl((1000.0, 1.0))
    rows = [
        ("gd", lr_gd, 0.0, 0, ravine),
        ("heavy_ball", alpha, beta, 0, ravine),
        ("momentum_same_lr", lr_gd, 0.9, 0, ravine),
        ("momentum_lr_1e-4", 1e-4, 0.9, 0, ravine),
        ("momentum_lr_0.1", 0.1, 0.9, 0, ravine),
        ("momentum_lr_10", 10.0, 0.9, 0, ravine),
        ("bowl_sgd", 1.9e-3, 0.0, 0, bowl),
        ("bowl_adam", 1e-2, 0.0, 1, bowl),
    ]
    settings = {
        "lr": np.asarray([r[1] for r in rows], np.float32),
        "beta": np.asarray([r[2] for r in rows], np.float32),
        "which": np.asarray([r[3] for r in rows], np.int32),
        "hessian": np.stack([np.asarray(r[4].hessian) for r in rows]),
        "x0": np.stack([np.asarray(r[4].x0) for r in rows]),
    }
    paths = sweeps.sweep(_quadratic_program, settings, method="vmap").outputs
    paths = {r[0]: np.asarray(p, np.float64) for r, p in zip(rows, paths, strict=True)}
    basis = np.asarray(ravine.basis, np.float64)

    def steep(path):  # coordinate along the steepest eigenvector
        return path @ basis[:, -1]

    def flip_fraction(path, n):
        moves = np.diff(steep(path[: n + 1]))
        moves = moves[np.abs(moves) > 1e-12]
        return float(np.mean(np.sign(moves[1:]) != np.sign(moves[:-1])))

    def sideways_travel(path):
        s = steep(path)
        return float(np.sum(np.abs(np.diff(s))) / abs(s[0]))

    def loss(path, hessian):
        return 0.5 * np.einsum("ni,ij,nj->n", path, np.asarray(hessian), path)

    n_gd = _steps_below(paths["gd"])
    n_hb = _steps_below(paths["heavy_ball"])
    err_after_500 = {}
    for lr in ("1e-4", "0.1", "10"):
        p = paths[f"momentum_lr_{lr}"]
        ratio = np.linalg.norm(p[500]) / np.linalg.norm(p[0])
        err_after_500[lr] = float(ratio) if np.isfinite(ratio) else float("inf")
    f_gd = loss(paths["gd"], ravine.hessian)
    bowl_sgd, bowl_adam = paths["bowl_sgd"], paths["bowl_adam"]
    first_adam = np.abs(bowl_adam[1] - bowl_adam[0])

    # Adam against the formula; the same last gradient after two histories.
    rng = np.random.default_rng(seed)
    grads = rng.standard_normal((6, 5)).astype(np.float32)
    other = rng.standard_normal((5, 5)).astype(np.float32) * 3.0
    ours, alternative = (np.asarray(a, np.float64) for a in _adam_checks(grads, other))
    by_hand = _adam_by_hand(grads)
    formula_gap = float(np.max(np.abs(ours - by_hand) / np.abs(by_hand)))
    history_gap = float(
        np.linalg.norm(ours[-1] - alternative[-1]) / np.linalg.norm(ours[-1])
    )

    # SGD on a nonlinear model: a ReLU network on the circles.
    from jaxopt_lessons.lessons import wrong_gradients

    circle_lrs = [0.1, 0.3, 1.0]
    circle_acc = wrong_gradients.circles_accuracy(
        seed, which=[0] * 3, lr=circle_lrs, slope=[0.0] * 3, optimizers=("SGD",)
    )

    return {
        "ravine_kappa": 100.0,
        "gd_steps_to_1e-3": n_gd,
        "heavy_ball_steps_to_1e-3": n_hb,
        "gd_flip_fraction": flip_fraction(paths["gd"], n_gd),
        "gd_sideways_travel": sideways_travel(paths["gd"]),
        "momentum_same_lr_sideways_travel": sideways_travel(paths["momentum_same_lr"]),
        "gd_loss_reduction": float(f_gd[-1] / f_gd[0]),
        "momentum_error_after_500_by_lr": err_after_500,
        "bowl_shallow_progress_sgd": float(1 - abs(bowl_sgd[200, 1]) / bowl_sgd[0, 1]),
        "bowl_shallow_progress_adam": float(
            1 - abs(bowl_adam[200, 1]) / bowl_adam[0, 1]
        ),
        "bowl_adam_first_step_ratio": float(first_adam[0] / first_adam[1]),
        "adam_formula_max_rel_gap": formula_gap,
        "adam_history_update_gap": history_gap,
        "sgd_relu_circles_best_test_acc": float(np.max(circle_acc)),
        "momentum_update_arguments": _update_parameters(jol.sgd(0.1, momentum=0.9)),
        "adam_update_arguments": _update_parameters(jol.adam(1e-3)),
    }


def check_options(evidence: dict) -> dict[int, dict[str, tuple[bool, str]]]:
    """For every question and option: (supported by the evidence?, why, in numbers)."""
    e = evidence
    gd_hb = e["gd_steps_to_1e-3"] / max(e["heavy_ball_steps_to_1e-3"], 1)
    travel_ratio = e["gd_sideways_travel"] / e["momentum_same_lr_sideways_travel"]
    errs = e["momentum_error_after_500_by_lr"]
    task_args = sorted(
        _TASK_WORDS
        & (set(e["momentum_update_arguments"]) | set(e["adam_update_arguments"]))
    )
    structural = (
        "an optimizer's update takes ("
        + ", ".join(e["momentum_update_arguments"])
        + "): gradients, its own state and the parameters, never a loss, labels or "
        "a task (a structural check: the option is a category error)"
    )
    q1a = (
        e["gd_flip_fraction"] >= 0.9
        and gd_hb >= 4
        and e["bowl_shallow_progress_sgd"] < 0.5 <= e["bowl_shallow_progress_adam"]
    )
    q2c_false = errs["1e-4"] > 0.5 and errs["0.1"] < 0.01 and not errs["10"] < 1
    return {
        1: {
            "A": (
                q1a,
                f"on a κ=100 ravine GD reverses its sideways move on "
                f"{e['gd_flip_fraction']:.0%} of steps and needs "
                f"{e['gd_steps_to_1e-3']} steps vs heavy ball's "
                f"{e['heavy_ball_steps_to_1e-3']} ({gd_hb:.1f}x); on the 1000:1 bowl "
                f"SGD moves the shallow coordinate {e['bowl_shallow_progress_sgd']:.3f} "
                f"of the way in 200 steps, Adam {e['bowl_shallow_progress_adam']:.3f}",
            ),
            "B": (
                not e["gd_loss_reduction"] < 1e-6,
                f"SGD uses nothing but gradients and cut the ravine's loss by a factor "
                f"{e['gd_loss_reduction']:.1e} in {STEPS} steps",
            ),
            "C": (
                not e["sgd_relu_circles_best_test_acc"] >= 0.9,
                f"SGD trained a nonlinear ReLU network on make_circles to "
                f"{e['sgd_relu_circles_best_test_acc']:.3f} test accuracy",
            ),
        },
        2: {
            "A": (
                travel_ratio >= 3,
                f"at GD's learning rate on the κ=100 ravine, the sideways travel "
                f"(total steep-axis motion / start offset) is "
                f"{e['gd_sideways_travel']:.1f} for GD and "
                f"{e['momentum_same_lr_sideways_travel']:.1f} with momentum 0.9 "
                f"({travel_ratio:.1f}x less)",
            ),
            "B": (bool(task_args), structural),
            "C": (
                not q2c_false,
                f"momentum 0.9 on the ravine, error after 500 steps: "
                f"{errs['1e-4']:.2f} at lr 1e-4 (barely moved), {errs['0.1']:.1e} at "
                f"lr 0.1, {errs['10']:.3g} at lr 10 (diverged): the learning rate "
                f"still decides",
            ),
        },
        3: {
            "A": (
                e["adam_formula_max_rel_gap"] < 1e-4
                and abs(e["bowl_adam_first_step_ratio"] - 1) < 1e-3,
                f"the library's Adam equals −lr·m̂/(√v̂+eps) built from running "
                f"averages of g and g² (max relative gap "
                f"{e['adam_formula_max_rel_gap']:.1e}), and its first step on the "
                f"1000:1 bowl is the same size in both coordinates (ratio "
                f"{e['bowl_adam_first_step_ratio']:.3f}, SGD's is 1000)",
            ),
            "B": (bool(task_args), structural),
            "C": (
                not e["adam_history_update_gap"] > 0.1,
                f"two gradient histories that end in the same gradient give Adam "
                f"updates that differ by {e['adam_history_update_gap']:.0%}",
            ),
        },
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


def plot(result: Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """The quiz as a sheet: every question and option in full, a ✓ (green) or
    ✗ (red) for whether the evidence supports it, and under each option the
    measured numbers behind that verdict (`check_options`)."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checks = check_options(result.evidence)
    # One row per line of text; options get their wrapped text, then the
    # wrapped measurement in a smaller grey font.
    rows = []  # (kind, x, text, n_lines, extra)
    for q, (question, options) in QUESTIONS.items():
        rows.append(("question", 0.0, f"Q{q}. {question}", 1, None))
        for letter, option in options.items():
            ok = result.verdicts[q][letter]
            text = textwrap.fill(f"{letter})  {option}", 100)
            rows.append(("option", 0.045, text, text.count("\n") + 1, ok))
            why = textwrap.fill(f"measured: {checks[q][letter][1]}", 130)
            rows.append(("why", 0.045, why, why.count("\n") + 1, ok))
        rows.append(("gap", 0.0, "", 1, None))
    n_lines = sum(r[3] for r in rows) - 1
    fig, ax = plt.subplots(figsize=(9.2, 0.19 * n_lines + 0.9))
    ax.set_xlim(0, 1)
    ax.set_ylim(n_lines + 0.2, -0.2)
    ax.axis("off")
    y = 0.0
    for kind, x, text, lines, ok in rows:
        if kind == "question":
            ax.text(x, y, text, va="top", fontsize=10, fontweight="bold")
        elif kind == "option":
            ax.scatter(
                0.018,
                y + 0.45,
                s=170,
                color="tab:green" if ok else "tab:red",
                edgecolor="k",
                linewidths=0.6,
            )
            ax.text(
                0.018,
                y + 0.45,
                "✓" if ok else "✗",
                ha="center",
                va="center",
                fontsize=8,
                color="w",
                fontweight="bold",
            )
            ax.text(x, y, text, va="top", fontsize=9)
        elif kind == "why":
            ax.text(x, y, text, va="top", fontsize=7.5, color="0.3", style="italic")
        y += lines
    ax.set_title(
        "Knowledge check: each option against the measured evidence "
        "(✓ green: supported, ✗ red: contradicted)",
        fontsize=11,
        loc="left",
    )
    return [_plotting.save(fig, out_dir / "knowledge_check.png")]
