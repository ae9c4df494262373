"""Lesson 11 ("Finding features with a sparse autoencoder") in a real Chromium, clicking only what the lesson says:
the digits network's most mixed unit on the Units page, then on the Features page a sparse autoencoder trained
from the page (the step waits for it), neurons against features and one feature's sentence; a screenshot per step
(artifacts/screenshots/lesson11-step1.png, ...) in a 1280×800 window."""

from __future__ import annotations

import pytest

from tests.browser import conftest
from tests.browser.test_lessons import LAPTOP, SETUP_TIMEOUT_MS, choose, click, in_view, panel, start_lesson, step_shot
from tests.browser.test_lessons_superposition import guess_number

expect = pytest.importorskip("playwright.sync_api", reason=conftest.skip_reason() or "").expect

pytestmark = pytest.mark.browser
MAIN = '[data-testid="stMain"]'
SAE_TIMEOUT_MS = 300_000  # the SAE trains in the server's worker while the browser waits


@pytest.fixture()
def app(browser, server, trained_runs, monkeypatch):
    """The `app` of conftest in a 1280×800 window (screenshots keep that width; a failure's screenshot too)."""
    monkeypatch.setattr(conftest, "VIEWPORT", LAPTOP)
    with conftest._app_page(browser, server, trained_runs) as a:
        a.page.set_viewport_size(LAPTOP)
        yield a


def test_lesson_11_sparse_autoencoder(app):
    start_lesson(app, "11-sparse-autoencoder")
    assert "step 1 of 4" in panel(app).inner_text()
    in_view(app)

    guess_number(app, 20, step=5)  # the median unit's purity, in % (the slider moves by 5)
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Units" in app.page.locator("h1").first.inner_text()
    text = step_shot(app, "lesson11-step1")
    assert "The median purity of your network's relu1 units is" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "Each fires mostly for one digit")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Features" in app.page.locator("h1").first.inner_text()
    # With no SAE yet the Features page ends early (end_page): the step's box is still drawn above it.
    expect(panel(app).get_by_text("Train a sparse autoencoder", exact=True)).to_be_visible()
    app.screenshot("lesson11-step2-setup")
    main = app.page.locator(MAIN)
    main.get_by_role("button", name="Train features").click()  # what the step says: keep the defaults, train
    expect(panel(app).get_by_text("Your sparse autoencoder rebuilds")).to_be_visible(timeout=SAE_TIMEOUT_MS)
    app.wait_idle()
    text = step_shot(app, "lesson11-step2")
    assert "Done" in text and "of relu1's variance" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "Features are much purer")
    main.get_by_text("Neurons against features").first.wait_for()
    text = step_shot(app, "lesson11-step3")
    assert "Median purity: your relu1 units" in text and "each carry it on one of them" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "The numbers under it: its classes, frequency and effect")
    text = step_shot(app, "lesson11-step4")
    assert "Your purest feature is" in text and "not by a language model" in text
    assert "Lesson complete" in text and "4 of 4 done" in text
