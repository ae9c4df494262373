"""Issue 17 in a real Chromium: the Attribution page's model randomisation check runs in the background and draws
its maps and curves, and the Units page draws a conv channel's top examples, density, ablation and ranking.

Screenshots: artifacts/screenshots/sanity.png and units.png (the README's docs/screenshots/ copies come from these).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
MAIN = '[data-testid="stMain"]'


def wait_for_text(app, text: str, timeout_ms: int = 60_000) -> None:
    app.page.locator(MAIN).get_by_text(text).first.wait_for(timeout=timeout_ms)
    app.wait_idle()


def test_the_sanity_check_on_a_digits_cnn(app):
    app.open("Attribution")
    app.select_run("digits-cnn")
    app.wait_charts(2)
    app.page.locator(MAIN).get_by_text("Run the model randomisation check").first.click()
    wait_for_text(app, "Rank correlation with the trained network's map")
    n = app.check_page("sanity", min_charts=4)
    assert n >= 4
    said = app.page.locator(MAIN).inner_text()
    assert "changed little" in said or "changed a lot" in said
    assert "snapshot 0" in said


def test_the_units_page_on_a_digits_cnn(app):
    app.open("Units")
    app.select_run("digits-cnn")
    wait_for_text(app, "Accuracy lost when one channel alone is switched off")
    n = app.check_page("units", min_charts=4)
    assert n >= 4
    said = app.page.locator(MAIN).inner_text()
    assert "What its strongest position sees" in said or "strongest position" in said
