"""Plot of the learning-rate-free claim: accuracy against the multiplier of
each method's default, and the good ranges."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, lr_free, lr_sensitivity

TARGET = lr_sensitivity.TARGET
HALF = 10 ** (lr_sensitivity.SPACING / 2)


def _grid(result: lr_free.Result, name: str) -> np.ndarray:
    """The x values of `name`: Adam's lr over its default 1e-3, or the multiplier."""
    if name == "Adam":
        return np.asarray(result.learning_rates) / lr_free.ADAM_DEFAULT_LR
    return np.asarray(result.multipliers)


def plot(result: lr_free.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Test accuracy against the multiplier of the default (log scale), and
    each method's good range with the default at 1."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(("Adam", *lr_free.METHODS))
    fig, (ax, ax2) = _plotting.pyplot().subplots(
        1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]}
    )
    _draw_accuracy(ax, result, colors)
    _draw_ranges(ax2, result, colors)
    return [_plotting.save(fig, out_dir / "lr_free.png")]


def _draw_accuracy(ax, result: lr_free.Result, colors: dict) -> None:
    """Median accuracy per grid point (band: min…max over seeds); a star at
    each default."""
    for name, rows in result.accuracy.items():
        x, acc = _grid(result, name), np.asarray(rows)
        label = "Adam (x = lr / 1e-3)" if name == "Adam" else name
        ax.semilogx(x, np.median(acc, 0), "o-", ms=3, color=colors[name], label=label)
        if acc.shape[0] > 1:
            ax.fill_between(x, acc.min(0), acc.max(0), color=colors[name], alpha=0.12)
        ax.plot(
            1.0,
            np.median(result.default_acc[name]),
            "*",
            ms=13,
            color=colors[name],
            mec="k",
            mew=0.6,
            zorder=4,
            label="_default",
        )
    ax.axhline(TARGET, color="k", ls="--", lw=1, label=f"target {TARGET}")
    ax.text(
        1.1e-3,
        0.22,
        "no learning: the\nestimate never grew",
        fontsize=7.5,
        color="0.3",
    )
    ax.axvline(1.0, color="0.5", ls=":", lw=1)
    ax.set_xlabel(
        "multiplier of the default (LR-free: learning_rate; Adam: lr / 1e-3), log"
    )
    ax.set_ylabel(f"test accuracy after {lr_sensitivity.STEPS} steps")
    n = len(result.seeds)
    band = f"; band = min…max over {n} seeds" if n > 1 else ""
    ax.set_title(
        "Digits MLP 64-64-10: accuracy against the multiplier of each default\n"
        f"(stars: the defaults, multiplier 1.0 and Adam at 1e-3{band})",
        fontsize=10,
    )
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="center left")


def _draw_ranges(ax, result: lr_free.Result, colors: dict) -> None:
    """One bar per method over its good range (median ends, in decades from
    its default), its width written; diamonds on Adam's row: the Adam lr that
    Prodigy and D-Adaptation ended with at their defaults."""
    names = list(result.accuracy)
    for k, name in enumerate(names):
        scale = lr_free.ADAM_DEFAULT_LR if name == "Adam" else 1.0
        lo = np.log10(np.nanmedian(result.good_lo[name]) / scale / HALF)
        hi = np.log10(np.nanmedian(result.good_hi[name]) / scale * HALF)
        if np.isfinite(lo) and np.isfinite(hi):
            ax.barh(k, hi - lo, left=lo, color=colors[name], alpha=0.6)
        ax.text(
            (hi if np.isfinite(hi) else 0.0) + 0.15,
            k,
            f"{np.median(result.width[name]):.2f} dec",
            va="center",
            fontsize=9,
        )
    for name in ("Prodigy", "D-Adapt AdamW"):
        if name in result.step:
            steps = np.asarray(result.step[name])[:, lr_free.DEFAULT]
            x = np.log10(np.median(steps) / lr_free.ADAM_DEFAULT_LR)
            ax.plot(x, 0, "D", ms=7, color=colors[name], mec="k", mew=0.6, zorder=4)
    ax.axvline(0.0, color="0.5", ls=":", lw=1)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlim(-3.6, 5.0)
    ax.set_xlabel(
        "log10 multiplier of the default (0: the default)\n"
        "diamonds on Adam's row: the Adam lr η·d (÷ 1e-3) that Prodigy\n"
        "and D-Adapt (same colours) end with at their defaults"
    )
    ax.set_title(f"Good range (test acc >= {TARGET}), median over seeds", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
