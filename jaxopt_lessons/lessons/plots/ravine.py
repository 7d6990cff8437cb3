"""Plots of the ravine claim: paths on the contours, steps against κ, zig-zag."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, ravine

# The methods drawn on the contours and in the zig-zag plot (not GD at 1/L).
SHOWN = tuple(ravine.ZIGZAG_METHODS[i] for i in (0, 2, 3, 4))


def plot(result: ravine.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Contours with paths, steps against κ (log-log), the steep coordinate per step."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(ravine.ZIGZAG_METHODS)
    return [
        _contours(result, colors, out_dir / "ravine_contours.png"),
        _steps_against_kappa(result, out_dir / "ravine_steps_vs_kappa.png"),
        _zigzag(result, colors, out_dir / "ravine_zigzag.png"),
    ]


def _contours(result: ravine.Result, colors: dict, path: pathlib.Path) -> pathlib.Path:
    """The first iterates on the loss contours, and the error per step."""
    plt = _plotting.pyplot()
    fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(12, 4.8))
    _draw_paths(ax, result, colors)
    for m in ravine.ZIGZAG_METHODS:
        p = result.example_paths[m]
        err = np.linalg.norm(p, axis=1) / np.linalg.norm(p[0])
        ax_err.semilogy(err, color=colors[m], label=m)
    ax_err.axhline(ravine.TOLERANCE, color="k", ls=":", label="target 1e-3")
    ax_err.set_ylim(1e-4, 10)
    ax_err.set_xlabel("step")
    ax_err.set_ylabel("‖x − x*‖ / ‖x₀ − x*‖")
    ax_err.set_title("Error per step (log scale)")
    ax_err.legend(fontsize=8)
    return _plotting.save(fig, path)


def _draw_paths(ax, result: ravine.Result, colors: dict) -> None:
    """Labelled loss contours of the example, its first SHOWN_STEPS iterates."""
    lam = result.example_eigenvalues
    first = {m: result.example_paths[m][: ravine.SHOWN_STEPS + 1] for m in SHOWN}
    limit = max(np.abs(p[:, 1]).max() for p in first.values())
    right = max(p[:, 0].max() for p in first.values())
    xs = np.linspace(-1.3, max(0.2, right) + 0.1, 300)
    ys = np.linspace(-1.1 * limit, 1.1 * limit, 300)
    gx, gy = np.meshgrid(xs, ys)
    f = 0.5 * (lam[0] * gx**2 + lam[1] * gy**2)
    # Loss levels 1-2-5 × 10^k. The long sides of the ellipses are the
    # near-horizontal lines, their ends show for f < λ₁·x₁²/2. Labels go in
    # the strip left of the start (x₁ = −1), where no path runs.
    levels = _plotting.nice_levels(1e-3, f.max())
    label_x = -1.17
    label_at = {
        level: (label_x, np.sqrt((2 * level - lam[0] * label_x**2) / lam[1]))
        for level in levels
        if 2 * level > lam[0] * label_x**2
    }
    label_at = {k: v for k, v in label_at.items() if v[1] < 0.95 * ys.max()}
    _plotting.loss_contours(ax, gx, gy, f, levels, label_at=label_at)
    for m, p in first.items():
        ax.plot(
            p[:, 0], p[:, 1], "-o", ms=2.5, lw=1.3, color=colors[m], label=m, zorder=3
        )
    ax.plot([0], [0], "k*", ms=11, label="minimum", zorder=5)
    ax.set_xlabel("x₁ (shallow direction, λ = 0.01)")
    ax.set_ylabel("x₂ (steep direction, λ = 1)")
    ax.set_title(f"Ravine κ = 100: first {ravine.SHOWN_STEPS} steps")
    ax.legend(fontsize=8)


def _steps_against_kappa(result: ravine.Result, path: pathlib.Path) -> pathlib.Path:
    """Steps against κ, log-log: every problem as a dot, fitted medians as lines."""
    plt = _plotting.pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    k = np.asarray(result.kappas)
    for name, steps, slopes, color in (
        ("GD, lr 2/(L+μ)", result.steps_gd, result.slopes_gd, "tab:blue"),
        ("heavy ball, optimal", result.steps_hb, result.slopes_hb, "tab:red"),
    ):
        flat = steps.reshape(-1, len(k))
        for row in flat:
            ax.loglog(k, row, "o", color=color, alpha=0.25, ms=4)
        median = np.median(flat, axis=0)
        fit = np.polyfit(np.log(k), np.log(median), 1)
        ax.loglog(
            k,
            np.exp(np.polyval(fit, np.log(k))),
            "-",
            color=color,
            label=f"{name}: slope {np.median(slopes):.2f}",
        )
    ax.loglog(k, result.closed_form_2d, "k--", label="GD closed form (2-D)")
    ax.set_xlabel("condition number κ")
    ax.set_ylabel("steps until error < 1e-3")
    ax.set_title("Steps against κ (dots: every dimension and seed)")
    ax.legend()
    return _plotting.save(fig, path)


def _zigzag(result: ravine.Result, colors: dict, path: pathlib.Path) -> pathlib.Path:
    """The steep coordinate against the step: sign flips are the bounces."""
    plt = _plotting.pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for m in SHOWN:
        p = result.example_paths[m][: ravine.SHOWN_STEPS + 1]
        ax.plot(p[:, 1], "-o", ms=2, lw=1, color=colors[m], label=m)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("step")
    ax.set_ylabel("steep coordinate x₂")
    ax.set_title("Zig-zag across the ravine (sign flips = bouncing between walls)")
    ax.legend(fontsize=8)
    return _plotting.save(fig, path)
