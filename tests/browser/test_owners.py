"""Two students in two browsers (two Chromium contexts, each its own cookie): B never sees A's run or training, and
cannot stop, rename or delete them; A's identity survives a reload (the cookie), and so do A's runs.

A trains a wide CNN on digits for 50 epochs on the Train page (minutes: still going while B looks), then stops it.
"""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.browser.conftest import _app_page

pytestmark = pytest.mark.browser

STOP_TIMEOUT_S = 60


def _cookie(app) -> str | None:
    return next((c["value"] for c in app.page.context.cookies() if c["name"] == "nnlab_id"), None)


def _run_options(app) -> list[str]:
    box = app.page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Run", exact=True)
    options = app.page.get_by_role("option")
    for _ in range(3):  # a rerun that lands just after the click closes the list: open it again
        box.first.scroll_into_view_if_needed()
        box.first.click()
        with contextlib.suppress(Exception):
            options.first.wait_for(timeout=10_000)
        if options.count():
            break
        app.page.keyboard.press("Escape")
        app.wait_idle()
    texts = options.all_inner_texts()
    app.page.keyboard.press("Escape")
    return texts


def _wait_for(predicate, timeout_s: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture()
def two(browser, server, trained_runs):
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(_app_page(browser, server, trained_runs)) for _ in range(2)]


def test_b_never_sees_as_run_or_training_and_cannot_stop_it(two, app_dirs):
    a, b = two
    a.open("Train")
    _wait_for(lambda: _cookie(a), what="A's identity cookie")
    a.select("Dataset", "digits")
    main = a.page.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stButtonGroup"]').get_by_text("CNN", exact=True).click()
    a.page.wait_for_timeout(300)
    a.wait_idle()
    epochs = main.locator('[data-testid="stSlider"]').filter(has_text="Epochs").first.get_by_role("slider")
    epochs.focus()
    a.page.keyboard.press("End")  # 50 epochs
    channels = main.get_by_role("textbox", name="Conv channels")
    channels.fill("64, 128")
    channels.press("Enter")
    a.page.wait_for_timeout(300)
    a.wait_idle()
    before = {p.name for p in app_dirs["runs"].iterdir()}
    main.get_by_role("button").filter(has_text="Start training").click()
    main.get_by_role("button", name="Stop", exact=True).wait_for()
    job_url = a.page.url
    assert "job=" in job_url
    _wait_for(lambda: {p.name for p in app_dirs["runs"].iterdir()} - before, what="A's run folder")
    (run_id,) = {p.name for p in app_dirs["runs"].iterdir()} - before

    # B: the Train page counts A's training without naming it, and offers no Watch.
    b.open("Train")
    b_main = b.page.locator('[data-testid="stMain"]')
    b_main.get_by_text("1 other training is running on this server").wait_for()
    assert "Also training on this server" not in b_main.inner_text()
    assert not b_main.get_by_role("button", name="Watch").count()
    assert _cookie(b) and _cookie(b) != _cookie(a)
    # B opens A's ?job= link: nothing of it is shown, and no Stop.
    b.page.goto(job_url, wait_until="domcontentloaded")
    b.wait_idle()
    b_main.get_by_text("not one of yours").wait_for()
    assert not b_main.get_by_role("button", name="Stop", exact=True).count()
    b.assert_clean()

    # A stops it; A's run is A's, B's lists never show it.
    main.get_by_role("button", name="Stop", exact=True).click()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while not main.get_by_text("Stopped at step").count():
        assert time.monotonic() < deadline, f"training did not stop within {STOP_TIMEOUT_S} s"
        a.page.wait_for_timeout(200)
    b.open("Runs")
    assert run_id not in b.page.locator('[data-testid="stMain"]').inner_text()
    assert not any(run_id in o for o in _run_options(b))
    assert any(o in _run_options(b) for o in b.runs.values())  # the runs trained before owners: everyone's
    b.assert_clean()

    # A reloads (a new session, the same browser): still A, the run still A's to rename and delete.
    a.page.reload(wait_until="domcontentloaded")
    a.wait_idle()
    assert run_id in _run_options(a)  # A's own: not marked
    a.open("Runs")
    a.select("Run", run_id)
    a_main = a.page.locator('[data-testid="stMain"]')
    assert a_main.get_by_role("button", name="Rename").count() == 1
    assert a_main.get_by_role("button", name="Delete…").count() == 1
    a.screenshot("runs-own")
    a.assert_clean()
    b.assert_clean()
