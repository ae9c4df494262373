"""AppTest of your own input where a test sample goes: drawn, uploaded or a clicked point, and each bad input.

AppTest cannot drive the canvas component, so a drawing is put in the canvas's session value as the browser sends
it (a PNG data URL); uploads go through AppTest's file uploader, in memory.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests import app_harness
from tests.app_harness import app_test, errors
from tests.test_data_own_input import BAD, digit_picture, draw_three, encoded

jobs = app_harness.jobs
app_env = app_harness.app_env

WALK, ATTR, HIDDEN, BOUNDARY = (f"app_pages/{p}.py" for p in ("walkthrough", "attribution", "hidden", "boundary"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("own-input-runs"))


def canvas_value(rgba: np.ndarray) -> dict:
    """What the canvas component sends back: its drawing as fabric json and as a PNG data URL."""
    url = "data:image/png;base64," + base64.b64encode(encoded(rgba)).decode()
    return {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}, "backgroundFit": None}


def open_page(app_env, run, page: str, source: str | None = None):
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    if source:
        at.radio(key="own_source").set_value(source).run()
    assert not errors(at), errors(at)
    return at


def draw(at, rgba: np.ndarray | None = None):
    at.session_state["own_canvas"] = canvas_value(draw_three() if rgba is None else rgba)
    return at.run()


def upload(at, data: bytes, name: str = "digit.png", mime: str = "image/png"):
    return at.file_uploader(key="own_upload").set_value((name, data, mime)).run()


def box(at, label: str):
    return next(n for n in at.number_input if n.label == label)


def subheads(at) -> list[str]:
    return [h.value for h in at.subheader]


def probability_title(at) -> str:
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "probabilities" in c.proto.spec)
    return spec["layout"]["title"]["text"]


def test_the_sources_follow_the_kind_of_data(app_env, runs):
    _, mlp, cnn = runs
    assert open_page(app_env, cnn, WALK).radio(key="own_source").options == ["Test sample", "Draw", "Upload an image"]
    at = open_page(app_env, cnn, WALK, "Draw")
    at.session_state["app_run"] = mlp.id  # another run, of points: there is no canvas, the test sample is back
    at.run()
    assert not errors(at) and any(s.startswith("Test sample") for s in subheads(at))
    assert at.radio(key="own_source").options == ["Test sample", "Click a point"]


def test_a_drawing_goes_through_every_layer_without_right_or_wrong(app_env, runs):
    _, _, cnn = runs
    at = open_page(app_env, cnn, WALK, "Draw")
    assert any("draw something first" in i.value for i in at.info) and "Layer by layer" not in subheads(at)
    draw(at)
    assert not errors(at) and subheads(at)[:2] == ["Your drawing", "Layer by layer"]
    said = next(m.value for m in at.markdown if "the network says" in m.value)
    assert "for your drawing" in said and "right" not in said and "wrong" not in said
    assert "no truth" in probability_title(at)
    before = probability_title(at), [c.proto.spec for c in at.get("plotly_chart")]
    at.slider(key="app_snapshot").set_value(0).run()  # another moment of training replays the same drawing
    assert not errors(at) and subheads(at)[0] == "Your drawing"
    assert [c.proto.spec for c in at.get("plotly_chart")] != before[1]


def test_a_cleared_canvas_says_draw_something_first(app_env, runs):
    _, _, cnn = runs
    at = draw(open_page(app_env, cnn, WALK, "Draw"))
    draw(at, np.full((224, 224, 4), 255, np.uint8))
    assert not errors(at) and any("draw something first" in i.value for i in at.info)
    assert "Your drawing" not in subheads(at)


def test_an_uploaded_png_is_walked_through(app_env, runs):
    _, _, cnn = runs
    at = upload(open_page(app_env, cnn, WALK, "Upload an image"), encoded(digit_picture()))
    assert not errors(at) and subheads(at)[0] == "Your image"
    assert any("inverted" in c.value for c in at.caption)


UPLOAD_CASES = {
    "animated GIF": ("anim.gif", "image/gif", "first frame is used"),
    "CMYK": ("cmyk.jpg", "image/jpeg", "CMYK"),
    "16-bit": ("deep.png", "image/png", "16-bit"),
    "palette": ("palette.png", "image/png", None),
}


def upload_bytes(case: str) -> bytes:
    rgb = digit_picture()
    if case == "animated GIF":
        frames = [Image.fromarray(rgb), Image.fromarray(np.full_like(rgb, 128))]
        buf = io.BytesIO()
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
        return buf.getvalue()
    if case == "CMYK":
        return encoded(Image.fromarray(rgb).convert("CMYK"), "JPEG")
    if case == "16-bit":
        return encoded(Image.fromarray(rgb[..., 0].astype(np.uint16) * 257))
    return encoded(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE))


@pytest.mark.parametrize("case", list(UPLOAD_CASES))
def test_odd_but_good_images_are_converted_and_say_how(app_env, runs, case):
    _, _, cnn = runs
    name, mime, note = UPLOAD_CASES[case]
    at = upload(open_page(app_env, cnn, WALK, "Upload an image"), upload_bytes(case), name, mime)
    assert not errors(at) and subheads(at)[0] == "Your image"
    if note:
        assert any(note in c.value for c in at.caption), [c.value for c in at.caption]


@pytest.mark.parametrize("case", [c for c in BAD if c != "empty"])
def test_bad_uploads_get_a_clear_message_and_no_walk_through(app_env, runs, case, tmp_path):
    _, _, cnn = runs
    data, words = BAD[case]
    before = sorted(p.name for p in cnn.folder.iterdir())
    at = upload(open_page(app_env, cnn, WALK, "Upload an image"), data, "bad.png")
    shown = [e.value for e in at.error]
    assert not at.exception and len(shown) == 1 and shown[0].startswith("bad.png: ") and words in shown[0]
    assert "Your image" not in subheads(at)
    assert sorted(p.name for p in cnn.folder.iterdir()) == before  # nothing written beside the run


def test_a_drawing_is_attributed_and_has_no_truth_to_explain(app_env, runs):
    _, _, cnn = runs
    at = draw(open_page(app_env, cnn, ATTR, "Draw"))
    assert not errors(at) and subheads(at)[0] == "Your drawing"
    assert at.radio(key="attr_target").options == ["The prediction", "Another class"]
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "attr_maps").proto.spec)
    assert len([t for t in spec["data"] if t["type"] == "image"]) >= 2  # the drawing and its maps


def test_the_drawing_is_kept_between_pages_and_lands_on_the_hidden_map(app_env, runs):
    _, _, cnn = runs
    at = draw(open_page(app_env, cnn, WALK, "Draw"))
    at.switch_page(HIDDEN).run()
    assert not errors(at)
    said = [m.value for m in at.markdown if "lands among the" in m.value]
    assert len(said) == 1 and said[0].startswith("Your drawing lands among the ") and "PCA" in said[0]
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "hidden_map").proto.spec)
    assert spec["data"][-1]["name"] == "your drawing" and spec["data"][-1]["marker"]["symbol"] == "star"
    at.switch_page(WALK).run()  # back: the canvas is mounted again with the same drawing
    assert not errors(at) and subheads(at)[0] == "Your drawing"


def test_a_typed_point_is_walked_through_and_marked_on_the_boundary(app_env, runs):
    _, mlp, _ = runs
    at = open_page(app_env, mlp, WALK, "Click a point")
    box(at, "x₁").set_value(1.25).run()
    box(at, "x₂").set_value(-0.5).run()
    assert not errors(at) and subheads(at)[0] == "Your point"
    at.switch_page(BOUNDARY).run()
    assert not errors(at)
    said = [m.value for m in at.markdown if m.value.startswith("The star is your point")]
    assert said and "(1.25, -0.50)" in said[0]
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == "boundary_movie").proto.spec)
    star = spec["data"][-1]
    assert star["name"] == "your point" and star["x"] == [1.25] and star["y"] == [-0.5]
    frames = spec.get("frames", [])
    assert frames and all(len(f["traces"]) < len(spec["data"]) for f in frames)  # the star stays over every frame


def test_a_click_on_the_plane_types_its_point(app_env, runs):
    from appkit.pickers import own_input as O

    _, mlp, _ = runs
    at = open_page(app_env, mlp, WALK, "Click a point")
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.key == O.CLICK).proto.spec)
    grid = spec["data"][-1]
    assert len(grid["x"] if isinstance(grid["x"], list) else app_harness.plotly_array(grid["x"])) == O.GRID**2
    assert spec["layout"]["clickmode"] == "event+select"
