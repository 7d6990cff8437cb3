"""Catch the figures a lesson's `plot` saves, to inspect what they draw."""

from __future__ import annotations

import contextlib
import pathlib

import pytest

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_pngs(paths) -> None:
    """Every path holds a PNG image (checked by its 8-byte signature)."""
    for path in paths:
        assert pathlib.Path(path).read_bytes()[:8] == PNG_SIGNATURE, path


def contour_problems_in(plot, result, out_dir, name: str, **limits) -> list[str]:
    """`contour_problems` of the first axes of the figure that `plot(result,
    out_dir)` saves as `name`; `limits` are its keyword arguments."""
    with captured() as saved:
        plot(result, out_dir)
    return contour_problems(saved[name].axes[0], **limits)


@contextlib.contextmanager
def captured():
    """Within the block, every `Figure.savefig` also records the figure.

    Yields a dict {file name: figure}; the figures keep their artists after
    `plt.close`, so tests can read texts, contours and legends from them.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.figure

    figures = {}
    original = matplotlib.figure.Figure.savefig

    def recording(fig, fname, *args, **kwargs):
        figures[pathlib.Path(str(fname)).name] = fig
        return original(fig, fname, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matplotlib.figure.Figure, "savefig", recording)
        yield figures


def texts(fig) -> list[str]:
    """Every text drawn in the axes of `fig`, whitespace collapsed."""
    return [" ".join(t.get_text().split()) for ax in fig.axes for t in ax.texts]


def contour_problems(ax, *, min_levels: int, min_labels: int) -> list[str]:
    """What makes a contour plot with paths hard to read, as a list.

    Checks: enough levels; enough labels, each inside the axes and clear of
    every path; contour lines dark enough to see; paths drawn on top.
    """
    import matplotlib.colors
    import numpy as np
    from matplotlib.contour import ContourSet

    from jaxopt_lessons.lessons import _plotting

    renderer = _plotting._renderer(ax.figure)
    problems = []
    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    if len(sets) != 1:
        return [f"expected one contour set, found {len(sets)}"]
    contours = sets[0]
    if len(contours.levels) < min_levels:
        problems.append(f"only {len(contours.levels)} contour levels")
    grey = np.mean(matplotlib.colors.to_rgb(contours.get_edgecolor()[0]))
    if grey > 0.6:
        problems.append(f"contour lines too light (grey level {grey:.2f})")
    paths = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    if not paths:
        problems.append("no paths drawn")
    labels = [t for t in contours.labelTexts if t.get_text().strip()]
    if len(labels) < min_labels:
        problems.append(f"only {len(labels)} contour labels")
    for label in labels:
        box = label.get_window_extent(renderer)
        if not (ax.bbox.x0 <= box.x0 and box.x1 <= ax.bbox.x1):
            problems.append(f"label {label.get_text()!r} outside the axes")
        if not (ax.bbox.y0 <= box.y0 and box.y1 <= ax.bbox.y1):
            problems.append(f"label {label.get_text()!r} outside the axes")
        for line in paths:
            xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
            if _plotting._segments_hit(xy, box, 0.0, True):
                problems.append(
                    f"label {label.get_text()!r} under {line.get_label()!r}"
                )
        if label.get_zorder() >= min(line.get_zorder() for line in paths):
            problems.append(f"label {label.get_text()!r} drawn over the paths")
    if paths and min(line.get_zorder() for line in paths) <= contours.get_zorder():
        problems.append("a path is drawn under the contours")
    return problems
