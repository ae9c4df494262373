"""Weight figures and colour helpers checked by structure: frames, image sizes, panels, colour scales."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from nnlab.analysis import weights as wa
from nnlab.figures import colors
from nnlab.figures import weight_movies as wm
from nnlab.figures import weights as wf
from nnlab.figures.gif import gif_bytes


def decode(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_diverging_scale_is_centred_on_zero():
    idx = colors.diverging_index(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), 1.0, levels=31)
    assert idx.tolist() == [0, 0, 15, 30, 30]
    rgb = colors.diverging_rgb(np.array([-1.0, 0.0, 1.0]), 1.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 3)
    assert rgb[1].min() > 230  # zero is (nearly) white
    assert rgb[0, 2] > rgb[0, 0] and rgb[2, 0] > rgb[2, 2]  # negative blue, positive red
    assert colors.sequential_rgb(np.array([0.0, 1.0]), 1.0).tolist() == colors.SEQUENTIAL_LUT[[0, 255]].tolist()
    assert colors.symmetric_limit(np.zeros(5)) == 1.0


def test_mosaic_lays_tiles_out_row_by_row():
    tiles = np.stack([np.full((2, 2), i, np.uint8) for i in range(1, 6)])  # 5 tiles of 2×2
    m = colors.mosaic(tiles, 3, fill=9, blank=0)
    assert m.shape == (5, 8)
    assert m[0, 0] == 1 and m[0, 3] == 2 and m[3, 3] == 5 and m[2, 0] == 9 and m[4, 7] == 0
    frames = colors.mosaic(np.stack([tiles, tiles]), 3)  # leading axes are frames
    assert frames.shape == (2, 5, 8)
    rgb = colors.mosaic(np.repeat(tiles[..., None], 3, -1), 5, rgb=True)
    assert rgb.shape == (2, 14, 3)


def test_png_uri_round_trips_a_palette_image():
    idx = np.array([[0, 15], [30, 31]], np.uint8)
    pal = np.vstack([colors.diverging_palette(31), [[190, 190, 190]]]).astype(np.uint8)
    img = decode(colors.png_uri(idx, pal))
    assert img.mode == "P" and img.size == (2, 2)
    assert np.asarray(img.convert("RGB"))[1, 1].tolist() == [190, 190, 190]


def test_weight_movie_has_one_frame_per_snapshot_and_a_slider():
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(5, 6, 8, 8)).astype(np.float32)  # 5 snapshots of 6 units of 8×8
    fig = wm.weight_movie_figure(tiles, [0, 10, 20, 30, 40], active=2, title="dense1")
    assert len(fig.frames) == 5
    steps = fig.layout.sliders[0].steps
    assert [s.label for s in steps] == ["step 0", "step 10", "step 20", "step 30", "step 40"]
    assert fig.layout.sliders[0].active == 2
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    cols = colors.grid_columns(6, 8, 8)
    img = decode(fig.frames[0].data[0].source)
    rows = -(-6 // cols)
    assert img.size == (cols * 9 - 1, rows * 9 - 1)
    assert fig.data[0].source == fig.frames[2].data[0].source  # starts at the active frame
    assert len(fig.data[1].x) == 6  # one hover point per unit
    assert fig.layout.meta == {"frames_kept": 5, "frames_total": 5}


def test_weight_movie_drops_frames_evenly_beyond_its_budget():
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(11, 16, 10, 10)).astype(np.float32)
    full = wm.weight_movie_figure(tiles, list(range(11)))
    size = sum(len(f.data[0].source) for f in full.frames)
    thin = wm.weight_movie_figure(tiles, list(range(11)), budget=size // 3, active=-1)
    kept = thin.layout.meta["frames_kept"]
    assert 2 <= kept < 11 and len(thin.frames) == kept
    labels = [s.label for s in thin.layout.sliders[0].steps]
    assert labels[0] == "step 0" and labels[-1] == "step 10"  # first and last are kept


def test_colour_weights_become_rgb_and_empty_input_an_empty_figure():
    tiles = np.zeros((2, 3, 4, 4, 3), np.float32)
    tiles[1, 0, 0, 0] = [1.0, -1.0, 0.0]
    frames = wm.gif_frames(tiles, limit=1.0)
    assert len(frames) == 2 and frames[0].ndim == 3 and frames[0].shape[-1] == 3
    assert frames[1][0, 0].tolist() == [255, 0, 128]  # +limit → 255, −limit → 0, zero → mid-grey
    empty = wm.weight_movie_figure(np.zeros((0, 3, 4, 4)), [], title="nothing")
    assert isinstance(empty, go.Figure) and not empty.frames and empty.layout.title.text == "nothing"


def test_matrix_figure_is_a_diverging_heatmap():
    w = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    fig = wf.matrix_figure(w, title="dense2")
    assert fig.data[0].type == "heatmap" and np.asarray(fig.data[0].z).shape == (2, 3)
    assert fig.data[0].zmid == 0 and fig.data[0].zmin == -fig.data[0].zmax
    assert wf.matrix_figure(np.zeros(3)).layout.title.text == "No weight matrix"


def test_histograms_and_norms_figures_from_records():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(0, 1 + t, 500) for t in range(4)]
    hists = {
        "weights": wa.histogram_history(arrays, [0, 1, 2, 3], name="w", bins=40),
        "gradients": wa.histogram_history([None, *arrays[1:]], [0, 1, 2, 3], name="g", bins=40),
    }
    fig = wf.histograms_figure(hists, title="dense1")
    assert len(fig.data) == 2 and np.asarray(fig.data[0].z).shape == (40, 4)  # (bins, snapshots)
    assert np.nanmax(np.asarray(fig.data[0].z, float)) == 1.0  # each column scaled to its peak
    assert [a.text for a in fig.layout.annotations] == ["w", "g"]
    assert wf.histograms_figure({}).layout.title.text == "No distributions recorded"
    n = wa.NormHistory(
        np.array([0, 1, 2]),
        ("dense1", "out"),
        np.ones((2, 3)),
        np.ones((2, 3)),
        np.ones((2, 3)),
        ("relu1",),
        np.zeros((1, 3)),
    )
    nf = wf.norms_figure(n)
    assert len(nf.data) == 3 * 2 + 1 and nf.layout.yaxis4.range == (0, 1.02)
    assert nf.layout.yaxis2.type == "log" and nf.layout.yaxis3.type == "log"
    empty = wa.NormHistory(np.zeros(0), (), np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0)), (), np.zeros((0, 0)))
    assert wf.norms_figure(empty).layout.title.text == "No weights recorded"


def test_a_kernel_movie_record_draws_its_columns_and_exports_a_gif():
    rng = np.random.default_rng(0)
    layer = wa.WeightLayer("conv2", "map", (4, 3, 3, 3), True)  # 4 filters of 3 channels: kernel tiles
    history = wa.LayerHistory(layer, np.array([0, 5, 10]), rng.normal(size=(3, 4, 3, 3, 3)).astype(np.float16), {})
    movie = wa.movie_info(history, "range", 2, 1)
    frames = wm.movie_frames(movie.tiles, cols=movie.cols)
    assert frames.cols == 2 and frames.n_tiles == 6 and frames.size == (3 * 4 - 1, 2 * 4 - 1)  # 3 rows, 2 columns
    fig = wm.weight_movie_figure(frames, history.steps, labels=movie.labels)
    assert len(fig.frames) == 3 and list(fig.data[1].text) == list(movie.labels)
    gif = Image.open(io.BytesIO(gif_bytes(wm.gif_frames(movie.tiles, cols=movie.cols), labels=["a", "b", "c"])))
    assert gif.n_frames == 3


def test_movie_gif_has_a_frame_per_snapshot():
    layer = wa.WeightLayer("dense1", "vector", (3, 4), True, (1, 2, 2))
    steps = np.array([0, 5, 10])
    weights = np.random.default_rng(0).normal(size=(3, 3, 4)).astype(np.float16)
    history = wa.LayerHistory(layer, steps, weights, {})
    gif = wm.movie_gif(wa.movie_info(history, "all", 3, 0), history)
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF" and image.n_frames == 3


def test_the_dead_units_panel_says_why_it_is_empty_without_a_relu():
    ones = np.ones((1, 3))
    without = wa.NormHistory(np.arange(3), ("dense1",), ones, ones, ones, (), np.zeros((0, 3)))
    with_relu = wa.NormHistory(np.arange(3), ("dense1",), ones, ones, ones, ("relu1",), np.zeros((1, 3)))
    said = [a.text for a in wf.norms_figure(without).layout.annotations if "never exactly 0" in a.text]
    assert len(said) == 1 and said[0].count("<br>") == 2
    note = next(a for a in wf.norms_figure(without).layout.annotations if "never exactly 0" in a.text)
    assert note.xref == "paper" and note.x > 0.55 and note.y < 0.41  # in the bottom-right panel, where it belongs
    assert not any("never exactly 0" in a.text for a in wf.norms_figure(with_relu).layout.annotations)
