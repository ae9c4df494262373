"""Lesson 11 ("Finding features with a sparse autoencoder") step by step on its own preset, with a sparse
autoencoder trained on relu1 as the Features page trains one (fewer epochs, for time): every answer renders from the
run, the check waits for a saved SAE, and the claims hold (units mixed, features much purer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnlab import load_dataset, train_run
from nnlab.analysis import sae
from nnlab.lessons import At, View, fact, load_lesson, passed, render

LESSON = Path(__file__).resolve().parents[1] / "lessons" / "11-sparse-autoencoder.toml"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The lesson and its preset's run, trained with the lesson's own settings (no SAE yet)."""
    lesson = load_lesson(LESSON)
    preset = lesson.presets["net"]
    ds = load_dataset(preset.data)
    model = preset.model(ds.input_shape, ds.n_classes)
    run = train_run(preset.data, model, preset.train, preset.record, root=tmp_path_factory.mktemp("l11"), dataset=ds)
    return lesson, run


def answer(lesson, run, i: int) -> str:
    step = lesson.steps[i]
    return render(step.answer, lambda f, p: fact(f, run, At(-1, step.point)))


def test_the_lesson_walks_from_units_to_features(trained):
    lesson, run = trained
    assert lesson.title == "Finding features with a sparse autoencoder"
    assert [s.page for s in lesson.steps] == ["units", "features", "features", "features"]
    assert lesson.steps[1].check == "features_trained"
    at = At(-1, "relu1")

    # step 1: the units are mixed, before any SAE
    neurons = fact("neuron_purity", run, at)
    assert neurons < 0.5 and fact("pure_neurons", run, at) < 0.2
    params = {k: render(v, lambda f, p: fact(f, run, at)) for k, v in lesson.steps[0].params}
    assert params == {"layer": "relu1", "unit": str(fact("mixed_unit", run, at))}
    assert "none" not in answer(lesson, run, 0)

    # step 2 waits for a saved SAE; its facts are none until then
    assert not passed("features_trained", View(page="features", run=run))
    assert fact("feature_purity", run, at) is None and fact("sae_variance_explained", run, at) is None
    sae.train_in_run(run.folder, "relu1", None, 256, 8, epochs=10)  # the page's defaults: 256 features, k = 8
    assert passed("features_trained", View(page="features", run=run))
    for i in range(4):
        text = answer(lesson, run, i)
        assert "{" not in text and "none" not in text, (i, text)
    assert fact("sae_variance_explained", run, at) > 0.5 and fact("sae_active", run, at) == pytest.approx(8, abs=0.5)

    # step 3: features much purer than units ("mostly one digit", the right choice of step 2 and 3)
    features = fact("feature_purity", run, at)
    assert features >= 0.5 and features >= 2 * neurons
    assert fact("pure_features", run, at) > fact("pure_neurons", run, at)
    assert lesson.steps[1].question.right == 0 and lesson.steps[2].question.right == 0
    assert fact("split_neuron", run, at) >= 0 and fact("split_features", run, at)

    # step 4: the purest feature's sentence, as the Features page writes it
    purest = fact("purest_feature", run, at)
    sentence = fact("purest_sentence", run, at)
    assert sentence.startswith(f"Feature {purest} fires on") and "(one class)" in sentence


def test_the_sae_facts_are_none_for_a_run_without_one(tiny_run):
    assert fact("feature_purity", tiny_run, At()) is None and fact("purest_feature", tiny_run, At()) is None
    assert not passed("features_trained", View(run=tiny_run)) and not passed("features_trained", View())
