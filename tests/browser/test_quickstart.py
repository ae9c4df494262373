"""The main path in a real Chromium: Home's quick start, and the Train page training a run live to the end.

Both write a new run into the session's runs folder; the page tests pick their runs by id, so order does not matter.
"""

from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.browser

QUICK_START = "Quick start: train on two moons"
TRAIN_TIMEOUT_S = 120  # five epochs of two moons take a few seconds; a loaded CI machine is slower


def _new_runs(app_dirs, before: set[str]) -> list[str]:
    return sorted({p.name for p in app_dirs["runs"].iterdir()} - before)


def _status(app_dirs, run_id: str) -> str:
    return json.loads((app_dirs["runs"] / run_id / "manifest.json").read_text())["status"]


def test_quick_start_trains_a_run_and_selects_it(app, app_dirs):
    app.open()
    before = {p.name for p in app_dirs["runs"].iterdir()}
    button = app.page.get_by_role("button").filter(has_text=QUICK_START)
    button.first.wait_for()  # count() does not wait, and the page may be redrawing its elements just then
    assert button.count() == 1, "Home should show one quick start button"
    button.click()
    app.page.wait_for_timeout(500)
    app.wait_idle(timeout_ms=TRAIN_TIMEOUT_S * 1000)
    app.assert_clean()

    new = _new_runs(app_dirs, before)
    assert len(new) == 1, f"expected one new run folder, got {new}"
    run_id = new[0]
    assert run_id.startswith("quickstart-moons")
    assert _status(app_dirs, run_id) == "complete"
    picker = app.page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Run")
    assert picker.input_value() == run_id, "the new run is not the current run"
    assert "status: complete" in app.page.locator('[data-testid="stSidebar"]').inner_text()
    app.check_page("home-after-quickstart")


def test_train_page_trains_live_then_opens_the_run(app, app_dirs):
    """Start (default: an MLP on two moons), see the live panel, wait for the end, then "Look inside this run"."""
    app.open("Train")
    before = {p.name for p in app_dirs["runs"].iterdir()}
    app.page.get_by_role("button").filter(has_text="Start training").click()

    # While training, the live panel redraws twice a second: the script never stays idle, so wait for what it shows.
    main = app.page.locator('[data-testid="stMain"]')
    finished = main.get_by_text("Finished:")
    main.locator('[data-testid="stProgress"], [data-testid="stAlertContentSuccess"]').first.wait_for()
    main.locator('[data-testid="stPlotlyChart"], [data-testid="stAlertContentSuccess"]').first.wait_for()
    if not finished.count():  # curves drawing live: the screenshot of training (kept if it was still running after)
        app.page.wait_for_timeout(1000)
        shot = app.screenshot("train-running")
        if finished.count():
            shot.unlink()
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while not finished.count():
        app.assert_clean()
        assert time.monotonic() < deadline, f"training did not finish within {TRAIN_TIMEOUT_S} s"
        app.page.wait_for_timeout(250)
    app.wait_idle()
    new = _new_runs(app_dirs, before)
    assert len(new) == 1, f"expected one new run folder, got {new}"
    assert _status(app_dirs, new[0]) == "complete"
    assert new[0] in main.inner_text(), "the panel does not name the run it trained"
    app.check_page("train-finished", min_charts=1)

    app.page.get_by_role("button").filter(has_text="Look inside this run").click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    picker = app.page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Run")
    assert picker.input_value() == new[0], "Look inside did not make the new run the current run"
    app.check_page("train-look-inside")
