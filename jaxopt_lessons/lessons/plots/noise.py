"""Plots of the noise claim: floors against the exact theory, early directions."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, noise


def plot(result: noise.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Noise floors (log y) with exact values; the direction of the first steps."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.pyplot().get_cmap("tab10").colors
    return [
        _floors(result, colors, out_dir / "noise_floors.png"),
        _direction(result, colors, out_dir / "noise_direction.png"),
    ]


def _floors(result: noise.Result, colors, path: pathlib.Path) -> pathlib.Path:
    """Left: the noisy quadratic at matched η_eff; right: diabetes, batch 8."""
    plt = _plotting.pyplot()
    fig, (ax, ax_ls) = plt.subplots(1, 2, figsize=(12, 4.6))
    _draw_quadratic(ax, result, colors)
    c = result.curves
    for i, eta in enumerate(result.ls_etas):
        hb_label = f"heavy ball, η_eff={eta:g}"
        _sgd_and_hb(
            ax_ls, c["diabetes_sgd"][i], c["diabetes_hb"][i], colors[i], eta, hb_label
        )
    ax_ls.set_xlabel("step")
    ax_ls.set_ylabel("excess loss f(w) − f(w*)")
    ax_ls.set_title(f"Diabetes least squares, batch {noise.BATCH}")
    ax_ls.legend(fontsize=8)
    return _plotting.save(fig, path)


def _draw_quadratic(ax, result: noise.Result, colors) -> None:
    """Mean loss curves, the exact floors dotted, each η's HB/SGD ratio on the right."""
    c = result.curves
    for i, eta in enumerate(result.etas):
        hb_label = f"heavy ball β={noise.BETA}, η_eff={eta:g}"
        _sgd_and_hb(
            ax, c["quadratic_sgd"][i], c["quadratic_hb"][i], colors[i], eta, hb_label
        )
        ax.axhline(c["quadratic_exact_sgd"][i], color=colors[i], ls=":", lw=1.2)
        ax.axhline(c["quadratic_exact_hb"][i], color=colors[i], ls=":", lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("E f(x) (mean over noise streams)")
    for i, eta in enumerate(result.etas):
        measured = np.median(result.floor_hb[i] / result.floor_sgd[i])
        exact = np.median(result.exact_hb[i] / result.exact_sgd[i])
        ax.annotate(
            f"η={eta:g}: HB/SGD {measured:.2f} (exact {exact:.2f})",
            xy=(1.0, c["quadratic_exact_sgd"][i]),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
            color=colors[i],
        )
    ax.set_title(
        f"Noisy quadratic, matched η_eff (SGD's edge: η = {result.sgd_edge:g})\n"
        "solid SGD, dashed heavy ball, dotted exact floors",
        fontsize=10,
    )
    ax.legend(fontsize=7, ncol=2)


def _sgd_and_hb(ax, sgd, hb, color, eta: float, hb_label: str) -> None:
    """SGD's curve solid, the heavy ball's dashed, in one colour (log y)."""
    ax.semilogy(sgd, color=color, lw=0.8, label=f"SGD, η={eta:g}")
    ax.semilogy(hb, color=color, lw=0.8, ls="--", label=hb_label)


def _direction(result: noise.Result, colors, path: pathlib.Path) -> pathlib.Path:
    """cos(update, −full-batch gradient) per step on diabetes."""
    plt = _plotting.pyplot()
    c = result.curves
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, eta in enumerate(result.ls_etas):
        ax.plot(c["diabetes_cos_sgd"][i], color=colors[i], label=f"SGD, η={eta:g}")
        ax.plot(
            c["diabetes_cos_hb"][i],
            color=colors[i],
            ls="--",
            label=f"heavy ball, η_eff={eta:g}",
        )
    ax.axvspan(
        0, noise.EARLY, color="0.9", label=f"first {noise.EARLY} steps (measured)"
    )
    ax.set_xlabel("step")
    ax.set_ylabel("cos(update, −full-batch gradient)")
    ax.set_ylim(-0.5, 1.05)
    ax.set_title("Direction of the step: momentum averages out minibatch noise")
    ax.legend(fontsize=8)
    return _plotting.save(fig, path)
