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
    first = app.page.locator(MAIN).get_by_role("combobox", name="Feature", exact=True).first.input_value()
    options = app.page.locator(MAIN).get_by_role("combobox", name="Feature", exact=True).first
    options.click()
    app.page.get_by_role("option").nth(1).click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    assert options.input_value() != first
    app.wait_charts(5)
    app.assert_clean()

    app.open("Layer walk-through")
    wait_for_text(app, "Steer a feature")
    app.check_page("features-steering", min_charts=1)
    assert "With feature" in app.page.locator(MAIN).inner_text()
