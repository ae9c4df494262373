"""Lesson 10 ("Why neurons mean several things") in a real Chromium, clicking only what the lesson says: start,
predict first, set it up, do what the step asks, read the answer from the run; the toy model's pictures on the
Weight evolution page (arrows, norms, WᵀW, norms over training) and the Units page on the digits network's most
mixed unit; a screenshot per step (artifacts/screenshots/lesson10-step1.png, ...) in a 1280×800 window."""

from __future__ import annotations

import pytest

from tests.browser import conftest
from tests.browser.test_lessons import (
    LAPTOP,
    SETUP_TIMEOUT_MS,
    choose,
    click,
    in_view,
    panel,
    slide_training_time,
    start_lesson,
    step_shot,
)

expect = pytest.importorskip("playwright.sync_api", reason=conftest.skip_reason() or "").expect

pytestmark = pytest.mark.browser
NAME = "10-superposition"


@pytest.fixture()
def app(browser, server, trained_runs, monkeypatch):
    """The `app` of conftest in a 1280×800 window (screenshots keep that width; a failure's screenshot too)."""
    monkeypatch.setattr(conftest, "VIEWPORT", LAPTOP)
    with conftest._app_page(browser, server, trained_runs) as a:
        a.page.set_viewport_size(LAPTOP)
        yield a


def guess_number(app, value: float, *, low: float = 0, step: float = 1) -> None:
    """Set the predict-first slider (from `low` in steps of `step`) to `value` with the keyboard and lock it in."""
    thumb = panel(app).get_by_role("slider").first
    thumb.focus()
    app.page.keyboard.press("Home")
    for _ in range(round((value - low) / step)):
        app.page.keyboard.press("ArrowRight")
    app.page.wait_for_timeout(500)
    app.wait_idle()
    click(app, "Lock in my answer")


def toy_section(app) -> str:
    """The toy model's section of the Weight evolution page: its text, once its four charts are drawn."""
    section = app.page.locator(".st-key-weights_toy")
    section.wait_for()
    expect(section.locator(".js-plotly-plot")).to_have_count(4, timeout=30_000)
    return section.inner_text()


def test_lesson_10_superposition(app):
    start_lesson(app, NAME)
    assert "step 1 of 5" in panel(app).inner_text()
    in_view(app)

    guess_number(app, 2)  # right: 2 features in 2 dimensions
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Weight evolution" in app.page.locator("h1").first.inner_text()
    section = toy_section(app)
    assert "5 features into 2 dimensions" in section and "2 features are represented" in section
    text = step_shot(app, "lesson10-step1")
    assert "right" in text and "Your model keeps 2 of its 5 features" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "More than 2: they share the dimensions")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    section = toy_section(app)
    assert "5 features are represented" in section
    text = step_shot(app, "lesson10-step2")
    assert "Now 5 of your model's 5 features have an arrow" in text and "superposition" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "Mostly far from zero: the features overlap")
    text = step_shot(app, "lesson10-step3")
    assert "Off the diagonal of your model's WᵀW" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "Random lengths and directions")
    click(app, "Set it up")
    assert "To do" in panel(app).inner_text()
    expect(app.page.locator('[data-testid="stSidebar"] [data-testid="stSliderThumbValue"]').first).to_have_text("0")
    app.screenshot("lesson10-step4-start")
    slide_training_time(app, "End", where=f".st-key-lesson_snapshot_{NAME}_3")
    text = step_shot(app, "lesson10-step4")
    assert "Done" in text and "Before training," in text and "arrows happened to be longer than 0.5" in text

    click(app, "Next step")
    in_view(app)
    guess_number(app, 4, low=1)  # the slider starts at 1 digit
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Units" in app.page.locator("h1").first.inner_text()
    text = step_shot(app, "lesson10-step5")
    assert "of your network's relu1" in text and "polysemantic" in text
    assert "Lesson complete" in text and "5 of 5 done" in text
