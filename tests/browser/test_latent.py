"""The Latent space page in a real Chromium: a click on the code map decodes that point into an image.

A digits autoencoder with a 2-D code is trained into the browser suite's runs folder (the server lists runs as
they appear); screenshots of the page at its last and first snapshot go to artifacts/screenshots/latent-*.png.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
MAIN = '[data-testid="stMain"]'


@pytest.fixture(scope="module")
def ae_run(app_dirs) -> str:
    import torch

    from nnlab import DataConfig, RecordConfig, TrainConfig, train_run
    from nnlab.models import AEConfig

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NNLAB_DATA_DIR", str(app_dirs["data"]))
            run = train_run(
                DataConfig.make("digits"),
                AEConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(64, 32), code=2),
                TrainConfig(lr=2e-3, batch_size=64, epochs=40, seed=0),
                RecordConfig(snapshots=10),
                root=app_dirs["runs"],
                name="digits-ae",
            )
    finally:
        torch.set_num_threads(threads)
    return run.id


def decoded_title(app) -> str:
    titles = [t or "" for t in app.page.locator(f"{MAIN} .gtitle").all_text_contents()]
    found = [t for t in titles if t.startswith("Decoded at (")]
    assert len(found) == 1, titles
    return found[0]


def test_a_click_on_the_map_decodes_that_point(app, ae_run):
    app.open("Latent space")
    app.page.reload()  # the run was trained after the server listed its runs
    app.wait_idle()
    app.select_run(ae_run)
    app.wait_charts(5)
    app.check_page("latent-digits-ae", min_charts=5)
    before = decoded_title(app)
    chart = app.page.locator(f"{MAIN} [data-testid='stPlotlyChart']").filter(has_text="click anywhere").first
    plot = chart.locator(".nsewdrag").first  # the plot area, where plotly takes clicks
    box = plot.bounding_box()
    app.page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + 0.25 * box["height"])
    app.page.wait_for_timeout(800)
    app.wait_idle()
    app.wait_charts(5)
    after = decoded_title(app)
    assert after != before, f"the click did not decode another point ({before})"
    image = app.page.locator(f"{MAIN} [data-testid='stPlotlyChart']").filter(has_text="Decoded at (").first
    assert image.locator("image").count() >= 1, "no decoded image drawn"
    app.assert_clean()
    sidebar = app.page.locator('[data-testid="stSidebar"]')
    thumb = sidebar.locator('[data-testid="stSlider"]').filter(has_text="Training time").get_by_role("slider")
    thumb.focus()
    app.page.keyboard.press("Home")
    app.page.wait_for_timeout(300)
    app.wait_idle()
    assert thumb.input_value() == "0"
    app.check_page("latent-digits-ae-snapshot0", min_charts=5)


def test_an_uploaded_png_is_encoded_and_placed_on_the_map(app, ae_run, tmp_path):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (300, 240), "white")
    ImageDraw.Draw(img).line([(60, 40), (240, 40), (130, 220)], fill="black", width=22)  # a 7 on paper
    path = tmp_path / "seven.png"
    img.save(path)
    app.open("Latent space")
    app.page.reload()
    app.wait_idle()
    app.select_run(ae_run)
    app.wait_charts(5)
    main = app.page.locator(MAIN)
    main.get_by_text("Encode an input of your own").first.click()  # the expander, closed for a test sample
    app.page.wait_for_timeout(300)
    main.locator('[data-testid="stRadio"]').first.get_by_text("Upload an image", exact=True).click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    main.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    app.page.wait_for_timeout(800)
    app.wait_idle()
    words = main.get_by_text("Your image lands among the").first
    words.wait_for(timeout=20_000)
    assert "nearest neighbours" in words.inner_text() and "The probe" in words.inner_text()
    the_map = main.locator("[data-testid='stPlotlyChart']").filter(has_text="click anywhere").first
    assert the_map.get_by_text("your image").count() >= 1, "the upload is not marked on the map"
    rebuilt = main.locator("[data-testid='stPlotlyChart']").filter(has_text="rebuilt from its code").first
    assert rebuilt.locator("image").count() >= 1, "no input and reconstruction drawn"
    app.check_page("latent-own-upload", min_charts=6)
    assert "own" not in app.page.url and "upload" not in app.page.url  # the image stays out of the link
