"""Plot of the Muon claim: training loss per step, singular values of an update."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, muon

SHOWN_RECORD = 1  # index in RECORD_STEPS of the spectra drawn (step 100)


def plot(result: muon.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Whole training loss against step at each method's best lrs; the sorted
    singular values of the hidden matrix's update, divided by their median."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(muon.METHODS)
    fig, (ax, ax2) = _plotting.pyplot().subplots(1, 2, figsize=(12.5, 4.8))
    _draw_curves(ax, result, colors)
    _draw_spectra(ax2, result, colors)
    return [_plotting.save(fig, out_dir / "muon.png")]


def _draw_curves(ax, result: muon.Result, colors: dict) -> None:
    """First seed: solid at the lr with the lowest final loss, dashed at the
    lr that reaches the target first (when it is another lr); log scale."""
    steps = np.arange(muon.STEPS // muon.EVERY + 1) * muon.EVERY
    for name in muon.METHODS:
        best, fastest = result.best_lr[name][0], result.fastest_lr[name][0]
        ax.semilogy(
            steps,
            result.curve_at_best[name][0],
            color=colors[name],
            lw=1.8,
            label=f"{name}, lr {best:.2g} (lowest final loss)",
        )
        if fastest != best:
            ax.semilogy(
                steps,
                result.curve_at_fastest[name][0],
                color=colors[name],
                lw=1.2,
                ls="--",
                label=f"{name}, lr {fastest:.2g} (first to the target)",
            )
    ax.axhline(
        muon.TARGET_LOSS, color="k", ls=":", lw=1, label=f"target {muon.TARGET_LOSS}"
    )
    ax.set_title(
        f"Digits MLP {'-'.join(map(str, muon.SIZES))}, batch {muon.BATCH}, seed "
        f"{result.seeds[0]}: each method at its best lrs",
        fontsize=10,
    )
    ax.set_xlabel("step")
    ax.set_ylabel("loss on the whole training set (log scale)")
    ax.legend(fontsize=7)


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
    ax.set_ylim(1e-4, 3e3)  # below: exact zeros (rows of dead ReLU units)
    ax.set_title(
        f"Singular values of the hidden 128x128 matrix's update at step {step}\n"
        "(divided by their median; flat = every direction moves equally;\n"
        "the drop near 120: rows of dead ReLU units, which get no gradient)",
        fontsize=10,
    )
    ax.set_xlabel("index (largest first)")
    ax.set_ylabel("σ_i / median σ (log scale)")
    ax.legend(fontsize=8)
