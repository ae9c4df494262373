"""The main path through the pages that explain a run, clicked in a real Chromium: attribution for another class and
the next sample, a t-SNE map of a hidden layer computed in the background, and a third run added to a comparison."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

MAIN = '[data-testid="stMain"]'


def _click_and_wait(app, locator) -> None:
    locator.click()
    app.page.wait_for_timeout(300)
    app.wait_idle()


def _open(app, run: str, title: str, charts: int) -> None:
    """The page `title` with the run trained as `run` chosen in the sidebar, its charts drawn."""
    app.open()
    app.select_run(run)
    app.nav_link(title).click()
    app.wait_idle()
    app.wait_charts(charts)


def _chart_titles(app) -> list[str]:
    return app.page.locator(f'{MAIN} [data-testid="stPlotlyChart"] .g-xtitle').all_text_contents()  # svg: no innerText


def test_attribution_explains_another_class_then_the_next_sample(app):
    _open(app, "digits-cnn", "Attribution", 2)
    main = app.page.locator(MAIN)
    assert main.get_by_text("Test sample 0", exact=True).count() == 1
    _click_and_wait(app, main.get_by_text("Another class", exact=True))
    assert main.get_by_role("combobox", name="Class", exact=True).count() == 1, "no class to pick"
    app.wait_charts(2)
    app.assert_clean()
    _click_and_wait(app, main.get_by_role("button", name="Next"))
    assert main.get_by_text("Test sample 1", exact=True).count() == 1, "Next did not move to sample 1"
    app.check_page("attribution-another-class", min_charts=2)


def test_hidden_layers_runs_tsne_in_the_background(app):
    _open(app, "digits-mlp", "Hidden layers", 1)
    main = app.page.locator(MAIN)
    _click_and_wait(app, main.locator('[data-testid="stButtonGroup"]').get_by_text("t-SNE", exact=True))
    deadline = time.monotonic() + 120
    while not any("t-SNE 1" in t for t in _chart_titles(app)):  # the map arrives when the background task ends
        assert time.monotonic() < deadline, f"no t-SNE map after 120 s; charts: {_chart_titles(app)}"
        app.page.wait_for_timeout(500)
    app.wait_idle()
    app.check_page("hidden-tsne", min_charts=2)


def test_compare_adds_a_run_on_other_data_and_says_so(app):
    _open(app, "digits-cnn", "Compare runs", 3)
    box = app.page.locator(MAIN).get_by_role("combobox").first
    box.click()
    option = app.page.get_by_role("option").filter(has_text=app.runs["moons"])
    option.first.click()
    app.page.keyboard.press("Escape")
    app.page.wait_for_timeout(300)
    app.wait_idle()
    assert app.page.locator(MAIN).get_by_text("different data").count() >= 1, "no warning for mixed data"
    app.check_page("compare-three-runs", min_charts=3)
