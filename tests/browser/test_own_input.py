"""Your own input in a real Chromium: a digit drawn with the mouse on the canvas, a PNG uploaded, a point clicked on
the plane; each reaches the walk-through with a prediction and no error box."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.browser

MAIN = '[data-testid="stMain"]'
SEVEN = [(0.2, 0.22), (0.8, 0.22), (0.45, 0.85)]  # a "7" as fractions of the canvas: across, then down-left


def _open(app, run: str, title: str, source: str) -> None:
    app.open()
    app.select_run(run)
    app.nav_link(title).click()
    app.wait_idle()
    app.page.locator(f'{MAIN} [data-testid="stRadio"]').first.get_by_text(source, exact=True).click()
    app.page.wait_for_timeout(300)
    app.wait_idle()


def canvas_box(app) -> dict:
    """Where the drawing canvas is (fabric's upper canvas takes the mouse)."""
    canvases = app.page.locator(f"{MAIN} canvas.upper-canvas")
    canvases.first.wait_for(timeout=20_000)
    box = canvases.first.bounding_box()
    assert box and box["width"] > 100, f"no canvas to draw on: {box}"
    return box


def draw(app, stroke=SEVEN) -> None:
    """Drag the mouse along `stroke` on the canvas, then wait for the app to answer."""
    box = canvas_box(app)
    points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
    app.page.mouse.move(*points[0])
    app.page.mouse.down()
    for p in points[1:]:
        app.page.mouse.move(*p, steps=15)
    app.page.mouse.up()
    app.page.wait_for_timeout(800)
    app.wait_idle()


def said(app) -> str:
    text = app.page.locator(MAIN).get_by_text("the network says").first
    text.wait_for(timeout=20_000)
    return text.inner_text()


def test_a_digit_drawn_with_the_mouse_gets_a_prediction(app):
    _open(app, "digits-mlp", "Layer walk-through", "Draw")
    main = app.page.locator(MAIN)
    assert main.get_by_text("draw something first").count() == 1
    draw(app)
    assert main.get_by_role("heading", name="Your drawing").count() == 1, "the drawing did not reach the page"
    words = said(app)
    assert "for your drawing" in words and "wrong" not in words
    assert main.get_by_text("What the network sees: 8×8").count() == 1
    app.check_page("own-drawing-digits", min_charts=3)


def test_the_drawing_survives_a_trip_to_the_hidden_layers(app):
    _open(app, "digits-cnn", "Layer walk-through", "Draw")
    draw(app)
    app.nav_link("Hidden layers").click()
    app.wait_idle()
    assert app.page.locator(MAIN).get_by_text("Your drawing lands among the").count() == 1
    app.check_page("own-drawing-hidden", min_charts=1)


def test_an_uploaded_png_is_walked_through(app, tmp_path):
    img = Image.new("RGB", (300, 240), "white")
    ImageDraw.Draw(img).line([(60, 40), (240, 40), (130, 220)], fill="black", width=22)  # a 7 on paper
    path = tmp_path / "seven.png"
    img.save(path)
    _open(app, "digits-cnn", "Layer walk-through", "Upload an image")
    app.page.locator(f'{MAIN} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    app.page.wait_for_timeout(800)
    app.wait_idle()
    main = app.page.locator(MAIN)
    assert main.get_by_role("heading", name="Your image").count() == 1, "the upload did not reach the page"
    assert "for your image" in said(app)
    app.check_page("own-upload", min_charts=3)


def test_a_bad_upload_says_why(app, tmp_path):
    path = tmp_path / "notes.png"
    path.write_bytes(b"not a picture at all " * 50)
    _open(app, "digits-cnn", "Layer walk-through", "Upload an image")
    app.page.locator(f'{MAIN} [data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    app.page.wait_for_timeout(800)
    app.wait_idle()
    errors = app.errors()
    assert len(errors) == 1 and "not an image" in errors[0], errors


def test_a_click_on_the_plane_places_a_point(app):
    _open(app, "moons", "Layer walk-through", "Click a point")
    main = app.page.locator(MAIN)
    app.wait_charts(1)
    x1 = main.get_by_role("spinbutton", name="x₁")
    before = x1.input_value()
    chart = main.locator('[data-testid="stPlotlyChart"]').first
    plot = chart.locator(".nsewdrag").first  # the plot area, where plotly takes clicks
    box = plot.bounding_box()
    app.page.mouse.click(box["x"] + 0.85 * box["width"], box["y"] + 0.2 * box["height"])
    app.page.wait_for_timeout(800)
    app.wait_idle()
    after = x1.input_value()
    assert after != before, f"the click did not move the point (x₁ stays {before})"
    assert np.isfinite(float(after)) and main.get_by_role("heading", name="Your point").count() == 1
    app.check_page("own-point", min_charts=2)


def test_the_canvas_toolbar_leaves_the_input_choices_clear(app):
    """The canvas's toolbar floats above it on hover: it must sit in the room left for it, not over the radio."""
    _open(app, "digits-mlp", "Attribution", "Draw")
    canvas = app.page.locator(f"{MAIN} canvas.upper-canvas").first
    canvas.hover()
    toolbar = app.page.locator(f"{MAIN} .dc-toolbar-card").first  # in the component's (open) shadow root
    toolbar.wait_for(timeout=10_000)
    app.page.wait_for_timeout(600)  # it slides in
    choices = app.page.locator(f'{MAIN} [data-testid="stRadio"]').first.bounding_box()
    bar, board = toolbar.bounding_box(), canvas.bounding_box()
    assert choices["y"] + choices["height"] <= bar["y"], (choices, bar)  # below the input choices
    assert bar["y"] + bar["height"] <= board["y"] + 1, (bar, board)  # above the canvas, not over the drawing
