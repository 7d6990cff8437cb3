"""The legend check and placement every lesson plot goes through."""

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jaxopt_lessons.lessons import _plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _diagonal(loc):
    fig, ax = plt.subplots(figsize=(5, 4))
    x = np.linspace(0, 1, 50)
    ax.plot(x, x, label="y = x")
    ax.plot(x, x**3, label="y = x³")
    ax.legend(loc=loc)
    return fig, ax


def test_a_legend_on_a_line_is_found():
    fig, _ = _diagonal("center")
    hits = _plotting.covered(fig)
    assert any("line 'y = x'" in h for h in hits), hits


def test_a_legend_in_an_empty_corner_covers_nothing():
    fig, _ = _diagonal("upper left")  # both curves run below the diagonal
    assert _plotting.covered(fig) == []


def test_a_line_crossing_the_legend_between_two_points_is_found():
    # Two far-apart points whose segment passes under the legend.
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0.5, 0.5], label="flat")
    ax.set_ylim(0, 1)
    ax.legend(loc="center")
    assert _plotting.covered(fig)


@pytest.mark.parametrize("kind", ["contour", "bars", "markers", "text"])
def test_other_artists_under_a_legend_are_found(kind):
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0, 0], label="edge")  # a legend entry, along the bottom
    if kind == "contour":
        g = np.linspace(-1, 1, 50)
        gx, gy = np.meshgrid(g, g)
        ax.contour(gx, gy, gx**2 + gy**2, levels=[0.01, 0.02])
        ax.set_xlim(-1, 1)
    elif kind == "bars":
        ax.bar([0.5], [0.5], width=0.2, bottom=0.25)
    elif kind == "markers":
        ax.scatter([0.5], [0.5], s=40)
    else:
        ax.text(0.5, 0.5, "a label", ha="center", va="center")
    if kind != "contour":
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.1, 1)
    ax.legend(loc="center")
    assert _plotting.covered(fig), kind


def test_place_legends_finds_a_free_spot_inside():
    fig, ax = _diagonal("center")  # on the curves
    assert _plotting.covered(fig)
    _plotting.place_legends(fig)
    assert _plotting.covered(fig) == []
    box = ax.get_legend().get_window_extent()
    assert ax.bbox.contains(box.x0, box.y0) and ax.bbox.contains(box.x1, box.y1)


def test_place_legends_goes_outside_when_the_axes_are_full():
    fig, ax = plt.subplots(figsize=(5, 4))
    x = np.linspace(0, 1, 20)
    for level in np.linspace(0, 1, 25):  # horizontal lines everywhere
        ax.plot(x, np.full_like(x, level), color="0.5")
    ax.lines[0].set_label("levels")
    ax.legend()
    width = fig.get_figwidth()
    _plotting.place_legends(fig)
    assert _plotting.covered(fig) == []
    assert ax.get_legend().get_window_extent().x0 >= ax.bbox.x1
    assert fig.get_figwidth() > width  # widened, not squeezed


def test_save_writes_a_clean_png(tmp_path):
    fig, _ = _diagonal("center")
    path = _plotting.save(fig, tmp_path / "p.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _plotting.covered(fig) == []


def test_nice_levels():
    np.testing.assert_allclose(
        _plotting.nice_levels(0.003, 0.6), [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    )
