"""Plot of the quasi-Newton claim: steps against κ, and the 2-D paths."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, quasi_newton

# (method, dim, what) drawn against κ: label, colour, line style.
CURVES = (
    ("GD", 100, "steps", "GD, lr 2/(L+μ), d=100", "tab:blue", "-o"),
    ("heavy ball", 100, "steps", "heavy ball, optimal (α, β), d=100", "tab:red", "-o"),
    ("L-BFGS", 100, "steps", "L-BFGS (memory 10), d=100", "tab:green", "-s"),
    ("L-BFGS", 100, "evaluations", "L-BFGS f+∇f evaluations, d=100", "tab:green", ":"),
    (
        "L-BFGS, tight search",
        10,
        "steps",
        "L-BFGS, tight search, d=10",
        "tab:purple",
        "-^",
    ),
    ("L-BFGS", 2, "steps", "L-BFGS, d=2", "tab:olive", "-D"),
    ("L-BFGS", 2, "evaluations", "L-BFGS evaluations, d=2", "tab:olive", ":"),
)


def plot(result: quasi_newton.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Steps to error 1e-3 against κ (log-log), and GD's and L-BFGS's 2-D paths."""
    out_dir = _plotting.output_dir(out_dir)
    plt = _plotting.pyplot()
    fig, (ax, ax_path) = plt.subplots(1, 2, figsize=(13, 6.4))
    _steps_against_kappa(ax, result)
    _paths(ax_path, result)
    return [_plotting.save(fig, out_dir / "quasi_newton.png")]


def _steps_against_kappa(ax, result: quasi_newton.Result) -> None:
    """Median over seeds of each curve; every seed as a faint dot."""
    for method, dim, what, label, color, style in CURVES:
        table = result.steps if what == "steps" else result.evaluations
        if dim not in table.get(method, {}):
            continue
        k = np.asarray(quasi_newton._kappas_of(method, result.kappas))
        rows = np.asarray(table[method][dim])
        ax.loglog(
            np.tile(k, len(rows)), rows.ravel(), ".", color=color, alpha=0.3, ms=4
        )
        slope = np.median(result.slopes[method][dim]) if what == "steps" else None
        suffix = f": slope {slope:.2f}" if slope is not None else ""
        ax.loglog(
            k, np.median(rows, axis=0), style, color=color, ms=4, label=label + suffix
        )
    ax.set_xlabel("condition number κ")
    ax.set_ylabel("steps (or evaluations) until error < 1e-3")
    ax.set_title("Cost against κ (median over seeds; dots: each seed)")
    _legend_below(ax, ncol=2)


def _paths(ax, result: quasi_newton.Result) -> None:
    """GD's zig-zag and L-BFGS's few steps on the κ = 100 contours."""
    lam = result.example_eigenvalues
    gd = result.example_paths["GD"][: quasi_newton.PATH_STEPS + 1]
    lbfgs = result.example_paths["L-BFGS"]
    limit = 1.15 * max(np.abs(gd[:, 1]).max(), np.abs(lbfgs[:, 1]).max())
    xs = np.linspace(-1.3, 0.3, 200)
    ys = np.linspace(-limit, limit, 200)
    gx, gy = np.meshgrid(xs, ys)
    f = 0.5 * (lam[0] * gx**2 + lam[1] * gy**2)
    _plotting.loss_contours(ax, gx, gy, f, _plotting.nice_levels(1e-3, f.max()))
    ax.plot(
        gd[:, 0],
        gd[:, 1],
        "-o",
        ms=2.5,
        lw=1.2,
        color="tab:blue",
        zorder=3,
        label=f"GD, lr 2/(L+μ): first {len(gd) - 1} steps",
    )
    ax.plot(
        lbfgs[:, 0],
        lbfgs[:, 1],
        "-s",
        ms=5,
        lw=2,
        color="tab:green",
        zorder=4,
        label=f"L-BFGS: all {len(lbfgs) - 1} steps to error < 1e-3",
    )
    ax.plot([0], [0], "k*", ms=11, label="minimum", zorder=5)
    ax.set_xlabel(f"x₁ (shallow direction, λ = {lam[0]:g})")
    ax.set_ylabel(f"x₂ (steep direction, λ = {lam[1]:g})")
    ax.set_title(
        f"2-D ravine, κ = {quasi_newton.PATH_KAPPA:g}: GD zig-zags, L-BFGS does not"
    )
    _legend_below(ax, ncol=1)


def _legend_below(ax, ncol: int) -> None:
    """The legend under the axes, where it covers no curve."""
    ax.legend(fontsize=8, ncol=ncol, loc="upper center", bbox_to_anchor=(0.5, -0.13))
