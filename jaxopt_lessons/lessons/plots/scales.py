"""Plots of the scales claim: the 1000:1 bowl, effective learning rates,
rotation and raw features."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, scales


def plot(result: scales.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Bowl paths, per-coordinate effective lrs, axis vs rotated, raw vs standardised."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(scales.OPTIMIZERS)
    return [
        _bowl(result, colors, out_dir / "scales_bowl.png"),
        _effective_lr(result, colors, out_dir / "scales_effective_lr.png"),
        _rotation_and_features(
            result, colors, out_dir / "scales_rotation_and_features.png"
        ),
    ]


def _bowl(result: scales.Result, colors: dict, path: pathlib.Path) -> pathlib.Path:
    """The 1000:1 bowl: paths on the contours and the shallow coordinate per step."""
    d = result.plot_data
    fig, (ax, ax2) = _plotting.pyplot().subplots(1, 2, figsize=(12, 4.6))
    gx, gy = np.meshgrid(np.linspace(-1.1, 1.1, 200), np.linspace(-0.1, 1.1, 200))
    f = 0.5 * (1000 * gx**2 + gy**2)
    # Near-vertical lines x₁ = ±√((2f − x₂²)/1000); labels along the bottom
    # strip x₂ = −0.05, right of the paths' column, where no path runs.
    levels = _plotting.nice_levels(0.05, f.max())
    label_y = -0.05
    label_at = {
        level: (np.sqrt((2 * level - label_y**2) / 1000), label_y)
        for level in levels
        if 0.12 < np.sqrt((2 * level - label_y**2) / 1000) < 1.05
    }
    _plotting.loss_contours(ax, gx, gy, f, levels, label_at=label_at)
    for name, p in d["bowl_paths"].items():
        ax.plot(
            p[:, 0], p[:, 1], "-o", ms=2, lw=1, color=colors[name], label=name, zorder=3
        )
    ax.set_xlim(-0.6, 1.1)
    ax.set_xlabel("x₁ (steep: gradient 1000 x₁)")
    ax.set_ylabel("x₂ (shallow: gradient x₂)")
    ax.set_title(f"Bowl ½(1000 x₁² + x₂²), {scales.BOWL_STEPS} steps")
    ax.legend(fontsize=8, loc="upper left")
    for name, p in d["bowl_paths"].items():
        ax2.semilogy(np.abs(p[:, 1]) + 1e-12, color=colors[name], label=name)
    ax2.set_ylim(1e-4, 2)
    ax2.set_xlabel("step")
    ax2.set_ylabel("|x₂| (shallow coordinate, log)")
    ax2.set_title("Progress along the shallow direction")
    ax2.legend(fontsize=8)
    return _plotting.save(fig, path)


def _effective_lr(
    result: scales.Result, colors: dict, path: pathlib.Path
) -> pathlib.Path:
    """Effective per-coordinate learning rates |u_i| / |g_i|: bowl and raw features."""
    d = result.plot_data
    fig, (ax, ax2) = _plotting.pyplot().subplots(
        1, 2, figsize=(12, 4.6), width_ratios=[1, 2]
    )
    width = 0.2
    for i, name in enumerate(scales.OPTIMIZERS):
        ax.bar(
            np.arange(2) + (i - 1.5) * width,
            d["bowl_effective_lr"][name],
            width,
            color=colors[name],
            label=name,
        )
    ax.set_xticks([0, 1], ["x₁ (steep)", "x₂ (shallow)"])
    ax.set_yscale("log")
    ax.set_ylabel("effective learning rate |uᵢ| / |gᵢ| (step 10)")
    ax.set_title("1000:1 bowl")
    ax.legend(fontsize=8)
    order = np.argsort(d["feature_scale"])
    for name in scales.OPTIMIZERS:
        eff = d["logreg_effective_lr"][("raw", name)][:-1][order]
        ax2.semilogy(
            np.arange(eff.size), eff, "o-", ms=3, color=colors[name], label=name
        )
    lo, hi = d["feature_scale"].min(), d["feature_scale"].max()
    ax2.set_xlabel(f"feature, sorted by mean |value| ({lo:.2g} … {hi:.3g})")
    ax2.set_ylabel("effective learning rate |uᵢ| / |gᵢ| (last step)")
    ax2.set_title("Raw breast_cancer, each optimizer at its best lr")
    ax2.legend(fontsize=8)
    return _plotting.save(fig, path)


def _rotation_and_features(
    result: scales.Result, colors: dict, path: pathlib.Path
) -> pathlib.Path:
    """Axis-aligned against rotated, and raw against standardised features."""
    fig, (ax, ax2) = _plotting.pyplot().subplots(1, 2, figsize=(12, 4.6))
    x = np.arange(len(scales.OPTIMIZERS))
    for k, (kind, hatch) in enumerate((("axis", ""), ("rotated", "//"))):
        values = [np.median(result.nd_steps[kind][n]) for n in scales.OPTIMIZERS]
        ax.bar(
            x + (k - 0.5) * 0.38,
            values,
            0.38,
            hatch=hatch,
            color=[colors[n] for n in scales.OPTIMIZERS],
            edgecolor="k",
            label="axis-aligned" if kind == "axis" else "rotated",
        )
    ax.set_xticks(x, scales.OPTIMIZERS)
    ax.set_yscale("log")
    ax.set_ylabel(f"steps until ‖x‖/‖x₀‖ stays < {scales.ND_TOLERANCE:g} (best lr)")
    ax.set_title(f"{scales.ND_DIM}-D bowl, scales 1 … 1000 (median over seeds)")
    ax.legend()
    curves = result.plot_data["logreg_curves"]
    for name in scales.OPTIMIZERS:
        ax2.semilogy(curves[("raw", name)], color=colors[name], label=f"{name}, raw")
        ax2.semilogy(
            curves[("standardized", name)],
            color=colors[name],
            ls="--",
            label=f"{name}, standardised",
        )
    ax2.set_xlabel("step")
    ax2.set_ylabel("training loss (log)")
    ax2.set_title("Breast cancer logistic regression, best lr each")
    ax2.legend(fontsize=7, ncol=2)
    return _plotting.save(fig, path)
