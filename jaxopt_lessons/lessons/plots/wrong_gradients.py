"""Plots of the wrong-gradients claim: bugs against every optimizer, the
gradient check, a linear model on circles, a mis-scaled loss."""

from __future__ import annotations

import pathlib

import numpy as np

from jaxopt_lessons.lessons import _plotting, wrong_gradients


def plot(result: wrong_gradients.Result, out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Grouped bars (bugs, circles), gradient-check errors, mis-scaled loss curves."""
    out_dir = _plotting.output_dir(out_dir)
    colors = _plotting.colors(wrong_gradients.OPTIMIZERS)
    return [
        _bugs(result, colors, out_dir / "wrong_gradients_bugs.png"),
        _model_and_scale(
            result, colors, out_dir / "wrong_gradients_model_and_scale.png"
        ),
    ]


def _bugs(
    result: wrong_gradients.Result, colors: dict, path: pathlib.Path
) -> pathlib.Path:
    """Best accuracy per variant and optimizer, and the gradient check."""
    fig, (ax, ax2) = _plotting.pyplot().subplots(
        1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [3, 2]}
    )
    x = np.arange(len(wrong_gradients.VARIANTS))
    names = list(result.best_acc["correct"])
    width = 0.8 / len(names)
    for i, o in enumerate(names):
        values = [np.median(result.best_acc[v][o]) for v in wrong_gradients.VARIANTS]
        offset = (i - (len(names) - 1) / 2) * width
        ax.bar(x + offset, values, width, color=colors[o], label=o)
    ax.axhline(0.1, color="k", ls=":", lw=1, label="chance (10 classes)")
    ax.set_xticks(x, [v.replace(" ", "\n", 1) for v in wrong_gradients.VARIANTS])
    ax.set_ylim(0, 1.25)
    ax.set_ylabel(f"best test accuracy over {len(result.digits_lrs)} learning rates")
    ax.set_title("Digits MLP with a hand-written backward pass")
    ax.legend(fontsize=8, loc="upper center", ncol=3)
    errors = [
        np.median(result.gradcheck_rel_error[v]) for v in wrong_gradients.VARIANTS
    ]
    ax2.bar(x, errors, color=["tab:green", "tab:red", "tab:red", "tab:orange"])
    for xi, e in zip(x, errors, strict=True):
        ax2.text(xi, e * 1.3, f"{e:.2g}", ha="center", fontsize=9)
    ax2.set_yscale("log")
    ax2.set_ylim(1e-8, 20)
    ax2.set_xticks(x, [v.replace(" ", "\n", 1) for v in wrong_gradients.VARIANTS])
    ax2.set_ylabel("gradient check ‖g − jax.grad‖ / ‖jax.grad‖ (log)")
    ax2.set_title("Only the gradient check sees the silent bug")
    return _plotting.save(fig, path)


def _model_and_scale(
    result: wrong_gradients.Result, colors: dict, path: pathlib.Path
) -> pathlib.Path:
    """Circles, linear against ReLU; the loss curves with the loss scaled by SCALE."""
    fig, (ax, ax2) = _plotting.pyplot().subplots(1, 2, figsize=(13, 4.6))
    _draw_circles(ax, result, colors)
    names = list(result.best_acc["correct"])
    for o in [n for n in ("SGD", "momentum 0.9", "Adam", "RMSprop") if n in names]:
        for kind, ls in (("unscaled", "-"), ("scaled", "--")):
            curve = np.asarray(result.curves[f"{o} {kind}"])
            smooth = np.convolve(curve, np.ones(10) / 10, mode="valid")
            ax2.semilogy(
                smooth,
                ls=ls,
                color=colors[o],
                label=f"{o} (lr {wrong_gradients.SCALE_LRS[o]:g}), {kind}",
            )
    ax2.set_xlabel("step")
    ax2.set_ylabel("true training loss, minibatch, 10-step mean (log)")
    ax2.set_title(
        f"Loss × {wrong_gradients.SCALE:g}: the SGD steps shrink 1000×, Adam does not notice\n"
        "(Adam's dashed curve lies on its solid one)",
        fontsize=10,
    )
    ax2.legend(fontsize=7)
    return _plotting.save(fig, path)


def _draw_circles(ax, result: wrong_gradients.Result, colors: dict) -> None:
    """Best accuracy on make_circles, hatched without the nonlinearity."""
    from matplotlib.patches import Patch

    circle_names = list(result.circles_best_acc["ReLU"])
    x = np.arange(len(circle_names))
    handles = []
    for k, (kind, hatch) in enumerate((("linear", "//"), ("ReLU", ""))):
        values = [np.median(result.circles_best_acc[kind][o]) for o in circle_names]
        ax.bar(
            x + (k - 0.5) * 0.38,
            values,
            0.38,
            color=[colors[o] for o in circle_names],
            hatch=hatch,
            edgecolor="k",
        )
        label = "no nonlinearity (linear net)" if kind == "linear" else "ReLU net"
        handles.append(
            Patch(facecolor="white", edgecolor="k", hatch=hatch, label=label)
        )
    handles.append(ax.axhline(0.5, color="k", ls=":", lw=1, label="chance"))
    ax.set_xticks(x, circle_names)
    ax.set_ylim(0, 1.2)
    ax.set_ylabel("best test accuracy over the learning rates")
    ax.set_title("make_circles, 2-32-2 network")
    ax.legend(handles=handles, fontsize=8, loc="upper center", ncol=3)
