"""Which views fit a run (`nnlab.analysis.views`): a kind's own skips, and the views that need a kind of point."""

from __future__ import annotations

import pytest

from nnlab.analysis.views import why_not
from nnlab.models import AEConfig, CNNConfig, MLPConfig, ViTConfig, build_model, layer_points, model_kind


def _points(config):
    return layer_points(build_model(config))


MLP = MLPConfig((1, 8, 8), 10, hidden=(16,))
CNN = CNNConfig((1, 8, 8), 10)
VIT = ViTConfig((1, 8, 8), 10)
AE = AEConfig((1, 8, 8), 10)


@pytest.mark.parametrize("view", ["walkthrough", "classes", "attribution", "hidden", "weights", "boundary", "units"])
def test_a_classifier_fits_the_usual_views(view):
    for config in (MLP, CNN):
        assert why_not(view, model_kind(config.kind), _points(config)) is None


def test_attention_needs_a_vision_transformer():
    why = why_not("attention", model_kind(MLP.kind), _points(MLP))
    assert why.startswith("needs a vision transformer")
    assert why_not("attention", model_kind(VIT.kind), _points(VIT)) is None


def test_latent_space_needs_a_code():
    assert why_not("latent", model_kind(CNN.kind), _points(CNN)).startswith("needs an autoencoder")
    assert why_not("latent", model_kind(AE.kind), _points(AE)) is None


def test_a_kind_that_skips_a_view_says_why_in_its_own_words():
    kind = model_kind(AE.kind)
    why = why_not("boundary", kind, _points(AE))
    assert why == f"does not apply to a {kind.title}: {kind.skip_reason('boundary')}"


def test_units_need_a_hidden_layer():
    assert why_not("units", model_kind(MLP.kind), []) == "needs a hidden layer of units or channels"


def test_a_run_of_your_own_module_fits_only_the_views_that_read_the_recording():
    assert why_not("weights", None, []) is None and why_not("compare", None, []) is None
    assert why_not("walkthrough", None, []).startswith("needs a network nnlab can rebuild")
