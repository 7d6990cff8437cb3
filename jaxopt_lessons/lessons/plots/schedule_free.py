"""Plot of the schedule-free claim: loss curves, and the loss at each stopping time."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting
from jaxopt_lessons.lessons import schedule_free as sf

SF = "schedule-free AdamW at x (one run)"
SF_Y = "schedule-free AdamW at y (the params it steps)"
TUNED = "AdamW + cosine made for that stop"
FOR_T = f"AdamW + cosine made for T = {sf.STEPS}, stopped early"


def plot(result: sf.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Training loss against step (first seed), and loss against stopping time."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors([SF, TUNED, FOR_T])
    fig, (ax, ax2) = _plotting.pyplot().subplots(1, 2, figsize=(13, 5))
    _draw_curves(ax, result, colors)
    _draw_anytime(ax2, result, colors)
    return [_plotting.save(fig, out_dir / "schedule_free.png")]


def _draw_curves(ax, result: sf.Result, colors: dict) -> None:
    """Schedule-free at x and y, and each horizon's tuned cosine run, seed 0."""
    s = result.per_seed[0]
    steps = np.asarray(sf.EVAL_STEPS)
    ax.semilogy(steps, s["sf_curve"], color=colors[SF], lw=2.2, label=SF)
    ax.semilogy(steps, s["sf_curve_at_y"], color=colors[SF], lw=1, ls=":", label=SF_Y)
    shades = np.linspace(0.45, 1.0, len(sf.HORIZONS))
    for h, curve, shade in zip(sf.HORIZONS, s["cosine_curves"], shades, strict=True):
        ax.semilogy(
            steps[: len(curve)],
            curve,
            color=colors[TUNED],
            alpha=shade,
            lw=1.4,
            ls="--",
            marker="o",
            markevery=[len(curve) - 1],
            label=f"AdamW + cosine for {h} steps",
        )
    ax.set_xlabel("step (minibatch of 64)")
    ax.set_ylabel("cross-entropy on the whole training set (log scale)")
    ax.set_title(
        f"Digits MLP 64-64-10, seed {result.seeds[0]}: each run at its best lr\n"
        f"(schedule-free lr {s['sf_lr']:.3g}; cosine lrs {_lrs(s['cosine_lr'])}; "
        f"warmup {sf.WARMUP} steps for all)",
        fontsize=10,
    )
    ax.legend(fontsize=7.5)


def _lrs(values) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


def _draw_anytime(ax, result: sf.Result, colors: dict) -> None:
    """Loss at each stopping time: median over seeds, bars min…max."""
    h = np.asarray(sf.HORIZONS)
    rows = (
        (SF, "sf_loss", 0.94),
        (TUNED, "tuned_cosine_loss", 1.0),
        (FOR_T, "cosine_for_T_loss", 1.06),
    )
    for name, key, shift in rows:
        v = np.asarray([s[key] for s in result.per_seed])
        med = np.median(v, axis=0)
        err = np.vstack([med - v.min(0), v.max(0) - med])
        ax.errorbar(
            h * shift,
            med,
            yerr=err,
            color=colors[name],
            marker="o",
            ms=5,
            capsize=3,
            label=name,
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(h, [f"T/{sf.STEPS // v}" if v < sf.STEPS else "T" for v in h])
    ax.set_xlabel(f"stopping step (T = {sf.STEPS})")
    ax.set_ylabel("training loss when stopped (log scale)")
    n = len(result.seeds)
    band = f"median of {n} seeds, bars min…max" if n > 1 else f"seed {result.seeds[0]}"
    ax.set_title(
        f"Loss at each stopping time ({band})\n"
        "cosine tuned per stop: lr and schedule chosen knowing the stop",
        fontsize=10,
    )
    ax.legend(fontsize=7.5)
