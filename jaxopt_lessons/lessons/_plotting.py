"""Shared plotting helpers: legends that cover no data, one way to save.

Every lesson's `plot` ends with `save(fig, path)`: lay the figure out, move
any legend that hides a curve, save the PNG, close the figure. A legend hides
a curve when its box, where the curve is visible (inside the curve's axes),
meets a line segment, a contour line, a scatter marker, a bar or a text label
of any axes of the figure. `save` first tries the other standard places
inside the axes and, when each of them covers something, puts the legend
outside, right of the axes. `covered(fig)` lists what each legend covers; the
tests call it on every figure the lessons write.

Shaded bands (``fill_between``, ``axvspan``) are backgrounds, not curves: a
legend may sit on them.

`pyplot()`, `output_dir(out_dir)` and `colors(names)` are the few lines every
plot module starts with. matplotlib is imported lazily, inside the functions;
nothing here imports it at module level.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

# The places tried inside the axes, in order, before going outside.
_INSIDE = (
    "upper right",
    "upper left",
    "lower left",
    "lower right",
    "center right",
    "center left",
    "upper center",
    "lower center",
    "center",
)


def pyplot():
    """`matplotlib.pyplot`, on the Agg backend unless a backend was chosen."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def output_dir(out_dir: pathlib.Path | str) -> pathlib.Path:
    """`out_dir` as a Path, created (with its parents) if missing."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def colors(names) -> dict:
    """One tab10 colour per name, in order: the same name, the same colour."""
    return dict(zip(names, pyplot().get_cmap("tab10").colors, strict=False))


def _segments_hit(points: np.ndarray, box, pad: float, joined: bool) -> bool:
    """Whether a polyline (or, if not `joined`, its vertices) meets `box`.

    points: (n, 2) display coordinates; rows with NaN break the line. `pad`
    grows the box by a marker's radius. Liang-Barsky clipping of each segment.
    """
    if len(points) == 0:
        return False
    x0, y0, x1, y1 = box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad
    finite = np.all(np.isfinite(points), axis=1)
    p = points[finite]
    inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
    if inside.any():
        return True
    if not joined or len(points) < 2:
        return False
    a, b = points[:-1], points[1:]
    ok = np.all(np.isfinite(a), axis=1) & np.all(np.isfinite(b), axis=1)
    a, b = a[ok], b[ok]
    d = b - a
    t_low, t_high = np.zeros(len(a)), np.ones(len(a))
    for p_k, q_k in (
        (-d[:, 0], a[:, 0] - x0),
        (d[:, 0], x1 - a[:, 0]),
        (-d[:, 1], a[:, 1] - y0),
        (d[:, 1], y1 - a[:, 1]),
    ):
        parallel = p_k == 0
        t_low = np.where(parallel & (q_k < 0), np.inf, t_low)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = q_k / p_k
        t_low = np.where(~parallel & (p_k < 0), np.maximum(t_low, t), t_low)
        t_high = np.where(~parallel & (p_k > 0), np.minimum(t_high, t), t_high)
    return bool(np.any(t_low <= t_high))


def _boxes_meet(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _clip(box, ax):
    """`box` ∩ the axes' area (curves are clipped to it), or None."""
    from matplotlib.transforms import Bbox

    inter = Bbox.intersection(box, ax.bbox)
    return inter if inter is not None and inter.width > 0 and inter.height > 0 else None


def _covered_in(legend_box, ax, renderer, dpi: float) -> list[str]:
    """What of `ax` the legend box hides, one description per artist."""
    hits = []
    box = _clip(legend_box, ax)
    name = (ax.get_title() or "axes").split("\n")[0]
    if box is not None:
        hits += [f"{name}: {hit}" for hit in _lines_hit(ax, box, dpi)]
        hits += [f"{name}: {hit}" for hit in _collections_hit(ax, box, dpi)]
        hits += [f"{name}: {hit}" for hit in _bars_hit(ax, box, renderer)]
    for text in ax.texts:  # labels may sit outside the axes area
        if text.get_visible() and text.get_text().strip():
            if _boxes_meet(text.get_window_extent(renderer), legend_box):
                hits.append(f"{name}: text {text.get_text()!r}")
    return hits


def _lines_hit(ax, box, dpi: float) -> list[str]:
    """The visible lines of `ax` that cross `box` (markers count by their size)."""
    hits = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
        style = line.get_linestyle()
        joined = style not in ("None", "none", "", " ")
        pad = line.get_markersize() * dpi / 72 / 2 if line.get_marker() else 0.0
        if line.get_marker() in (None, "None", "none", "", " "):
            pad = 0.0
        if _segments_hit(xy, box, pad, joined):
            hits.append(f"line {line.get_label()!r}")
    return hits


def _collections_hit(ax, box, dpi: float) -> list[str]:
    """Contour lines, line collections and scatter markers of `ax` in `box`;
    filled contours are backgrounds and never count."""
    from matplotlib.collections import LineCollection, PathCollection
    from matplotlib.contour import ContourSet

    hits = []
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, ContourSet) and coll.filled:
            continue
        if isinstance(coll, ContourSet | LineCollection):
            transform = coll.get_transform()
            polygons = (
                poly
                for path in coll.get_paths()
                for poly in transform.transform_path(path).to_polygons(
                    closed_only=False
                )
            )
            if any(_segments_hit(np.asarray(p), box, 0.0, True) for p in polygons):
                hits.append("contour/line collection")
        elif isinstance(coll, PathCollection):
            offsets = coll.get_offset_transform().transform(coll.get_offsets())
            sizes = coll.get_sizes()
            pad = np.sqrt(sizes.max() if len(sizes) else 0.0) * dpi / 72 / 2
            if _segments_hit(np.asarray(offsets, float), box, pad, False):
                hits.append(f"markers {coll.get_label()!r}")
    return hits


def _bars_hit(ax, box, renderer) -> list[str]:
    """The bar containers of `ax` with a bar inside `box`."""
    from matplotlib.container import BarContainer

    hits = []
    for container in ax.containers:
        if isinstance(container, BarContainer):
            if any(
                _boxes_meet(bar.get_window_extent(renderer), box) for bar in container
            ):
                hits.append(f"bar {container.get_label()!r}")
    return hits


def _renderer(fig):
    """Lays `fig` out and returns its renderer (re-attaching an Agg canvas to
    a figure that `plt.close` has detached)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def covered(fig) -> list[str]:
    """Everything a legend of `fig` hides: '<legend's axes>: <what>' per item."""
    renderer = _renderer(fig)
    out = []
    legends = [(ax, ax.get_legend()) for ax in fig.axes] + [
        (None, leg) for leg in fig.legends
    ]
    for owner, legend in legends:
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        label = owner.get_title().split("\n")[0] if owner is not None else "figure"
        for ax in fig.axes:
            out.extend(
                f"legend of {label!r} covers {hit}"
                for hit in _covered_in(box, ax, renderer, fig.dpi)
            )
    return out


def _legend_clear(fig, legend) -> bool:
    renderer = _renderer(fig)
    box = legend.get_window_extent(renderer)
    return not any(_covered_in(box, ax, renderer, fig.dpi) for ax in fig.axes)


def place_legends(fig) -> None:
    """Moves each axes legend that hides a curve to a free spot, else outside.

    Tries the legend's own place, then the standard places inside the axes;
    when all of them cover something, anchors the legend's upper left corner
    just right of the axes.
    """
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or _legend_clear(fig, legend):
            continue
        for loc in _INSIDE:
            legend.set_loc(loc)
            if _legend_clear(fig, legend):
                break
        else:
            # Outside, right of the axes; widen the figure by the legend's
            # width so the axes keep their size and nothing is pushed off.
            width = legend.get_window_extent().width / fig.dpi
            legend.set_loc("upper left")
            legend.set_bbox_to_anchor((1.02, 1.0), transform=ax.transAxes)
            fig.set_figwidth(fig.get_figwidth() + width + 0.2)
            fig.tight_layout()


def save(
    fig, path: pathlib.Path | str, *, dpi: int = 110, **kwargs: Any
) -> pathlib.Path:
    """Lays out `fig`, moves covering legends, saves it to `path`, closes it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    for _ in range(3):  # moving one legend outside changes the layout
        place_legends(fig)
        fig.tight_layout()
        if not covered(fig):
            break
    path = pathlib.Path(path)
    fig.savefig(path, dpi=dpi, **kwargs)
    plt.close(fig)
    return path


def nice_levels(low: float, high: float) -> np.ndarray:
    """Contour levels 1, 2, 5 × 10^k from `low` to `high` (both > 0)."""
    exponents = np.arange(np.floor(np.log10(low)), np.ceil(np.log10(high)) + 1)
    levels = np.outer(10.0**exponents, [1.0, 2.0, 5.0]).ravel()
    return levels[(levels >= low) & (levels <= high)]


def loss_contours(ax, x, y, f, levels, *, label_at=None, fontsize: float = 7):
    """Readable loss contours under the paths: dark enough to see, labelled
    with their loss value, drawn below everything else (zorder 1).

    Args:
        ax, x, y, f: as ``ax.contour(x, y, f)``.
        levels: the loss values drawn.
        label_at: ``{level: (x, y)}``, where to write each labelled level
            (a point on that contour, away from the paths); None lets
            matplotlib choose, for every level.

    Draw paths with ``zorder=3`` or more so they stay on top.
    """
    contours = ax.contour(
        x, y, f, levels=levels, colors="0.45", linewidths=0.7, zorder=1
    )
    common = {"fmt": "%g", "fontsize": fontsize, "inline": True}
    if label_at is None:
        labels = ax.clabel(contours, **common)
    else:
        labels = ax.clabel(
            contours,
            levels=list(label_at),
            manual=list(label_at.values()),
            **common,
        )
    for label in labels:
        label.set_color("0.2")
        label.set_zorder(2)
    return contours
