"""Plot of the learning-rate sensitivity claim: accuracy against lr, good ranges."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, lr_sensitivity


def plot(result: lr_sensitivity.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Test accuracy against log learning rate, and each optimizer's good range."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(lr_sensitivity.OPTIMIZERS)
    fig, (ax, ax2) = _plotting.pyplot().subplots(
        1, 2, figsize=(12.5, 4.8), gridspec_kw={"width_ratios": [3, 2]}
    )
    _draw_accuracy(ax, result, colors)
    _draw_ranges(ax2, result, colors)
    return [_plotting.save(fig, out_dir / "lr_sensitivity.png")]


def _draw_accuracy(ax, result: lr_sensitivity.Result, colors: dict) -> None:
    """Median accuracy per lr (band: min…max over seeds), SGD's and Adam's
    good ranges shaded."""
    lrs = np.asarray(result.learning_rates)
    for name in ("SGD", "Adam"):
        ax.axvspan(
            np.nanmedian(result.good_lo[name]) / 10 ** (lr_sensitivity.SPACING / 2),
            np.nanmedian(result.good_hi[name]) * 10 ** (lr_sensitivity.SPACING / 2),
            color=colors[name],
            alpha=0.08,
        )
    for name in result.accuracy:
        acc = np.asarray(result.accuracy[name])
        ax.semilogx(lrs, np.median(acc, 0), "o-", ms=3, color=colors[name], label=name)
        if acc.shape[0] > 1:
            ax.fill_between(lrs, acc.min(0), acc.max(0), color=colors[name], alpha=0.15)
    ax.axhline(
        lr_sensitivity.TARGET,
        color="k",
        ls="--",
        lw=1,
        label=f"target {lr_sensitivity.TARGET}",
    )
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("test accuracy after 300 steps")
    n = len(result.seeds)
    band = f", band = min…max over {n} seeds" if n > 1 else ""
    ax.set_title(
        f"Digits MLP 64-64-10: accuracy against learning rate{band}\n"
        "(shaded: the good ranges of SGD and Adam)",
        fontsize=10,
    )
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower left")


def _draw_ranges(ax, result: lr_sensitivity.Result, colors: dict) -> None:
    """One bar per optimizer over its good range (median ends), its width written."""
    lrs = np.asarray(result.learning_rates)
    names = list(result.accuracy)
    half = 10 ** (lr_sensitivity.SPACING / 2)
    for k, name in enumerate(names):
        lo = np.nanmedian(result.good_lo[name])
        hi = np.nanmedian(result.good_hi[name])
        ax.barh(
            k,
            np.log10(hi * half) - np.log10(lo / half),
            left=np.log10(lo / half),
            color=colors[name],
            alpha=0.6,
        )
        ax.text(
            np.log10(hi * half) + 0.1,
            k,
            f"{np.median(result.width[name]):.2f} dec",
            va="center",
            fontsize=9,
        )
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(np.log10(lrs[0]) - 0.3, np.log10(lrs[-1]) + 1.3)
    ax.set_xlabel("log10 learning rate")
    ax.set_title(f"Good range (test acc >= {lr_sensitivity.TARGET}), median over seeds")
    ax.grid(axis="x", alpha=0.3)
