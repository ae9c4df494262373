"""The analysis pages' gate (appkit/frame/gate.py) through the whole app: a page without a run offers the quick start;
a run whose data file is gone says so, on every page that needs the data, in one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run
from tests import app_harness
from tests.app_harness import app_test, errors

jobs = app_harness.jobs  # the app's job registry, released after this module
app_dirs = app_harness.app_dirs  # empty data and runs folders as the app's

WALK, CLASSES = "app_pages/walkthrough.py", "app_pages/class_averages.py"
WEIGHTS, BOUNDARY = "app_pages/weights.py", "app_pages/boundary.py"


@pytest.mark.parametrize("page", [WEIGHTS, BOUNDARY])
def test_pages_without_a_run_offer_the_quick_start(page, app_dirs, jobs, monkeypatch):
    at = app_test(monkeypatch, page)
    assert not errors(at)
    assert not at.get("plotly_chart")
    assert any("Quick start" in b.label for b in at.button)


@pytest.mark.parametrize(
    ("page", "what"),
    [(WALK, "its samples"), (CLASSES, "its class averages"), ("app_pages/boundary.py", "its decision boundary")],
)
def test_a_run_whose_data_file_is_gone_says_so_on_every_page_that_needs_it(app_dirs, jobs, monkeypatch, page, what):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)).astype(np.float32)
    np.savez(app_dirs["data"] / "blobs2.npz", x_train=x, y_train=(x[:, 0] > 0).astype(np.int64))
    run = train_run(
        DataConfig.make("blobs2"),
        MLPConfig(input_shape=(2,), n_classes=2, hidden=(4,)),
        TrainConfig(batch_size=16, epochs=1),
        RecordConfig(snapshots=2, eval_size=10),
        root=app_dirs["runs"],
        name="gone",
    )
    (app_dirs["data"] / "blobs2.npz").unlink()  # the student deleted or renamed the file
    at = app_test(monkeypatch)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not at.exception
    assert len(at.error) == 1
    text = at.error[0].value
    assert "**blobs2**" in text and f"so {what} cannot be shown" in text and "pick another run" in text
