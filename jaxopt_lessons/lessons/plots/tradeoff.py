"""Plot of the trade-off claim: implicit bias, and paired digits accuracy."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, tradeoff


def plot(result: tradeoff.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Distance to the min-norm solution against step; paired digits accuracy."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(tradeoff.LS_OPTIMIZERS)
    fig, (ax, ax2, ax3) = _plotting.pyplot().subplots(
        1, 3, figsize=(15, 4.6), gridspec_kw={"width_ratios": [3, 2, 2]}
    )
    _draw_distance(ax, result, colors)
    _draw_test_error(ax2, result, colors)
    _draw_digits(ax3, result)
    return [_plotting.save(fig, out_dir / "tradeoff.png")]


def _draw_distance(ax, result: tradeoff.Result, colors: dict) -> None:
    """‖w − w_mn‖ / ‖w_mn‖ against the step, problem 0, log-log."""
    steps = tradeoff.LS_RECORD_EVERY * np.arange(1, len(result.ls_curves["GD"]) + 1)
    for o, lr in zip(tradeoff.LS_OPTIMIZERS, tradeoff.LS_LRS, strict=True):
        ax.loglog(steps, result.ls_curves[o], color=colors[o], label=f"{o} (lr {lr:g})")
    ax.text(steps[-1], 3e-7, "float32 rounding floor", ha="right", va="top", fontsize=8)
    ax.set_ylim(1e-7, 3)
    ax.set_xlabel("step (log)")
    ax.set_ylabel("‖w − w_mn‖ / ‖w_mn‖ (log)")
    ax.set_title(
        f"Least squares, n={tradeoff.LS_N} < d={tradeoff.LS_D}, from w = 0\n"
        "(RMSprop and Adam overlap, far from w_mn)",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="center left")


def _draw_test_error(ax, result: tradeoff.Result, colors: dict) -> None:
    """Adam's test MSE over GD's, one point per problem."""
    ratio = np.asarray(result.adam_over_gd_test_mse)
    ax.plot(np.arange(ratio.size), ratio, "o", color=colors["Adam"])
    ax.axhline(1, color="k", lw=1, ls="--", label="same test error as GD")
    ax.set_xticks(np.arange(ratio.size), [str(s) for s in result.ls_seeds])
    ax.set_xlabel("problem (seed)")
    ax.set_ylabel("test MSE, Adam / GD")
    ax.set_title("Adam's interpolant against the min-norm one")
    ax.legend(fontsize=8)


def _draw_digits(ax, result: tradeoff.Result) -> None:
    """Tuned momentum against tuned Adam on digits, one line per seed."""
    m = np.asarray(result.digits_test_acc["momentum 0.9"])
    a = np.asarray(result.digits_test_acc["Adam"])
    for k in range(m.size):
        ax.plot([0, 1], [m[k], a[k]], "-o", color="0.6", ms=4)
    ax.plot([0, 1], [m.mean(), a.mean()], "-o", color="k", lw=2.5, label="mean")
    mean, se = result.difference_summary()
    ax.set_xticks([0, 1], ["SGD+momentum 0.9", "Adam"])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel("test accuracy (lr tuned on validation)")
    ax.set_title(
        f"Digits, {tradeoff.N_TRAIN} training samples, one line per seed\n"
        f"momentum − Adam = {mean:+.3f} ± {se:.3f} (s.e.)",
        fontsize=10,
    )
    ax.legend(fontsize=8)
