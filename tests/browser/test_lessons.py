"""Lessons 1 and 2 in a real Chromium, clicking only what the lesson says: start, set it up, answer first (one
prediction wrong, the others right), do what the step asks, read the answer from the run; a screenshot per step
(artifacts/screenshots/lesson1-step1.png, ...)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

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


def slide_training_time(app, key: str) -> None:
    thumb = app.page.locator('[data-testid="stSidebar"]').get_by_role("slider").first
    thumb.focus()
    app.page.keyboard.press(key)
    app.page.wait_for_timeout(600)
    app.wait_idle()


def step_shot(app, name: str, *, answer: bool = True) -> str:
    """Wait for the page's charts, screenshot, check for error boxes; return the panel's text."""
    app.check_page(name)
    text = panel(app).inner_text()
    if answer:
        assert "your" in text.lower() or "Your" in text, text
    return text


def test_lesson_1_one_neuron(app):
    app.open("Lessons")
    click(app, "Start", within=app.page.locator('[data-testid="stMain"]'))
    assert "step 1 of 4" in panel(app).inner_text()
    app.screenshot("lesson1-step1-start")

    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    assert "Decision boundary" in app.page.locator("h1").first.inner_text()
    choose(app, "A straight line")  # right
    text = step_shot(app, "lesson1-step1")
    assert "right" in text and "test accuracy" in text

    click(app, "Next")
    guess(app, "End")  # 100% before any training: wrong
    assert "To do" in panel(app).inner_text()
    slide_training_time(app, "Home")
    text = step_shot(app, "lesson1-step2")
    assert "not this time" in text and "Done" in text and "Before training your network got" in text

    click(app, "Next")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    guess(app, "End")
    text = step_shot(app, "lesson1-step3")
    assert "Eight units reach" in text

    click(app, "Next")
    choose(app, "A straight edge between silent and firing")
    text = step_shot(app, "lesson1-step4")
    assert "Lesson complete" in text and "units never fired" in text


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

    click(app, "Next")
    guess(app, "Home")  # no dead unit
    step_shot(app, "lesson2-step2")

    click(app, "Next")
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

    click(app, "Next")
    click(app, "Set it up", timeout_ms=SETUP_TIMEOUT_MS)
    choose(app, "Squashes them into −1…0, keeping their sign")  # right
    text = step_shot(app, "lesson2-step4")
    assert "tanh squashes" in text and "right" in text
