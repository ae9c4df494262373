"""Issue 27 in a real Chromium: on the Features page a student trains a sparse autoencoder on the digits MLP's
hidden layer (a background job with progress), reads its quality and one feature's dashboard, picks another feature,
and sees the neurons against the features; the walk-through then offers steering with it.

Screenshots: artifacts/screenshots/features.png (the page after training) and features-steering.png.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
MAIN = '[data-testid="stMain"]'


def wait_for_text(app, text: str, timeout_ms: int = 120_000) -> None:
    app.page.locator(MAIN).get_by_text(text).first.wait_for(timeout=timeout_ms)
    app.wait_idle()


def test_train_features_from_the_page_and_open_one(app):
    app.open("Features")
    app.select_run("digits-mlp")
    wait_for_text(app, "No sparse autoencoder on")
    app.page.locator(MAIN).get_by_role("button", name="Train features").click()
    wait_for_text(app, "Trained and saved in the run")
    wait_for_text(app, "Neurons against features")
    n = app.check_page("features", min_charts=5)
    assert n >= 5
    said = app.page.locator(MAIN).inner_text()
    assert "Variance explained" in said and "spliced in" in said and "Feature " in said
    assert "the least pure, fires for" in said
    box = app.page.locator(MAIN).get_by_role("combobox", name="Feature", exact=True).first
    first = box.input_value()
    box.scroll_into_view_if_needed()
    box.click()
    app.page.keyboard.press("ArrowDown")  # the next feature of the list
    app.page.keyboard.press("Enter")
    app.page.wait_for_timeout(300)
    app.wait_idle()
    assert box.input_value() != first
    assert f"Feature {box.input_value()} " in app.page.locator(MAIN).inner_text()  # its sentence
    app.wait_charts(5)
    app.assert_clean()

    app.open("Layer walk-through")
    app.select_run("digits-mlp")  # a fresh load opens the newest run
    wait_for_text(app, "Steer a feature")
    app.check_page("features-steering", min_charts=1)
    assert "With feature" in app.page.locator(MAIN).inner_text()
