"""nnlab.live: the live metrics store a job's panel reads while a worker feeds it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnlab.live import LiveMetrics


def test_live_metrics_view_reports_progress_epochs_and_eta():
    live = LiveMetrics()
    assert live.view().fraction == 0 and live.view().eta is None and not live.view().started
    live.start(total_steps=10, steps_per_epoch=5, planned_snapshots=3)
    live.add_steps([1.0, 0.8], [0.5, 0.6], step=2, snapshots=1)
    live.add_steps([0.6], [0.7], step=3)
    live.add_epoch({"epoch": 1, "test_acc": 0.9})
    v = live.view()
    assert v.step == 3 and v.fraction == pytest.approx(0.3) and v.epoch == pytest.approx(0.6)
    np.testing.assert_allclose(v.loss, [1.0, 0.8, 0.6])
    np.testing.assert_allclose(v.acc, [0.5, 0.6, 0.7])
    assert v.snapshots == 1 and v.planned_snapshots == 3 and v.epochs == ({"epoch": 1, "test_acc": 0.9},)
    assert v.eta is not None and v.eta >= 0


def test_live_metrics_elapsed_follows_the_trainers_clock():
    live = LiveMetrics()
    live.start(100, 10)
    live.add_steps([1.0] * 50, [0.5] * 50, step=50, elapsed=10.0)  # the trainer says: 50 steps in 10 s
    v = live.view()
    assert 10.0 <= v.elapsed < 11.0 and v.eta == pytest.approx(v.elapsed, rel=0.1)  # as long again for the rest
    live.finish()
    assert live.view().elapsed == pytest.approx(live.view().elapsed)


def test_live_metrics_view_is_a_copy():
    live = LiveMetrics()
    live.start(4, 2)
    live.add_steps([1.0], [0.0], step=1)
    v = live.view()
    live.add_steps([2.0], [1.0], step=2)
    assert len(v.loss) == 1 and len(live.view().loss) == 2


def test_live_metrics_take_steps_from_many_threads():
    live = LiveMetrics()
    live.start(4000, 100)
    threads = [threading.Thread(target=lambda: [live.add_steps([1.0], [1.0]) for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(live.view().loss) == 4000
