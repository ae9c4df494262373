"""nnlab.figures.photo by structure: panels, bars, the clickable channel grid, a map over the photo."""

from __future__ import annotations

import json

import numpy as np
import torch

from nnlab.analysis.photo import Ranked, Seen, StageMaps, Steps, stage_maps
from nnlab.figures import photo as F


def _spec(fig) -> dict:
    return json.loads(fig.to_json())


def _steps() -> Steps:
    photo = np.full((30, 40, 3), 200, np.uint8)
    resized = np.full((20, 26, 3), 200, np.uint8)
    return Steps(photo, resized, (2, 5, 18, 21), resized[2:18, 5:21], torch.zeros(1, 3, 16, 16))


def test_preprocessing_shows_three_pictures_and_the_crop_frame():
    spec = _spec(F.preprocessing_figure(_steps()))
    assert [t["type"] for t in spec["data"]] == ["image"] * 3
    assert [a["text"] for a in spec["layout"]["annotations"]][0] == "1. The photo, 40×30"
    (frame,) = spec["layout"]["shapes"]
    assert (frame["x0"], frame["y0"], frame["x1"], frame["y1"]) == (4.5, 1.5, 20.5, 17.5)
    assert len(_spec(F.normalised_figure(_steps()))["data"]) == 3


def test_top_classes_best_at_the_top():
    ranked = Ranked(np.array([3, 1]), ("cat", "dog"), np.array([0.7, 0.2], np.float32))
    (bar,) = _spec(F.top_classes_figure(ranked))["data"]
    assert [y.strip() for y in bar["y"]] == ["dog", "cat"] and bar["text"] == ["20.0%", "70.0%"]


def _stage(show="activated") -> StageMaps:
    act = np.zeros((5, 4, 4), np.float32)
    act[:, 0, 0] = [1, 5, 0, 3, 2]  # channel 1 strongest, then 3, 4, 0, 2
    raw = act - 1
    return stage_maps(Seen({"raw": raw, "act": act}, np.ones(2, np.float32) / 2), "raw", "act", show=show, n=4)


def test_channel_grid_one_clickable_marker_per_tile_strongest_first():
    stage = _stage()
    spec = _spec(F.channel_grid_figure(stage))
    image, markers = spec["data"]
    assert image["type"] == "image" and [c[0] for c in markers["customdata"]] == [1, 3, 4, 0]
    assert spec["layout"]["clickmode"] == "event+select" and markers["marker"]["cmin"] == 0.0
    assert _spec(F.channel_grid_figure(_stage("raw")))["data"][1]["marker"]["cmin"] < 0  # raw: either sign
    assert F.channel_from_selection({"selection": {"points": [{"point_index": 1}]}}, stage) == 3
    assert F.channel_from_selection({"selection": {"points": []}}, stage) is None


def test_a_map_over_the_photo_is_the_photos_size():
    photo = np.zeros((16, 16, 3), np.uint8)
    colour, blended = F.over_photo(photo, np.eye(4, dtype=np.float32), signed=False)
    assert colour.shape == blended.shape == (16, 16, 3) and blended.dtype == np.uint8
    # black photo: the blend is BLEND of the colour
    np.testing.assert_allclose(blended, np.round(F.BLEND * colour.astype(np.float32)), atol=1)
    spec = _spec(F.cam_figure(photo, np.ones((4, 4), np.float32), "palace"))
    assert spec["layout"]["annotations"][1]["text"] == "Grad-CAM of “palace”" and len(spec["data"]) == 3


def test_compare_bars_hold_every_class_of_either_list():
    before = Ranked(np.array([0, 1]), ("a", "b"), np.array([0.6, 0.3], np.float32))
    after = Ranked(np.array([2, 0]), ("c", "a"), np.array([0.5, 0.4], np.float32))
    bars = _spec(F.compare_bars_figure(before, after, "rotated 90°"))["data"]
    assert bars[0]["y"] == ["c", "b", "a"]
    np.testing.assert_allclose(bars[1]["x"], [0.5, 0.0, 0.4], rtol=1e-6)  # float32 probabilities
