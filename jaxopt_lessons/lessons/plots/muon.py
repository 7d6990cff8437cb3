"""Plot of the Muon claim: training loss per step, singular values of an update."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, muon

SHOWN_RECORD = 1  # index in RECORD_STEPS of the spectra drawn (step 100)


def plot(result: muon.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Whole training loss against step at each method's best lr; the sorted
    singular values of the hidden matrix's update, divided by their median."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(muon.METHODS)
    fig, (ax, ax2) = _plotting.pyplot().subplots(1, 2, figsize=(12.5, 4.8))
    _draw_curves(ax, result, colors)
    _draw_spectra(ax2, result, colors)
    return [_plotting.save(fig, out_dir / "muon.png")]


def _draw_curves(ax, result: muon.Result, colors: dict) -> None:
    """One line per method and seed (the first seed labelled), log scale."""
    steps = np.arange(muon.STEPS // muon.EVERY + 1) * muon.EVERY
    for name in muon.METHODS:
        for i, curve in enumerate(result.curve_at_best[name]):
            lr = result.best_lr[name][i]
            ax.semilogy(
                steps,
                curve,
                color=colors[name],
                lw=1.6 if i == 0 else 0.8,
                alpha=1.0 if i == 0 else 0.5,
                label=f"{name} (lr {lr:.2g})" if i == 0 else None,
            )
    ax.axhline(
        muon.TARGET_LOSS, color="k", ls="--", lw=1, label=f"target {muon.TARGET_LOSS}"
    )
    n = len(result.seeds)
    extra = f"; thin lines: seeds 2-{n}" if n > 1 else ""
    ax.set_title(
        f"Digits MLP {'-'.join(map(str, muon.SIZES))}, batch {muon.BATCH}: each "
        f"method at its best lr{extra}",
        fontsize=10,
    )
    ax.set_xlabel("step")
    ax.set_ylabel("loss on the whole training set (log scale)")
    ax.legend(fontsize=8)


def _draw_spectra(ax, result: muon.Result, colors: dict) -> None:
    """Singular values of the 128x128 hidden update (first seed), largest first."""
    step = muon.RECORD_STEPS[SHOWN_RECORD]
    for name in muon.METHODS:
        s = np.asarray(result.spectra[name][0][SHOWN_RECORD])
        ratio = result.ratio[name][0][SHOWN_RECORD]
        ax.semilogy(
            np.arange(1, s.size + 1),
            s / np.median(s),
            color=colors[name],
            label=f"{name}: σ_max/σ_median = {ratio:.1f}",
        )
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_title(
        f"Singular values of the hidden 128x128 matrix's update at step {step}\n"
        "(divided by their median; flat = every direction moves equally)",
        fontsize=10,
    )
    ax.set_xlabel("index (largest first)")
    ax.set_ylabel("σ_i / median σ (log scale)")
    ax.legend(fontsize=8)
