"""Lesson 10 ("Why neurons mean several things") step by step on its own presets, trained as the lesson trains
them: every answer renders from the runs, each question's truth is what the answer claims, and the claims hold
(dense features keep 2 of 5, sparse ones superpose more than 2, the digits unit is mixed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnlab import load_dataset, train_run
from nnlab.analysis import superposition
from nnlab.lessons import At, View, fact, load_lesson, passed, render

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "10-superposition.toml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The lesson and its three presets' runs, trained with the lesson's own settings (about 20 s)."""
    lesson = load_lesson(LESSON)
    root = tmp_path_factory.mktemp("lesson10")
    runs = {}
    for preset in lesson.presets.values():
        ds = load_dataset(preset.data)
        model = preset.model(ds.input_shape, ds.n_classes)
        runs[preset.name] = train_run(preset.data, model, preset.train, preset.record, root=root, dataset=ds)
    return lesson, runs


def at_of(step) -> At:
    return At(-1 if step.snapshot == "last" else int(step.snapshot), step.point)


def answer(lesson, runs, i: int) -> str:
    step = lesson.steps[i]
    return render(step.answer, lambda f, p: fact(f, runs[p or step.run], at_of(step)))


def test_every_step_renders_from_its_run(trained):
    lesson, runs = trained
    assert lesson.title == "Why neurons mean several things" and len(lesson.steps) == 5
    assert [s.page for s in lesson.steps] == ["weights"] * 4 + ["units"]
    for i, step in enumerate(lesson.steps):
        text = answer(lesson, runs, i)
        assert "{" not in text and "none" not in text, (i, text)
        q = step.question
        if q.numeric:
            assert fact(q.truth, runs[step.run], at_of(step)) is not None


def test_step_1_dense_features_keep_one_per_dimension(trained):
    lesson, runs = trained
    info = superposition.superposition_info(runs["dense"], -1)
    assert fact("features_represented", runs["dense"], At()) == 2 == info.n_represented
    assert lesson.steps[0].question.truth == "features_represented" and lesson.steps[0].question.tolerance == 0
    np.testing.assert_allclose(info.norms[:2], 1.0, atol=0.1)  # "length about 1": trained weights, a tolerance
    assert abs(info.gram[0, 1]) < 0.1  # "at right angles"
    np.testing.assert_allclose(info.bias[2:], 0.5, atol=0.05)  # "a constant for them: their average, ½"
    assert "Your model keeps **2** of its 5 features" in answer(lesson, runs, 0)


def test_steps_2_and_3_sparse_features_share_the_plane(trained):
    lesson, runs = trained
    info = superposition.superposition_info(runs["sparse"], -1)
    assert info.n_represented > 2 and info.n_superposed >= 3  # "more features than dimensions"
    assert lesson.steps[1].question.choices[lesson.steps[1].question.right].startswith("More than 2")
    assert (info.bias < 0).all()  # "the ReLU with a negative bias"
    off = info.gram[~np.eye(5, dtype=bool)]
    assert np.abs(off).max() > 0.5 and (off < -0.3).any()  # "far from zero", with blue cells
    dense = superposition.superposition_info(runs["dense"], -1)
    dense_off = dense.gram[~np.eye(5, dtype=bool)]
    assert np.abs(dense_off).max() < 0.1  # "identity block ... zero elsewhere"
    assert lesson.steps[2].question.right == 0


def test_step_4_starts_at_snapshot_0_and_asks_to_move_the_slider(trained):
    lesson, runs = trained
    step, run = lesson.steps[3], runs["sparse"]
    assert step.snapshot == 0 and step.check == "snapshot_moved"
    last = len(run) - 1
    assert not passed(step.check, View(page="weights", run=run, snapshot=last))  # left at the end by step 3: not yet
    assert not passed(step.check, View(page="weights", run=run, snapshot=0, setup_snapshot=0))
    assert passed(step.check, View(page="weights", run=run, snapshot=last, setup_snapshot=0))
    start = superposition.superposition_info(run, 0)
    assert fact("features_represented", run, At(0)) == start.n_represented < 5
    steps, norms = superposition.norms_history(run)
    early = int(np.searchsorted(steps, 120))
    assert (norms[early] > 0.75).all()  # "every arrow to about length 1 within the first hundred steps or so"


def test_step_5_opens_the_most_mixed_unit_of_the_digits_network(trained):
    lesson, runs = trained
    step, run = lesson.steps[4], runs["digits"]
    at = at_of(step)
    params = {k: render(v, lambda f, p: fact(f, run, at)) for k, v in step.params}
    unit = fact("mixed_unit", run, at)
    assert params == {"layer": "relu1", "unit": str(unit)}
    classes, purity = fact("mixed_unit_classes", run, at), fact("mixed_unit_purity", run, at)
    assert classes >= 3 and purity <= 0.5  # a polysemantic unit, as the answer says
    assert step.question.truth == "mixed_unit_classes" and step.question.high == 9


def test_the_toy_facts_are_none_for_other_networks(trained):
    _, runs = trained
    assert fact("features_represented", runs["digits"], At()) is None
    assert fact("toy_dims", runs["digits"], At()) is None
    assert fact("toy_dims", runs["dense"], At()) == 2 and fact("toy_features", runs["dense"], At()) == 5
