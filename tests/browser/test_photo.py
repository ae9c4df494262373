"""Your photo in a real Chromium: a JPEG uploaded from disk gets its top five, every stage's maps and Grad-CAM; a
click on a channel enlarges it; a file that is not a photo is refused in a sentence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sklearn

pytestmark = pytest.mark.browser
pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")

MAIN = '[data-testid="stMain"]'
PHOTOS = Path(sklearn.__file__).parent / "datasets" / "images"


def _upload(app, path: Path) -> None:
    app.open("Your photo")
    app.page.locator(MAIN).get_by_text("Upload a photo", exact=True).click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    app.page.locator(f'{MAIN} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    app.page.wait_for_timeout(800)
    app.wait_idle()


def _chart(app, text: str):
    return app.page.locator(f"{MAIN} .js-plotly-plot").filter(has_text=text)


def test_an_uploaded_photo_gets_its_top_five_maps_and_grad_cam(app, tmp_path):
    path = tmp_path / "temple.jpg"
    shutil.copy(PHOTOS / "china.jpg", path)  # a real photo file, uploaded as a user would
    _upload(app, path)
    app.wait_charts(6)  # preprocessing, normalised input, top five, channels, one channel, Grad-CAM
    assert _chart(app, "palace").count() >= 1, "no top-five chart naming the palace"
    assert _chart(app, "strongest of 32 channels").count() == 1, "no feature maps of the first stage"
    assert _chart(app, "Grad-CAM of").count() == 1
    app.page.locator(MAIN).get_by_text("The network as a diagram").click()
    diagram = app.page.locator(f'{MAIN} [data-testid="stGraphVizChart"] svg')
    diagram.first.wait_for(timeout=20_000)
    assert "4,652,008 parameters in all" in diagram.first.text_content()
    app.check_page("photo-upload", min_charts=6)


def test_a_click_on_a_channel_enlarges_it(app, tmp_path):
    path = tmp_path / "flower.jpg"
    shutil.copy(PHOTOS / "flower.jpg", path)
    _upload(app, path)
    app.wait_charts(6)
    grid = _chart(app, "strongest of 32 channels").first
    grid.scroll_into_view_if_needed()
    before = _chart(app, "enlarged").first.inner_text()
    box = grid.locator(".nsewdrag").first.bounding_box()  # the plot area: tiles 8 to a row, 4 rows
    app.page.mouse.click(box["x"] + box["width"] * 3.5 / 8, box["y"] + box["height"] * 1.5 / 4)
    app.page.wait_for_timeout(800)
    app.wait_idle()
    app.wait_charts(6)
    after = _chart(app, "enlarged").first.inner_text()
    assert after != before, "the click did not change the enlarged channel"
    app.assert_clean()


def test_a_file_that_is_not_a_photo_says_why(app, tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_bytes(b"not a photo at all " * 40)
    _upload(app, path)
    errors = app.errors()
    assert len(errors) == 1 and "not an image" in errors[0], errors
