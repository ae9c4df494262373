"""Animations: the GIF export is a valid looping multi-frame image; the plotly controls are wired to frames."""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from nnlab.figures.gif import animate, even_subsample, gif_bytes


def frames(n=4, h=10, w=12):
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:, : i + 1] = (200, 30, 30)  # a bar that grows frame by frame
        out.append(f)
    return out


def test_gif_is_a_looping_multi_frame_image():
    data = gif_bytes(frames(), fps=5)
    img = Image.open(io.BytesIO(data))
    assert img.format == "GIF" and img.n_frames == 4 and img.size == (12, 10)
    assert img.info.get("loop") == 0  # loop forever
    assert img.info.get("duration") == 200  # 5 frames per second
    img.seek(3)
    last = np.asarray(img.convert("RGB"))
    assert last[5, 3].tolist() == [200, 30, 30] and last[5, 11].tolist() == [0, 0, 0]


def test_gif_labels_and_scale_change_the_size():
    img = Image.open(io.BytesIO(gif_bytes(frames(2), labels=["step 0", "step 9"], scale=3)))
    assert img.n_frames == 2 and img.size == (36, 30 + 14)  # 3× larger, plus a 14-pixel label strip


def test_gif_of_nothing_and_of_mismatched_frames():
    assert gif_bytes([]) == b""
    with pytest.raises(ValueError, match="same size"):
        gif_bytes([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)])


def test_animate_wires_buttons_and_slider_to_named_frames():
    fig = animate(
        go.Figure(go.Scatter(x=[0], y=[0])),
        [{"data": [go.Scatter(x=[i], y=[i])], "traces": [0]} for i in range(3)],
        ["a", "b", "c"],
        active=5,
    )
    assert [f.name for f in fig.frames] == ["0", "1", "2"]
    assert [list(s.args[0]) for s in fig.layout.sliders[0].steps] == [["0"], ["1"], ["2"]]
    assert fig.layout.sliders[0].active == 2  # clamped to the last frame
    assert animate(go.Figure(), [], []).frames == ()


def test_play_buttons_sit_above_the_slider_rail_not_beside_it():
    frames = [{"data": [go.Scatter(x=[i], y=[i])], "traces": [0]} for i in range(5)]
    fig = animate(go.Figure(go.Scatter(x=[0], y=[0])), frames, [f"step {i}" for i in range(5)])
    buttons, slider = fig.layout.updatemenus[0], fig.layout.sliders[0]
    assert (slider.x, slider.len) == (0, 1)  # the rail spans the whole width: it starts where the buttons start
    assert (buttons.x, buttons.xanchor, buttons.direction) == (0, "left", "left")
    button_px = 33  # a plotly button's height with the default 12 px font (measured in Chromium)
    rail_top = slider.pad.t + slider.currentvalue.font.size + slider.currentvalue.offset  # below the label row
    assert buttons.pad.t + button_px <= rail_top


def test_even_subsample_keeps_the_ends_and_a_chosen_frame():
    idx = even_subsample(51, 10, always=7)
    assert idx[0] == 0 and idx[-1] == 50 and 7 in idx and len(idx) <= 11
    assert even_subsample(5, 10).tolist() == [0, 1, 2, 3, 4]
