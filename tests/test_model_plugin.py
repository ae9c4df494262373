"""A model kind that nnlab does not ship, registered here only: a residual MLP whose blocks add their input back.

Its points sit inside the blocks (`blocks.0.fc`, not top-level children), so this checks that capture reads the
declared dotted names, that the recorder, the run folder and replay take any registered kind, and that every
analysis page renders it, with no change outside this file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from nnlab import DataConfig, RecordConfig, TrainConfig, train_run
from nnlab.models import Point, build_model, forward_points, layer_points, model_kinds, register_model
from nnlab.models import registry as model_registry
from tests import app_harness
from tests.app_harness import app_test, errors

jobs = app_harness.jobs
app_env = app_harness.app_env


@dataclass(frozen=True)
class ResMLPConfig:
    """A residual MLP: a linear stem to `width`, then `blocks` blocks h + relu(fc(h)), then a linear head."""

    input_shape: tuple[int, ...] = (2,)
    n_classes: int = 2
    width: int = 8  # the residual stream's width
    blocks: int = 2  # residual blocks
    kind: str = "resmlp"

    def describe(self) -> str:
        return f"Residual MLP {self.blocks}×{self.width}"


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, h):
        return h + self.act(self.fc(h))  # (B, width)


class ResMLP(nn.Module):
    def __init__(self, cfg: ResMLPConfig):
        super().__init__()
        self.stem = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(cfg.input_shape)), cfg.width))
        self.blocks = nn.ModuleList(Block(cfg.width) for _ in range(cfg.blocks))
        self.head = nn.Linear(cfg.width, cfg.n_classes)

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


def resmlp_points(cfg: ResMLPConfig) -> list[Point]:
    points = [Point("stem", "raw", 1, module="stem.1")]
    for i in range(cfg.blocks):
        points += [
            Point(f"fc{i + 1}", "raw", i + 2, module=f"blocks.{i}.fc"),
            Point(f"relu{i + 1}", "activated", i + 2, module=f"blocks.{i}.act", activation="relu"),
        ]
    last = cfg.blocks + 2
    return points + [Point("out", "logits", last, module="head"), Point("softmax", "probs", last)]


@pytest.fixture(scope="module")
def resmlp():
    """The kind, registered for this module only."""
    register_model("resmlp", config=ResMLPConfig, points=resmlp_points, title="Residual MLP")(ResMLP)
    yield model_kinds()["resmlp"]
    model_registry._KINDS.pop("resmlp")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, resmlp):
    """A residual MLP on two moons, recorded through the pipeline like any run, and a second for Compare."""
    root = tmp_path_factory.mktemp("resmlp-runs")

    def one(seed: int):
        return train_run(
            DataConfig.make("moons", n_samples=200),
            ResMLPConfig(),
            TrainConfig(batch_size=32, epochs=3, seed=seed),
            RecordConfig(snapshots=3, eval_size=40),
            root=root,
            name=f"resmlp{seed}",
        )

    other, run = one(1), one(0)
    return root, run, other


def test_points_inside_blocks_are_captured_by_their_dotted_names(resmlp):
    torch.manual_seed(0)
    net = build_model(ResMLPConfig(blocks=2))
    x = torch.randn(5, 2)
    outs = forward_points(net, x)
    assert list(outs) == ["stem", "fc1", "relu1", "fc2", "relu2", "out", "softmax"]
    h = net.stem(x)
    fc1 = net.blocks[0].fc(h)
    torch.testing.assert_close(outs["fc1"], fc1)
    torch.testing.assert_close(outs["relu1"], fc1.clamp(min=0))
    torch.testing.assert_close(outs["out"], net(x))
    assert [p.shape for p in layer_points(net)] == [(8,)] * 5 + [(2,), (2,)]


def test_it_trains_and_replays_through_the_pipeline(runs):
    _, run, _ = runs
    assert run.status == "complete" and len(run) == 4
    assert run.model_kind.name == "resmlp" and run.model_config == ResMLPConfig()
    assert {f"mean/{n}" for n in ("stem", "fc1", "relu2", "softmax")} <= set(run.snapshot(-1))
    assert run.epochs[-1]["test_acc"] > 0.7  # it learns two moons
    ds = run.dataset()
    x = ds.prepare(ds.x_test[:3])
    outs = run.layer_outputs(len(run) - 1, x)
    np.testing.assert_allclose(outs["out"], run.model_at(len(run) - 1)(x).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "page",
    [
        "app_pages/walkthrough.py",
        "app_pages/class_averages.py",
        "app_pages/attribution.py",
        "app_pages/hidden.py",
        "app_pages/weights.py",
        "app_pages/boundary.py",
        "app_pages/compare.py",
        "app_pages/runs.py",
    ],
)
def test_every_analysis_page_renders_it(app_env, runs, page):
    _, run, _ = runs
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not errors(at), errors(at)
    assert at.get("plotly_chart") or page == "app_pages/runs.py", f"{page} drew no chart"
    assert not [i.value for i in at.info if "custom" in i.value], "the page took it for a model it cannot rebuild"
