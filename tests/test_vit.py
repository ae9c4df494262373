"""The vision transformer kind and its attention: the hand-written attention against PyTorch's, what the recorder keeps,
rollout and attention distance on matrices worked out on paper, learning on real data, and every page on a ViT run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nnlab import DataConfig, Dataset, RecordConfig, TrainConfig, ViTConfig, make_trainer
from nnlab.analysis import attention as A
from nnlab.analysis import positions as P
from nnlab.analysis.attribution import METHODS
from nnlab.figures import attention as FA
from nnlab.models import build_model, forward_points, layer_points, model_kind, unit_view
from nnlab.models.attention import SelfAttention, attention_distance, attention_entropy
from tests import app_harness
from tests.app_harness import app_test, errors

jobs = app_harness.jobs
app_env = app_harness.app_env
MNIST_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist-test"
TINY = app_harness.TINY_VIT


# --- the model -----------------------------------------------------------------------------------------------------
def test_hand_written_attention_equals_scaled_dot_product_attention():
    torch.manual_seed(0)
    attn = SelfAttention(24, 3).eval()
    x = torch.randn(5, 7, 24)  # (B, N, E)
    q, k, v = attn.qkv(x).reshape(5, 7, 3, 3, 8).permute(2, 0, 3, 1, 4)
    expect = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(5, 7, 24)
    torch.testing.assert_close(attn(x), attn.proj(expect))


def test_points_and_shapes_of_the_default_vit():
    cfg = ViTConfig()
    assert cfg.patch == 7 and cfg.grid == (4, 4)
    assert ViTConfig(input_shape=(3, 32, 32)).patch == 4 and ViTConfig(input_shape=(1, 8, 8)).patch == 2
    shapes = {p.name: (p.layout, p.shape) for p in layer_points(build_model(cfg))}
    assert shapes["embed"] == ("tokens", (17, 64)) and shapes["block4"] == ("tokens", (17, 64))
    assert shapes["attn1"] == ("attention", (4, 17, 17)) and shapes["cls"] == ("vector", (64,))
    with pytest.raises(ValueError, match="tile"):
        ViTConfig(patch=5)
    with pytest.raises(ValueError, match="multiple of 3 heads"):
        ViTConfig(heads=3)


def test_the_class_token_point_is_what_the_head_reads():
    torch.manual_seed(1)
    net = build_model(ViTConfig(**TINY)).eval()
    outs = forward_points(net, torch.randn(3, 1, 8, 8))
    torch.testing.assert_close(outs["cls"], net.norm(outs["block2"])[:, 0])
    torch.testing.assert_close(outs["out"], net.out(outs["cls"]))
    torch.testing.assert_close(outs["attn1"].sum(-1), torch.ones(3, 2, 17))
    assert unit_view("tokens", outs["block1"]).shape == (3, 16)  # the recorder keeps the class token
    assert unit_view("attention", outs["attn1"]).shape == (3, 2 * 17)  # and the class token's rows


# --- attention on paper -----------------------------------------------------------------------------------------------
def test_rollout_of_hand_set_matrices():
    # two tokens; block 1 moves everything to token 1, block 2 keeps every token where it is
    a1 = np.array([[[0.0, 1.0], [0.0, 1.0]]])  # (H=1, N, N)
    a2 = np.eye(2)[None]
    # with the residual (0.5): block 1 → [[.5, .5], [0, 1]], block 2 → identity; rollout = their product
    np.testing.assert_allclose(A.rollout(np.stack([a1, a2])), [[0.5, 0.5], [0.0, 1.0]], atol=1e-6)
    # block order matters: the later block's matrix multiplies on the left
    b = np.array([[[1.0, 0.0], [1.0, 0.0]]])  # everything to token 0
    expect = np.array([[1.0, 0.0], [0.5, 0.5]]) @ np.array([[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(A.rollout(np.stack([a1, b])), expect, atol=1e-6)
    # heads are averaged first, and with no residual it is the plain product
    two_heads = np.stack([a1[0], b[0]])[None]  # (D=1, H=2, N, N)
    np.testing.assert_allclose(A.rollout(two_heads, residual=0.0), [[0.5, 0.5], [0.5, 0.5]], atol=1e-6)


def test_attention_distance_of_a_self_only_and_a_uniform_head():
    grid = (3, 3)
    n = 1 + 9
    self_only = torch.eye(n)[None, None]  # (1, H=1, N, N)
    uniform = torch.full((1, 1, n, n), 1 / n)
    assert float(attention_distance(self_only, grid)) == pytest.approx(0.0)
    # every pair of patch centres of a 3×3 grid, the patch with itself included
    xy = [(r, c) for r in range(3) for c in range(3)]
    mean = np.mean([math.dist(p, q) for p in xy for q in xy])
    assert float(attention_distance(uniform, grid)) == pytest.approx(mean, rel=1e-6)
    assert A.mean_patch_distance(grid) == pytest.approx(mean, rel=1e-6)
    assert float(attention_entropy(uniform)) == pytest.approx(math.log(n))
    assert float(attention_entropy(self_only)) == pytest.approx(0.0, abs=1e-6)


def test_figures_by_structure():
    image = np.zeros((8, 8), np.uint8)
    maps = np.random.default_rng(0).random((2, 3, 4, 4)).astype(np.float32)
    fig = FA.head_grid_figure(image, maps, ["attn1", "attn2"])
    assert fig.data[0].type == "image" and len(fig.layout.annotations) == 6
    scale = fig.data[0].dx  # the PNG holds the image's own pixels; the browser enlarges each
    assert scale * 8 >= FA.TILE and fig.data[0].source.startswith("data:image/png")
    name, marker = fig.layout.annotations[0], fig.data[1]
    assert name.y < marker.y[0] - 4 * scale  # each name in the band above its tile, not on the picture
    assert FA.overlay(image, maps[0, 0]).dtype == np.uint8
    matrix = FA.token_matrix_figure(np.full((17, 17), 1 / 17), (4, 4), title="m")
    assert np.asarray(matrix.data[0].z).shape == (17, 17) and matrix.data[0].x[0] == "cls"
    history = A.HeadHistory(
        np.array([0, 10]), ("attn1",), np.ones((2, 1, 2)), np.ones((2, 1, 2)), uniform_distance=2.0, uniform_entropy=2.8
    )
    assert len(FA.heads_figure(history).data) == 4  # a distance and an entropy line per head


# --- recorded runs --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny ViT on digits (the newest, so the sidebar's default) and a CNN on the same data for Compare."""
    return app_harness.vit_runs(tmp_path_factory.mktemp("vit-runs"))


def test_the_recorder_keeps_each_heads_attention_per_class(runs):
    _, run, _ = runs
    snap = run.snapshot(-1)
    maps = snap["attn/attn1/map"]  # (K, H, N, N)
    assert maps.shape == (10, 2, 17, 17)
    torch.testing.assert_close(maps.sum(-1), torch.ones(10, 2, 17), atol=1e-5, rtol=0)  # rows sum to 1
    assert snap["attn/attn2/distance"].shape == (10, 2) and snap["attn/attn2/entropy"].shape == (10, 2)
    assert snap["tokens/block2/mean"].shape == (10, 17, 16) and (snap["tokens/block2/std"] >= 0).all()
    # the class means agree with a forward pass over the evaluation subset
    ds = run.dataset()
    idx, labels = run.eval_set()
    outs = run.layer_outputs(len(run) - 1, ds.prepare(ds.x_test[idx]))
    c = int(labels[0])
    np.testing.assert_allclose(snap["attn/attn1/map"][c], outs["attn1"][labels == c].mean(0), atol=1e-5)
    np.testing.assert_allclose(snap["mean/block1"][c], outs["block1"][labels == c, 0].mean(0), atol=1e-5)
    np.testing.assert_allclose(snap["tokens/block1/mean"][c], outs["block1"][labels == c].mean(0), atol=1e-5)


def test_info_getters(runs):
    _, run, cnn = runs
    ds = run.dataset()
    info = A.sample_attention_info(run, len(run) - 1, ds.prepare(ds.x_test[:1]))
    assert info.class_maps.shape == (2, 2, 4, 4) and info.rollout_map.sum() == pytest.approx(1.0, abs=1e-5)
    history = A.head_history(run)
    assert history.distance.shape == (len(run), 2, 2) and history.blocks == ("attn1", "attn2")
    assert A.describe_head(history).startswith("Head ")
    for block in ("rollout", "attn2"):
        per_class = A.class_attention_info(run, 0, block)
        assert per_class.maps.shape == (10, 4, 4)
        np.testing.assert_allclose(per_class.maps.sum((1, 2)), 1.0, atol=1e-5)
    tokens = P.token_history(run)
    assert tokens.pos.shape == (len(run), 17, 16) and tokens.cls.shape == (len(run), 16) and tokens.grid == (4, 4)
    assert (tokens.pos_param, tokens.cls_param) == ("embed.pos", "embed.cls")
    np.testing.assert_array_equal(tokens.pos[-1], run.snapshot(-1)["param/embed.pos"][0].numpy())
    np.testing.assert_array_equal(tokens.cls[0], 0.0)  # the class token starts at zero
    similarity = P.position_similarity(tokens.pos[0], tokens.grid)
    np.testing.assert_allclose(similarity.reshape(16, 16).diagonal(), 1.0, atol=1e-5)
    assert P.token_history(cnn) is None


def test_grad_cam_says_why_it_does_not_apply(runs):
    _, run, cnn = runs
    assert METHODS["grad_cam"].why_not(run, "image") == model_kind("vit").skips["attribution:grad_cam"]
    assert "attention rollout on the Attention page" in METHODS["grad_cam"].why_not(run, "image")
    assert METHODS["grad_cam"].why_not(cnn, "image") is None


PAGES = [
    "app_pages/attention.py",
    "app_pages/walkthrough.py",
    "app_pages/class_averages.py",
    "app_pages/attribution.py",
    "app_pages/hidden.py",
    "app_pages/weights.py",
    "app_pages/boundary.py",
    "app_pages/compare.py",
    "app_pages/runs.py",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_a_vit_run(app_env, runs, page):
    _, run, _ = runs
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page(page).run()
    assert not errors(at), errors(at)
    assert at.get("plotly_chart") or page in ("app_pages/runs.py", "app_pages/compare.py"), f"{page} drew no chart"


def test_weights_page_shows_the_token_embeddings_at_the_sidebars_snapshot(app_env, runs):
    _, run, cnn = runs
    at = app_test(app_env)
    at.session_state["app_run"] = run.id
    at.switch_page("app_pages/weights.py").run()
    assert not errors(at), errors(at)
    charts = {c.proto.id: c for c in at.get("plotly_chart")}
    assert any("weights_tokens" in k for k in charts) and any("weights_positions" in k for k in charts)
    assert "embed.proj" in at.selectbox(key="weights_layer").options[0]  # the patch embedding's filters come first
    last = f"at step {run.snapshots[-1]['step']:,}"
    at.slider(key="app_snapshot").set_value(0).run()
    assert not errors(at), errors(at)
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "at step 0" in specs and last not in specs and "the class token over training" in specs
    assert any("2-D grid" in c.value for c in at.caption)
    at.session_state["app_run"] = cnn.id
    at.run()
    assert not errors(at) and "the class token over training" not in " ".join(
        c.proto.spec for c in at.get("plotly_chart")
    )


# --- learning sanity -----------------------------------------------------------------------------------------------
def test_it_learns_digits(tmp_path):
    trainer, _ = make_trainer(
        DataConfig.make("digits"),
        ViTConfig(input_shape=(1, 8, 8)),
        TrainConfig(batch_size=32, epochs=12, seed=0),
        RecordConfig(snapshots=4, eval_size=200),
        root=tmp_path,
    )
    trainer.fit()
    assert trainer.history[-1]["test_acc"] >= 0.85


@pytest.mark.skipif(not MNIST_TEST.is_dir(), reason=f"real MNIST test set not found at {MNIST_TEST}")
def test_it_learns_real_mnist_digits(tmp_path):
    """About 100 s on 2 cores: the default ViT on the real MNIST test set split 8,000 / 2,000."""
    from nnlab.data.images import read_idx_split

    x, y = read_idx_split(MNIST_TEST, "t10k")
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    ds = Dataset("mnist-split", x[:8000], y[:8000], x[8000:], y[8000:], tuple(map(str, range(10))), "MNIST test split")
    trainer, _ = make_trainer(
        DataConfig(ds.name),
        ViTConfig(),
        TrainConfig(batch_size=64, epochs=10, lr=3e-3, seed=0),
        RecordConfig(snapshots=10, eval_size=500),
        root=tmp_path,
        dataset=ds,
    )
    trainer.fit()
    assert len(trainer.history) == 10 and trainer.history[-1]["test_acc"] >= 0.92
