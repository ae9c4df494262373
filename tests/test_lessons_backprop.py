"""Lesson 9's facts come from the run: the backward pass of the first evaluation sample right at the snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnlab.analysis import backprop as bp
from nnlab.lessons import load_lesson
from nnlab.lessons.facts import At, _right_sample, fact

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "09-backprop-by-hand.toml"


def test_the_lesson_loads_and_opens_the_backprop_page():
    lesson = load_lesson(LESSON)
    assert lesson.title == "Backpropagation by hand" and {s.page for s in lesson.steps} == {"backprop"}
    assert lesson.steps[1].question.right == 0 and dict(lesson.steps[1].params) == {"sample": "{right_sample}"}


def test_the_backprop_facts_are_the_records(tiny_run):
    at = At(snapshot=-1)
    index = _right_sample(tiny_run, at)
    ds = tiny_run.dataset()
    record = bp.run_backprop(
        tiny_run, len(tiny_run) - 1, ds.prepare(ds.x_test[index : index + 1]), int(ds.y_test[index])
    )
    first = record.param("dense1.weight")
    i, j = np.unravel_index(int(np.abs(first.grad).argmax()), first.grad.shape)
    assert fact("backprop_weight", tiny_run, at) == f"dense1.weight[{i}, {j}]"
    assert fact("backprop_gradient", tiny_run, at) == pytest.approx(float(first.grad[i, j]))
    assert abs(first.grad[i, j]) == pytest.approx(np.abs(first.outgoing).max() * np.abs(first.incoming).max())
    m, n = np.unravel_index(int(np.abs(first.step).argmax()), first.step.shape)
    assert fact("backprop_moved", tiny_run, at) == f"dense1.weight[{m}, {n}]"
    assert fact("backprop_move", tiny_run, at) == pytest.approx(float(first.step[m, n]))
    assert fact("backprop_stopped", tiny_run, at) == len(record.point("relu1").stopped)
    assert fact("backprop_loss", tiny_run, at) == pytest.approx(record.loss)
