"""A training run survives a student clicking around: widgets changed, pages switched, the tab reloaded.

The run is started on the Train page: a wide CNN for 50 epochs on a seeded drop-in file of 10,000 28×28 images
(about 12,500 steps: minutes even on a fast many-core machine; a digits-sized run once finished on CI before the
test was done clicking). After each disturbance the page must show the same job still running, further along than
before. Then Stop ends it cleanly: exactly one new run, "stopped", with the snapshots recorded until then and its
original settings.
(`tests/test_page_train.py` lets a run finish while the app reruns and switches pages, and counts every snapshot.)
The live panel's refresh rate is measured on the way and printed (`pytest -s` shows it); it is not asserted, since a
loaded CI machine is slower.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

pytestmark = pytest.mark.browser

EPOCHS = 50
STOP_TIMEOUT_S = 60
STEP = re.compile(r"step (\d+) of (\d+)")
DATASET = "stripes"  # the drop-in file this test writes: 28×28 noise, one bright row per class


def _write_images(folder, n: int = 10_000, seed: int = 0) -> None:
    """A seeded .npz of `n` 28×28 grey images in 10 classes (a bright row per class over noise), written atomically."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.int64)
    x = rng.integers(0, 96, (n, 28, 28), dtype=np.uint8)
    x[np.arange(n), 2 + 2 * y, :] = 255
    part = folder / f"{DATASET}.npz.part"
    with open(part, "wb") as f:
        np.savez(f, x_train=x, y_train=y)
    part.replace(folder / f"{DATASET}.npz")


def _step(app) -> int | None:
    """The step the live panel's progress bar shows, or None when no training is shown as running."""
    bars = app.page.locator('[data-testid="stMain"] [data-testid="stProgress"]')
    for text in bars.all_inner_texts():
        m = STEP.search(text)
        if m:
            return int(m.group(1))
    return None


def _wait_step_after(app, after: int, timeout_s: float = 60) -> int:
    """Wait until the panel shows a step beyond `after` (the job goes on); returns it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        step = _step(app)
        if step is not None and step > after:
            return step
        app.page.wait_for_timeout(100)
    pytest.fail(f"the Train page no longer shows the training going on (last step seen {after})")


def _set_slider(app, label: str, value: int) -> None:
    """Move a Streamlit slider to `value` with the keyboard (Home or End, then arrows), then wait for the rerun."""
    box = app.page.locator('[data-testid="stMain"] [data-testid="stSlider"]').filter(has_text=label)
    thumb = box.first.get_by_role("slider")
    thumb.focus()
    app.page.keyboard.press("Home")
    for _ in range(300):
        if int(float(thumb.input_value())) >= value:
            break
        app.page.keyboard.press("ArrowRight")
    app.page.wait_for_timeout(300)
    app.wait_idle()
    assert int(float(thumb.input_value())) == value, f"{label} slider shows {thumb.input_value()}, not {value}"


def test_training_survives_widgets_page_switches_and_a_reload(app, app_dirs):
    _write_images(app_dirs["data"])
    app.open("Train")
    app.select("Dataset", DATASET)
    app.page.locator('[data-testid="stMain"] [data-testid="stButtonGroup"]').get_by_text("CNN", exact=True).click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    _set_slider(app, "Epochs", EPOCHS)
    channels = app.page.locator('[data-testid="stMain"]').get_by_role("textbox", name="Conv channels")
    channels.fill("64, 128")  # wide convolutions: minutes of training, so it is still going while we click
    channels.press("Enter")
    app.page.wait_for_timeout(300)
    app.wait_idle()
    before = {p.name for p in app_dirs["runs"].iterdir()}
    app.page.get_by_role("button").filter(has_text="Start training").click()
    step = _wait_step_after(app, 0)

    # The live panel: how often does the step shown change? (each refresh shows a new step while training)
    seen, t0 = [step], time.monotonic()
    while time.monotonic() - t0 < 6:
        app.page.wait_for_timeout(50)
        s = _step(app)
        if s is not None and s != seen[-1]:
            seen.append(s)
    print(f"\nlive panel: {len(seen) - 1} updates in 6 s ({(len(seen) - 1) / 6:.1f} per second)")
    assert len(seen) >= 3, f"the live panel did not move during 3 s of training: {seen}"
    app.wait_charts(1)
    app.screenshot("train-running")  # the README's picture of the Train page
    step = _wait_step_after(app, seen[-1])

    # 1. Change widgets on the Train page while it trains: the form reruns, the training goes on.
    channels.fill("4")
    channels.press("Enter")
    app.page.wait_for_timeout(500)
    step = _wait_step_after(app, step)
    _set_slider(app, "Epochs", 3)  # a setting for the *next* run; this one keeps its 50 epochs
    step = _wait_step_after(app, step)
    app.assert_clean()

    # 2. Switch to other pages and come back.
    for title in ("Datasets", "Home"):
        app.nav_link(title).click()
        app.page.wait_for_timeout(300)
        app.wait_idle()
        app.assert_clean()
    app.nav_link("Train").click()
    step = _wait_step_after(app, step)
    assert "job=" in app.page.url, "the Train page does not keep the watched job in its address"

    # 3. Reload the tab: a new browser session, the same training.
    app.page.reload(wait_until="domcontentloaded")
    step = _wait_step_after(app, step)
    app.assert_clean()
    main = app.page.locator('[data-testid="stMain"]')
    shown = main.get_by_role("combobox", name="Dataset", exact=True).first.input_value()
    assert DATASET in shown, f"the reloaded form shows {shown!r}, not the running job's data"
    assert channels.input_value() == "64, 128", "the reloaded form does not show the running job's network"

    # Stop: the run ends cleanly and keeps what it recorded.
    main.get_by_role("button", name="Stop", exact=True).click()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while not main.get_by_text("Stopped at step").count():
        assert time.monotonic() < deadline, f"training did not stop within {STOP_TIMEOUT_S} s"
        app.page.wait_for_timeout(250)
    app.wait_idle()
    new = sorted({p.name for p in app_dirs["runs"].iterdir()} - before)
    assert len(new) == 1, f"expected the one run started, got {new}"
    manifest = json.loads((app_dirs["runs"] / new[0] / "manifest.json").read_text())
    assert manifest["status"] == "stopped"
    assert manifest["train"]["epochs"] == EPOCHS, "the run was restarted with the changed settings"
    assert manifest["model"]["channels"] == [64, 128], "the run was restarted with the changed settings"
    assert len(manifest["snapshots"]) >= 2, "the snapshots recorded before Stop are missing"
    assert all((app_dirs["runs"] / new[0] / s["file"]).is_file() for s in manifest["snapshots"])
    app.check_page("train-stopped-after-clicking", min_charts=1)
