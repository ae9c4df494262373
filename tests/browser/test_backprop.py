"""Issue 28 in a real Chromium: a student picks a sample on the Backpropagation page and steps back through a digits
CNN (loss, gradients with their gates, the filters' gradients, the optimizer's step), and on two moons drags a weight
of the network you can hold and sees the decision boundary change, then puts it back.

Screenshots: artifacts/screenshots/backprop-cnn.png, backprop-moons.png and backprop-moons-edited.png.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
MAIN = '[data-testid="stMain"]'

BOUNDARY_IMAGE_JS = """() => {
  const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')];
  const board = plots.find(p => (p.data || []).some(t => t.name === 'the sample'));
  return board ? board.data[0].source.slice(-300) : null;
}"""


def wait_for_text(app, text: str, timeout_ms: int = 60_000) -> None:
    app.page.locator(MAIN).get_by_text(text).first.wait_for(timeout=timeout_ms)
    app.wait_idle()


def test_a_sample_backward_through_a_digits_cnn(app):
    app.open("Backpropagation")
    app.select_run("digits-cnn")
    wait_for_text(app, "1 · The loss")
    app.page.locator(MAIN).get_by_role("button", name="Next").first.click()
    app.wait_idle()
    n = app.check_page("backprop-cnn", min_charts=5)
    assert n >= 5
    said = app.page.locator(MAIN).inner_text()
    for step in (
        "1 · The loss",
        "2 · The gradient flows back",
        "3 · Each weight's gradient",
        "4 · The optimizer's step",
    ):
        assert step in said
    assert "the cross-entropy loss is" in said and "The gradient is largest at" in said
    assert "the gate stopped the gradient" in said and "The weight that moves most is" in said
    assert "sample=1" in app.page.url


@pytest.fixture(scope="module")
def small_moons(app_dirs, server) -> str:
    """A network small enough to hold (2-8-8-2) on two moons, trained into the server's runs folder."""
    import torch

    from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = train_run(
            DataConfig.make("moons"),
            MLPConfig(hidden=(8, 8)),
            TrainConfig(batch_size=32, epochs=3, seed=0),
            RecordConfig(snapshots=5),
            root=app_dirs["runs"],
            name="moons-small",
        )
    finally:
        torch.set_num_threads(threads)
    return run.id


def test_on_two_moons_drag_a_weight_and_watch_the_boundary_move(app, small_moons):
    app.open("Backpropagation")
    app.select_run(small_moons)
    wait_for_text(app, "5 · A network you can hold")
    app.wait_charts(6)
    before = app.page.evaluate(BOUNDARY_IMAGE_JS)
    assert before is not None
    app.screenshot("backprop-moons")
    slider = app.page.locator(MAIN).get_by_role("slider").first
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    app.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    app.page.mouse.down()
    app.page.mouse.move(box["x"] + box["width"] / 2 + 400, box["y"] + box["height"] / 2, steps=8)
    app.page.mouse.up()
    wait_for_text(app, "You changed 1 value by hand")
    app.wait_charts(6)
    after = app.page.evaluate(BOUNDARY_IMAGE_JS)
    assert after != before
    app.check_page("backprop-moons-edited", min_charts=6)
    app.page.locator(MAIN).get_by_role("button", name="Reset to the snapshot").click()
    app.wait_idle()
    app.wait_charts(6)
    assert "You changed" not in app.page.locator(MAIN).inner_text()
    assert app.page.evaluate(BOUNDARY_IMAGE_JS) == before
    app.assert_clean()
