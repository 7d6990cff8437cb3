"""Plot of the knowledge check: the quiz as a sheet, each option with its verdict."""

from __future__ import annotations

import pathlib
import textwrap

from jaxopt_lessons.lessons import _plotting, knowledge_check


def plot(result: knowledge_check.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """The quiz as a sheet: every question and option in full, a ✓ (green) or
    ✗ (red) for whether the evidence supports it, and under each option the
    measured numbers behind that verdict (`knowledge_check.check_options`)."""
    out_dir = _plotting.output_dir(out_dir)
    rows = _rows(result)
    n_lines = sum(r[3] for r in rows) - 1
    fig, ax = _plotting.pyplot().subplots(figsize=(9.2, 0.19 * n_lines + 0.9))
    ax.set_xlim(0, 1)
    ax.set_ylim(n_lines + 0.2, -0.2)
    ax.axis("off")
    y = 0.0
    for kind, x, text, lines, ok in rows:
        _draw_row(ax, kind, x, y, text, ok)
        y += lines
    ax.set_title(
        "Knowledge check: each option against the measured evidence "
        "(✓ green: supported, ✗ red: contradicted)",
        fontsize=11,
        loc="left",
    )
    return [_plotting.save(fig, out_dir / "knowledge_check.png")]


def _rows(result: knowledge_check.Result) -> list[tuple]:
    """One row per block of text: (kind, x, text, n_lines, supported).

    Options get their wrapped text, then the wrapped measurement (a "why"
    row, drawn smaller and grey); a blank "gap" row ends each question.
    """
    checks = knowledge_check.check_options(result.evidence)
    rows = []
    for q, (question, options) in knowledge_check.QUESTIONS.items():
        rows.append(("question", 0.0, f"Q{q}. {question}", 1, None))
        for letter, option in options.items():
            ok = result.verdicts[q][letter]
            text = textwrap.fill(f"{letter})  {option}", 100)
            rows.append(("option", 0.045, text, text.count("\n") + 1, ok))
            why = textwrap.fill(f"measured: {checks[q][letter][1]}", 130)
            rows.append(("why", 0.045, why, why.count("\n") + 1, ok))
        rows.append(("gap", 0.0, "", 1, None))
    return rows


def _draw_row(ax, kind: str, x: float, y: float, text: str, ok) -> None:
    """A question in bold; an option with its ✓/✗ mark; a grey measurement."""
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
