"""Lessons 1, 2 and 8 in a real Chromium, clicking only what the lesson says: start, answer first (one prediction
wrong, the others right), set it up, do what the step asks, read the answer from the run; a screenshot per step
(artifacts/screenshots/lesson1-step1.png, ...), in a 1280×800 window, a laptop's. In lessons 1 and 8 every
step's box must be in sight when it opens (Start sits low on the Lessons page; the sidebar's slider sits low too,
so a step that asks for the training-time slider has one in its box)."""

from __future__ import annotations

import re

import pytest

from tests.browser import conftest

expect = pytest.importorskip("playwright.sync_api", reason=conftest.skip_reason() or "").expect

pytestmark = pytest.mark.browser
LAPTOP = {"width": 1280, "height": 800}

SETUP_TIMEOUT_MS = 120_000  # training a preset in the server's worker (a cold worker imports torch first)


def panel(app):
    return app.page.locator(".st-key-lesson_panel")


def click(app, text: str, *, within=None, timeout_ms: int = 60_000) -> None:
    where = within if within is not None else panel(app)
    button = where.get_by_role("button").filter(has_text=text).first
    button.wait_for()
    button.click()
    app.page.wait_for_timeout(400)
    app.wait_idle(timeout_ms=timeout_ms)


def choose(app, option: str) -> None:
    """Pick a predict-first choice and lock it in."""
    panel(app).get_by_text(option, exact=True).first.click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    click(app, "Lock in my answer")


def guess(app, key: str) -> None:
    """Move the predict-first slider to one end with the keyboard ("Home" or "End") and lock it in."""
    thumb = panel(app).get_by_role("slider").first
    thumb.focus()
    app.page.keyboard.press(key)
    app.page.wait_for_timeout(500)
    app.wait_idle()
    click(app, "Lock in my answer")


def slide_training_time(app, key: str, *, where: str = '[data-testid="stSidebar"]') -> None:
    """Move a training-time slider to one end with the keyboard ("Home" or "End"): the sidebar's, or the one
    in the step's box (`where=".st-key-lesson_snapshot_<lesson>_<step>"`)."""
    thumb = app.page.locator(where).get_by_role("slider").first
    thumb.focus()
    app.page.keyboard.press(key)
    app.page.wait_for_timeout(600)
    app.wait_idle()


def in_view(app) -> None:
    """The step's box is in the window: its top edge, its header line and its first button (the one it asks for:
    lock in, set it up, or next) all inside the viewport, not below it."""
    size = app.page.viewport_size
    box = panel(app).bounding_box()
    assert box is not None, "no lesson box on the page"
    assert 0 <= box["y"] < size["height"] - 150, f"the step's box starts at y={box['y']:.0f}, window {size}"
    first = panel(app).get_by_role("button").first.bounding_box()
    assert first is not None and first["y"] + first["height"] <= size["height"], (
        f"the step's first button is at y={first['y']:.0f}..{first['y'] + first['height']:.0f}, out of a "
        f"{size['height']} px window"
    )


@pytest.fixture()
def app(browser, server, trained_runs, monkeypatch):
    """The `app` of conftest in a 1280×800 window (screenshots keep that width; a failure's screenshot too)."""
    monkeypatch.setattr(conftest, "VIEWPORT", LAPTOP)  # the size a full-page screenshot returns to
    with conftest._app_page(browser, server, trained_runs) as a:
        a.page.set_viewport_size(LAPTOP)
        yield a


def step_shot(app, name: str, *, answer: bool = True) -> str:
    """Wait for the page's charts, screenshot, check for error boxes; return the panel's text."""
    app.check_page(name)
    text = panel(app).inner_text()
    if answer:
        assert "your" in text.lower() or "Your" in text, text
    return text


def start_lesson(app, name: str) -> None:
    """Open Lessons, scroll to the lesson's card and press Start; the step's box must come into view."""
    app.open("Lessons")
    button = app.page.locator(f'[data-testid="stMain"] .st-key-lessons_start_{name}').get_by_role("button")
    button.scroll_into_view_if_needed()
    button.click()
    app.page.wait_for_timeout(1000)  # the box scrolls itself into view once the page has drawn it
    app.wait_idle()


def test_lesson_1_one_neuron(app):
    start_lesson(app, "01-one-neuron")
    assert "step 1 of 4" in panel(app).inner_text()
    in_view(app)
    app.screenshot("lesson1-step1-start")

    choose(app, "A straight line")  # predict first (right), then set it up
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Decision boundary" in app.page.locator("h1").first.inner_text()
    in_view(app)
    text = step_shot(app, "lesson1-step1")
    assert "right" in text and "test accuracy" in text and "1 of 4 done" in text

    click(app, "Next step")
    in_view(app)
    guess(app, "End")  # 100% before any training: wrong
    assert "To do" in panel(app).inner_text()
    slide_training_time(app, "Home", where=".st-key-lesson_snapshot_01-one-neuron_1")  # the slider in the box
    sidebar = app.page.locator('[data-testid="stSidebar"] [data-testid="stSliderThumbValue"]').first
    expect(sidebar).to_have_text("0", timeout=15_000)  # the sidebar's moved with it (the box's redraws the app)
    expect(app.page).to_have_url(re.compile(r"[?&]snapshot=0(&|$)"), timeout=15_000)
    text = step_shot(app, "lesson1-step2")
    assert "not this time" in text and "Done" in text and "Before training your network got" in text

    click(app, "Next step")
    in_view(app)
    guess(app, "End")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    in_view(app)
    text = step_shot(app, "lesson1-step3")
    assert "Eight units reach" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "A straight edge between silent and firing")
    text = step_shot(app, "lesson1-step4")
    assert "Lesson complete" in text and "units never fired" in text and "4 of 4 done" in text


def test_lesson_8_pixels(app):
    start_lesson(app, "08-pixels")
    assert "step 1 of 3" in panel(app).inner_text()
    in_view(app)
    app.screenshot("lesson8-step1-start")

    choose(app, "Shapes that follow the digit's strokes")  # right
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Attribution" in app.page.locator("h1").first.inner_text()
    in_view(app)
    main = app.page.locator('[data-testid="stMain"]')
    larger = main.locator(".st-key-attr_larger input[type=checkbox]")
    assert larger.is_checked()  # 8×8 digits: the larger maps by default, to follow the strokes
    text = step_shot(app, "lesson8-step1")
    assert "right" in text and "test accuracy" in text

    click(app, "Next step")
    in_view(app)
    choose(app, "Some of them still look like the digit")  # right
    slide_training_time(app, "Home", where=".st-key-lesson_snapshot_08-pixels_1")
    text = step_shot(app, "lesson8-step2")
    assert "Done" in text and "At snapshot 0 your network got" in text

    click(app, "Next step")
    in_view(app)
    assert "To do" in panel(app).inner_text()
    slide_training_time(app, "End", where=".st-key-lesson_snapshot_08-pixels_2")
    text = step_shot(app, "lesson8-step3")
    assert "Done" in text and "uses this evidence" in text and "Lesson complete" in text and "3 of 3 done" in text


def test_lesson_2_activation(app):
    app.open("Lessons")
    main = app.page.locator('[data-testid="stMain"]')
    main.locator(".st-key-lessons_start_02-activation").get_by_role("button").click()
    app.page.wait_for_timeout(400)
    app.wait_idle()
    assert "What an activation does" in panel(app).inner_text()

    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Layer walk-through" in app.page.locator("h1").first.inner_text()
    guess(app, "Home")  # 0% zeros
    step_shot(app, "lesson2-step1")

    click(app, "Next step")
    guess(app, "Home")  # no dead unit
    step_shot(app, "lesson2-step2")

    click(app, "Next step")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "To do" in panel(app).inner_text()
    main.locator('[data-testid="stRadio"]').get_by_text(
        "Misclassified", exact=True
    ).first.click()  # what the step says: Misclassified, then Next
    app.page.wait_for_timeout(400)
    app.wait_idle()
    click(app, "Next", within=main.locator(".st-key-walk_next"))
    text = step_shot(app, "lesson2-step3")
    assert "Done" in text and "evaluation digits wrong" in text

    click(app, "Next step")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    choose(app, "Squashes them into −1…0, keeping their sign")  # right
    text = step_shot(app, "lesson2-step4")
    assert "tanh squashes" in text and "right" in text
