"""Lessons: every built-in file is valid and its presets train; facts on hand-made runs; checks; safe templates;
every bad file is refused naming its file, line and field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from nnlab import load_dataset, train_run
from nnlab.lessons import (
    FACTS,
    MAX_BYTES,
    PAGES,
    At,
    Lesson,
    LessonError,
    TemplateError,
    View,
    fact,
    fields,
    load_lesson,
    load_lessons,
    passed,
    render,
)
from nnlab.lessons.load import BUILT_IN
from nnlab.models.points import Point
from nnlab.record import RecordConfig

ROOT = Path(__file__).resolve().parents[1]
BUILT = sorted(BUILT_IN.glob("*.toml"))

GOOD = """title = "Mine"
summary = "A teacher's lesson."
minutes = 2

[presets.a]
dataset = "moons"
network = { hidden = [4] }
train = { epochs = 1 }

[[steps]]
title = "One"
text = "Look."
page = "boundary"
answer = "It got {final_accuracy:.0%} right."

[[steps]]
title = "Two"
text = "Scrub."
page = "boundary"
check = "snapshot_start"
answer = "At the start {start_accuracy:.0%}."

[[steps]]
title = "Three"
text = "Guess."
page = "walkthrough"
answer = "{dead} dead."

[steps.question]
ask = "How many?"
low = 0
high = 4
truth = "dead"
"""


# --- the built-in lessons ------------------------------------------------------------------------------------
def test_the_built_in_lessons_load_and_are_valid():
    lessons = load_lessons([BUILT_IN])
    assert len(lessons) == len(BUILT) and all(isinstance(x, Lesson) for x in lessons), lessons
    for lesson in lessons:
        assert 3 <= len(lesson.steps) <= 6 and lesson.title and lesson.summary and 2 <= lesson.minutes <= 5
        assert any(s.question for s in lesson.steps), f"{lesson.name} asks nothing first"
        assert all(s.line for s in lesson.steps)


def test_pages_are_the_apps_pages():
    from nnlab.lessons.schema import known_pages

    assert sorted(known_pages()) == sorted(p.stem for p in (ROOT / "app_pages").glob("*.py"))
    assert {s.page for x in load_lessons([BUILT_IN]) for s in x.steps} <= set(PAGES)  # also without app_pages/


@pytest.mark.parametrize("path", BUILT, ids=lambda p: p.stem)
def test_each_preset_trains_on_tiny_settings(path, tmp_path, monkeypatch):
    """Each preset's configs train as they are, with one epoch, few snapshots and a small subset (for time)."""
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    torch.set_num_threads(1)
    lesson = load_lesson(path)
    for preset in lesson.presets.values():
        data = replace(preset.data, train_subset=min(preset.data.train_subset or 200, 200))
        ds = load_dataset(data)
        run = train_run(
            data,
            preset.model(ds.input_shape, ds.n_classes),
            replace(preset.train, epochs=1),
            RecordConfig(snapshots=2, eval_size=100),
            root=tmp_path / "runs",
            dataset=ds,
        )
        assert run.status in ("complete", "diverged") and len(run) >= 2
        for step in lesson.steps:  # every answer renders from this run
            if step.run == preset.name:
                text = render(step.answer, lambda f, p, run=run, s=step: fact(f, run, At(-1, s.point)))
                assert "{" not in text and text


# --- facts on hand-made runs --------------------------------------------------------------------------------
def hand_run(status="complete", **over):
    """A run the facts can read, made by hand: 2 snapshots, 4 evaluation samples of 2 classes, 3 relu1 units."""
    snaps = [
        {"fire/relu1": torch.tensor([0.0, 0.5, 1.0]), "pred": torch.tensor([0, 0, 0, 0]),
         "confusion": torch.tensor([[2, 0], [2, 0]]), "param/dense1.weight": torch.ones(3, 2),
         "param/out.weight": torch.ones(2, 3)},
        {"fire/relu1": torch.tensor([0.0, 0.0, 0.25]), "pred": torch.tensor([0, 1, 1, 0]),
         "confusion": torch.tensor([[1, 1], [1, 1]]), "param/dense1.weight": 3 * torch.ones(3, 2),
         "param/out.weight": torch.zeros(2, 3)},
    ]  # fmt: skip
    epochs = [
        {"epoch": 1, "train_acc": 0.7, "test_acc": 0.6, "train_loss": 0.5, "test_loss": 0.4},
        {"epoch": 2, "train_acc": 0.9, "test_acc": 0.5, "train_loss": 0.2, "test_loss": 0.6},
    ]
    run = SimpleNamespace(
        id="hand", status=status, message="The loss became nan at step 4.", class_names=["cat", "dog"],
        snapshots=[{"step": 0, "eval_acc": 0.5}, {"step": 10, "eval_acc": 0.5}], epochs=epochs,
        final_accuracy=0.5, train_config=SimpleNamespace(lr=0.1),
    )  # fmt: skip
    run.snapshot = lambda k: snaps[k]
    run.__dict__.update(over)
    run.eval_set = lambda: (np.array([10, 11, 12, 13]), np.array([0, 0, 1, 1]))
    run.steps = lambda: {"loss": np.ones(3, np.float32)}
    return _Sized(run, len(snaps))


class _Sized:
    """The hand-made run with a length, as a `Run` has."""

    def __init__(self, ns, n):
        self.__dict__.update(ns.__dict__)
        self._n = n

    def __len__(self):
        return self._n


def test_facts_of_a_hand_made_run():
    run = hand_run()
    at = At(-1, "relu1")
    assert fact("accuracy", run, at) == 0.5 and fact("start_accuracy", run, at) == 0.5
    assert fact("step", run, at) == 10 and fact("snapshot", run, At(99)) == 1  # past the end: the last
    assert fact("zeros", run, at) == pytest.approx(1 - 0.25 / 3)
    assert (
        fact("dead", run, at) == 2
        and fact("units", run, at) == 3
        and fact("dead_share", run, at) == pytest.approx(2 / 3)
    )
    assert fact("dead", run, At(0, "relu1")) == 1  # at snapshot 0 only unit 0 never fired
    assert fact("point", run, At()) == "relu1"  # the first activated point by default
    # most confused: cat → dog and dog → cat are both 1 of 2; ties go to the lower true class
    assert (fact("confused_true", run, at), fact("confused_pred", run, at)) == ("cat", "dog")
    assert fact("confused_share", run, at) == 0.5 and fact("confused_count", run, at) == 1
    assert fact("confused_sample", run, at) == 11  # the cat predicted as dog
    assert fact("misclassified", run, at) == 2 and fact("misclassified_sample", run, at) == 11
    assert fact("right_sample", run, at) == 10
    assert fact("gap", run, at) == pytest.approx(0.4) and fact("best_test_epoch", run, at) == 1
    assert fact("best_test_loss", run, at) == 0.4 and fact("epochs", run, at) == 2
    assert fact("first_layer_change", run, at) == pytest.approx(2.0)  # 3·W₀ − W₀ = 2·W₀
    assert fact("weight_norm", run, at) == pytest.approx(np.sqrt(6 * 9))
    assert fact("diverged_step", run, at) is None and fact("lr", run, at) == 0.1
    diverged = hand_run(status="diverged")
    assert fact("diverged_step", diverged, at) == 4 and "nan" in fact("message", diverged, at)


def test_the_layer_where_classes_separate_on_a_hand_made_run():
    points = [Point("dense1", "raw", 1), Point("relu1", "activated", 1, activation="relu"), Point("out", "logits", 2)]
    run = hand_run()
    means = {  # class means (2, U) and spreads: dense1 does not separate, relu1 and out do
        "mean": {"dense1": torch.tensor([[0.0], [0.1]]), "relu1": torch.tensor([[0.0], [3.0]]),
                 "out": torch.tensor([[1.0], [-1.0]])},
        "std": {"dense1": torch.ones(2, 1), "relu1": torch.ones(2, 1), "out": torch.ones(2, 1)},
    }  # fmt: skip
    run.group = lambda k, prefix: means[prefix]
    run.points = lambda: points
    assert fact("separating_layer", run, At()) == "relu1"


def test_every_fact_is_documented():
    assert {"accuracy", "zeros", "dead", "confused_true", "separating_layer", "diverged_step", "gap"} <= set(FACTS)
    assert all(f.doc for f in FACTS.values())


# --- templates -----------------------------------------------------------------------------------------------
def test_templates_fill_plain_fact_names_with_format_specs():
    values = {("zeros", None): 0.474, ("dead", "wide"): 3, ("point", None): "relu1"}
    text = render("{point} left {zeros:.0%}; {dead@wide} dead; {{braces}}", lambda f, p: values[(f, p)])
    assert text == "relu1 left 47%; 3 dead; {braces}"
    assert render("{x:.1%}", lambda f, p: None) == "none"  # a missing value reads "none"
    assert render("{x:.1%}", lambda f, p: "relu1") == "relu1"  # a spec that does not fit is ignored


@pytest.mark.parametrize(
    "template",
    ["{run.__class__}", "{zeros[0]}", "{zeros!r}", "{zeros:{dead}}", "{0}", "{}", "{a b}", "{zeros", "}"],
)
def test_templates_refuse_anything_but_plain_names(template):
    with pytest.raises(TemplateError):
        fields(template)


# --- checks --------------------------------------------------------------------------------------------------
def test_checks_read_the_view():
    run = hand_run()
    assert passed("snapshot_start", View(snapshot=0)) and not passed("snapshot_start", View(snapshot=1))
    assert passed("snapshot_end", View(run=run, snapshot=1)) and not passed("snapshot_end", View(run=run, snapshot=0))
    assert passed("snapshot_moved", View(snapshot=3, setup_snapshot=1))
    assert not passed("snapshot_moved", View(snapshot=1, setup_snapshot=1))
    wrong = View(page="walkthrough", run=run, snapshot=1, params={"sample": "11"})
    assert passed("misclassified_sample", wrong)
    assert not passed("misclassified_sample", replace(wrong, params={"sample": "10"}))  # a right one
    assert not passed("misclassified_sample", replace(wrong, page="boundary"))
    assert passed("lr_changed", View(values={"lr": 0.01, "lr_default": 0.003}))
    assert not passed("lr_changed", View(values={"lr": 0.003, "lr_default": 0.003}))
    assert not passed("lr_changed", View(values={"lr": None, "lr_default": 0.003}))  # the Train page not seen
    assert passed({"param": "layer", "is": "dense1"}, View(params={"layer": "dense1"}))
    assert not passed({"param": "layer", "is": "dense1"}, View(params={"layer": "relu1"}))
    assert passed({"run": "wide"}, View(run=run, runs={"wide": "hand"}))
    assert not passed({"run": "wide"}, View(run=run, runs={}))


# --- loading, and every bad file --------------------------------------------------------------------------------
def write(tmp_path, text: str | bytes, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_teachers_file_loads(tmp_path):
    lesson = load_lesson(write(tmp_path, GOOD))
    assert lesson.name == "mine" and [s.line for s in lesson.steps] == [10, 16, 23]
    assert lesson.steps[1].check == "snapshot_start" and lesson.steps[2].question.truth == "dead"
    assert lesson.presets["a"].train.epochs == 1 and lesson.steps[0].run == "a"


def refused(tmp_path, text) -> LessonError:
    with pytest.raises(LessonError) as e:
        load_lesson(write(tmp_path, text))
    return e.value


@pytest.mark.parametrize(
    "old, new, said",
    [
        ('text = "Scrub."\n', "", "line 16: step 2 has no 'text'"),  # a missing field: the step's line
        ('page = "walkthrough"', 'page = "nowhere"', "line 26: step 3's page 'nowhere' is not a page"),
        ("{dead} dead.", "{deadd} dead.", "line 27: step 3's answer uses an unknown fact {deadd}"),
        ("minutes = 2", 'minutes = "two"', "line 3: the lesson's 'minutes' must be a whole number, not text"),
        ("high = 4", 'high = "4"', "line 32: step 3's question's 'high' must be a whole number or a number, not text"),
        ('check = "snapshot_start"', 'check = "danced"', "line 20: step 2's check 'danced' is not a check"),
        ("{start_accuracy:.0%}", "{start_accuracy@b}", "line 21: step 2's answer names an unknown preset @b"),
        ("{final_accuracy:.0%}", "{final_accuracy.__class__}", "line 14: step 1's answer: {final_accuracy.__class__}"),
        ('dataset = "moons"', 'dataset = "nope"', "line 6: preset a's dataset 'nope' is not known here"),
        ("train = { epochs = 1 }", "train = { epochs = 0 }", "line 8: preset a's train: epochs"),
        ('title = "Three"', 'titel = "Three"', "line 24: step 3 has an unknown field 'titel'"),
    ],
)
def test_a_bad_file_is_refused_naming_file_line_and_field(tmp_path, old, new, said):
    assert old in GOOD
    error = refused(tmp_path, GOOD.replace(old, new, 1))
    assert str(error).startswith(str(tmp_path / "mine.toml")) or str(error).startswith("mine.toml")
    assert said in str(error), str(error)


def test_too_few_steps(tmp_path):
    two = GOOD[: GOOD.index('[[steps]]\ntitle = "Three"')]
    assert "has 2 steps; a lesson has 3 to 6" in str(refused(tmp_path, two))


def test_a_file_that_is_not_toml(tmp_path):
    error = refused(tmp_path, GOOD.replace("minutes = 2", "minutes = = 2"))
    assert "line 3: is not valid TOML" in str(error)
    assert "is not UTF-8" in str(refused(tmp_path, b'title = "\xff"'))


def test_a_file_over_the_size_limit(tmp_path):
    error = refused(tmp_path, GOOD + "#" * MAX_BYTES)
    assert "larger than 64 KiB" in str(error) and error.line is None


def test_one_broken_file_leaves_the_others(tmp_path):
    write(tmp_path, GOOD, "a-good.toml")
    write(tmp_path, GOOD.replace('text = "Look."\n', ""), "b-broken.toml")
    found = load_lessons([tmp_path])
    assert isinstance(found[0], Lesson) and isinstance(found[1], LessonError)
    assert "b-broken.toml, line 10: step 1 has no 'text'" in str(found[1])


def test_the_readme_example_is_a_valid_lesson(tmp_path):
    import re

    text = (ROOT / "README.md").read_text()
    example = re.search(r"### Write a lesson.*?```toml\n(.*?)```", text, re.S)[1]
    lesson = load_lesson(write(tmp_path, example, "wider.toml"))
    assert len(lesson.steps) == 3 and set(lesson.presets) == {"narrow", "wide"}
    assert lesson.steps[2].question.truth == "final_accuracy" and lesson.steps[1].check == "snapshot_start"
    documented = set(re.findall(r"`([a-z_]+)`", text[text.index("**Facts**") : text.index("**Checks**")]))
    assert set(FACTS) <= documented, set(FACTS) - documented
