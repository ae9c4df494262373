"""Boundary figures checked by structure: region colours, frames, sample traces, unit maps, GIF frames."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from nnlab.analysis.boundary import BoundaryMovie
from nnlab.figures import boundary as bf
from nnlab.figures.colors import class_rgb


def movie(t=3, h=20, w=30, k=3, moving=False, n=12) -> BoundaryMovie:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(k), size=(t, h, w)).astype(np.float16)
    coords = rng.uniform(-1, 1, size=(t if moving else 1, n, 2)).astype(np.float32)
    return BoundaryMovie(
        np.linspace(-1, 1, w, dtype=np.float32),
        np.linspace(-1, 1, h, dtype=np.float32),
        probs,
        np.arange(t) * 10,
        coords,
        np.arange(n) % k,
        np.arange(n) % 2 == 1,
        np.full((t, 2), np.nan),
        "" if not moving else "relu1",
    )


def test_region_colours_from_hand_set_probabilities():
    # (H=2, W=4, K=2): sure of class 0, undecided (class 0 by a hair), undecided toward class 1, sure of class 1
    row = [[1.0, 0.0], [0.5, 0.5], [0.499, 0.501], [0.0, 1.0]]
    probs = np.array([row, row], np.float32)
    pal, levels = bf.region_palette(2)
    rgb = bf.region_rgb(probs, "probabilities").astype(float)
    assert rgb.shape == (2, 4, 3) and len(pal) <= 256 and levels >= 2
    colour = class_rgb(2).astype(float)
    sure, faint = 255 * 0.4 + colour * 0.6, 255 * (1 - bf.FAINTEST) + colour * bf.FAINTEST
    np.testing.assert_allclose(rgb[:, 0], [sure[0]] * 2, atol=1)  # certain class 0: its (pastel) colour
    np.testing.assert_allclose(rgb[:, 3], [sure[1]] * 2, atol=1)
    np.testing.assert_allclose(rgb[:, 2], [faint[1]] * 2, atol=1)  # undecided: a faint tint of its class, not white
    assert (rgb[:, 2] < 250).any(axis=-1).all()
    np.testing.assert_allclose(rgb[:, 1], [bf.EDGE_RGB] * 2)  # the class changes to its right: the boundary line
    hard = bf.region_rgb(np.array([[[0.6, 0.4]]], np.float32), "regions")
    np.testing.assert_allclose(hard[0, 0], sure[0], atol=1)  # hard regions ignore how sure the network is


def test_an_untrained_networks_boundary_is_drawn_as_a_line():
    # an untrained network: 0.5 ± 0.02 everywhere, class 1 above the diagonal y = x
    h = w = 40
    ys, xs = np.mgrid[0:h, 0:w]
    p1 = np.where(ys > xs, 0.52, 0.48).astype(np.float32)
    probs = np.stack([1 - p1, p1], -1)
    idx, pal = bf.region_index(probs)
    edge = idx == len(pal) - 1
    assert edge[(ys == xs) & (ys < h - 1)].all()  # along the diagonal (each of its cells has class 1 above it)
    assert not edge[np.abs(ys - xs) > 1].any()  # and nowhere far from it: a line, not a band
    rgb = pal[idx].astype(int)
    assert (rgb[~edge].min(axis=-1) < 240).all()  # no region fades to white, however unsure
    assert bf.boundary_cells(np.zeros((5, 5), int)).sum() == 0  # one class everywhere: no line


def test_boundary_figure_has_one_frame_per_snapshot_with_png_regions():
    m = movie()
    fig = bf.boundary_figure(m, ["a", "b", "c"], active=1)
    assert len(fig.frames) == 3 and fig.layout.sliders[0].active == 1
    assert fig.data[0].type == "image" and fig.frames[0].traces == (0,)  # only the regions change
    img = Image.open(io.BytesIO(base64.b64decode(fig.data[0].source.split(",", 1)[1])))
    assert img.size == (30, 20)
    assert fig.data[0].x0 == -1.0 and fig.data[0].y0 == -1.0  # row 0 sits at the lowest y
    names = [t.name for t in fig.data[1:] if t.showlegend]
    assert names == ["a (train)", "b (train)", "c (train)", "a (test)", "b (test)", "c (test)"]
    assert sum(len(t.x) for t in fig.data[1:]) == 12
    assert fig.layout.yaxis.scaleanchor == "x"  # raw 2-D data keeps its aspect


def test_moving_samples_are_updated_in_every_frame():
    m = movie(moving=True)
    fig = bf.boundary_figure(m, ["a", "b", "c"], show_train=False, x_title="PC1")
    assert len(fig.frames[2].data) == 1 + 6
    first_test = next(i for i, t in enumerate(fig.data) if t.name == "a (test)")
    np.testing.assert_allclose(fig.frames[2].data[first_test].x, m.coords[2][(m.labels == 0) & m.is_test, 0])
    assert fig.data[1].visible == "legendonly"  # training samples start hidden
    assert fig.layout.xaxis.title.text == "PC1"


def test_degenerate_inputs_give_empty_figures():
    empty = BoundaryMovie(
        np.zeros(0),
        np.zeros(0),
        np.zeros((0, 0, 0, 2)),
        np.zeros(0),
        np.zeros((1, 0, 2)),
        np.zeros(0, int),
        np.zeros(0, bool),
        np.zeros((0, 2)),
    )
    assert bf.boundary_figure(empty, ["a", "b"]).layout.title.text == "No boundary to show"
    assert bf.unit_maps_figure(np.zeros((0, 5, 5))).layout.title.text == "No units to show"
    assert bf.gif_frames(empty) == []


def test_unit_maps_figure_draws_every_unit_with_its_own_hover_label():
    maps = np.stack([np.outer(np.arange(8), np.ones(8)) - 3, -np.ones((8, 8))]).astype(np.float32)
    fig = bf.unit_maps_figure(maps, signed=True, cols=2)
    img = Image.open(io.BytesIO(base64.b64decode(fig.data[0].source.split(",", 1)[1])))
    assert img.size == (2 * 8 + 2, 8)
    assert list(fig.data[1].text) == ["unit 0", "unit 1"]
    top = np.asarray(img.convert("RGB"))[0, 0].astype(int)
    bottom = np.asarray(img.convert("RGB"))[7, 0].astype(int)
    assert top[0] > top[2] and bottom[2] > bottom[0]  # +y is up: high values (red) at the top of the tile


def test_gif_frames_draw_the_samples_on_each_frame():
    m = movie(moving=True)
    frames = bf.gif_frames(m, size=64)
    assert len(frames) == 3 and frames[0].shape == (64, 64, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[1])


def test_movie_gif_is_a_looping_gif_with_one_frame_per_snapshot():
    gif = Image.open(io.BytesIO(bf.movie_gif(movie(moving=True), mode="regions")))
    assert gif.format == "GIF" and gif.n_frames == 3


def test_a_frame_is_encoded_once_per_content_and_mode(monkeypatch):
    from nnlab.figures import boundary as bf_module
    from nnlab.figures.colors import png_uri

    calls = []
    monkeypatch.setattr(bf_module, "png_uri", lambda *a: calls.append(1) or png_uri(*a))
    rng = np.random.default_rng(7)
    probs = rng.dirichlet([1, 1, 1], (12, 12)).astype(np.float16)
    first = bf_module.region_uri(probs, "regions")
    assert first == png_uri(*bf_module.region_index(probs, "regions"))
    assert bf_module.region_uri(probs.copy(), "regions") == first and len(calls) == 1  # same content: kept
    assert bf_module.region_uri(probs, "probabilities") != first and len(calls) == 2  # another mode
    other = probs.copy()
    other[0, 0] = other[0, 0][::-1]
    bf_module.region_uri(other, "regions")
    assert len(calls) == 3  # one value changed: encoded again
