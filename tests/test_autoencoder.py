"""Autoencoders and their task: the probe on hand-made codes, the trainer against a plain loop, the recorded codes,
decoding a stored code, and the latent-space analysis and figures (nnlab.tasks, nnlab.models.autoencoder,
nnlab.analysis.latent, nnlab.figures.latent)."""

from __future__ import annotations

import math
from dataclasses import asdict
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nnlab import RecordConfig, Recorder, Run, RunWriter, TrainConfig, Trainer, build_model
from nnlab.analysis import latent as L
from nnlab.figures import latent as FL
from nnlab.models import AEConfig, ConvAEConfig, forward_points, layer_points, model_kind, task_of
from nnlab.tasks import CLASSIFICATION, Reconstruction, class_means, nearest_mean

CONFIGS = [
    AEConfig(input_shape=(1, 4, 4), n_classes=3, hidden=(8,), code=2),
    AEConfig(input_shape=(1, 4, 4), n_classes=3, hidden=(8,), code=3, variational=True),
    ConvAEConfig(input_shape=(1, 4, 4), n_classes=3, channels=(2,), code=2),
]


def data(n=60, seed=0):
    """Three classes of 4×4 images: a bright row, column or diagonal, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    base = torch.stack([torch.eye(4)[0].repeat(4, 1).T, torch.eye(4)[0].repeat(4, 1), torch.eye(4)])  # (3, 4, 4)
    x = base[y][:, None] + 0.1 * torch.randn(n, 1, 4, 4, generator=g)
    return x, y


def record(tmp_path, cfg, train=TrainConfig(batch_size=20, epochs=3, lr=1e-2), snapshots=3):
    x, y = data()
    torch.manual_seed(0)
    writer = RunWriter(tmp_path, data={"name": "custom", "options": {}}, model=asdict(cfg), train={}, record={})
    writer.save_eval_set(np.arange(30), y[:30].numpy())
    rec = Recorder(writer, x[:30], y[:30], 3, RecordConfig(snapshots=snapshots))
    trainer = Trainer(build_model(cfg), train, x, y, x[30:], y[30:], callbacks=[rec]).fit()
    return trainer, Run(tmp_path), x, y


# --- the task ------------------------------------------------------------------------------------------------------
def test_probe_on_hand_made_codes():
    ref = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0], [0.0, 10.0]])
    ref_y = torch.tensor([0, 0, 1, 1, 2])
    means = class_means(ref, ref_y, 4)  # class 3 has no sample
    np.testing.assert_array_equal(means[:3].numpy(), [[1, 0], [11, 10], [0, 10]])
    assert torch.isnan(means[3]).all()
    codes = torch.tensor([[1.0, 1.0], [9.0, 9.0], [1.0, 9.0], [6.0, 5.0]])
    assert nearest_mean(codes, means).tolist() == [0, 1, 2, 0]  # (6, 5): 7.07 from class 0, 7.07 from 1: ties low
    kept = {"code": codes, "error": torch.tensor([1.0, 2.0, 3.0, 5.0])}
    y = torch.tensor([0, 1, 1, 2])
    pred, extra = Reconstruction().predictions(kept, y, 4, lambda: ({"code": ref}, ref_y))
    assert pred.tolist() == [0, 1, 2, 0]
    np.testing.assert_allclose(extra["latent/class_error"].numpy(), [1.0, 2.5, 5.0, 0.0])
    assert extra["latent/code"].shape == (4, 2) and extra["latent/class_means"].shape == (4, 2)


def test_kinds_declare_their_task_and_skip_the_class_views():
    assert task_of(build_model(CONFIGS[0])).name == "reconstruction"
    assert task_of(torch.nn.Linear(2, 2)) is CLASSIFICATION and model_kind("mlp").task is CLASSIFICATION
    for kind in ("ae", "conv_ae"):
        assert set(model_kind(kind).skips) == {"boundary", "attribution"}


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.describe())
def test_points_go_down_to_the_code_and_back_up(cfg):
    torch.manual_seed(0)
    net = build_model(cfg).eval()
    points = layer_points(net)
    code = [p for p in points if p.layout == "code"]
    assert len(code) == 1 and code[0].shape == (cfg.code,)
    assert points[-1].role == "reconstruction" and points[-1].shape == cfg.input_shape
    x = torch.randn(5, *cfg.input_shape)
    outs = forward_points(net, x)
    torch.testing.assert_close(outs["code"], net.encode(x))
    assert torch.equal(outs["recon"], net(x)) and torch.equal(net.decode(outs["code"]), net(x))


def test_vae_samples_in_training_and_adds_the_kl_term():
    cfg = CONFIGS[1]
    torch.manual_seed(0)
    net = build_model(cfg)
    x = torch.randn(6, *cfg.input_shape)
    net.eval()
    assert torch.equal(net(x), net(x))  # eval: the mean code, no sampling
    h = net.encoder(x)
    mu, logvar = net.code(h), net.logvar(h)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    torch.testing.assert_close(net.penalty(), kl / 16)
    loss = Reconstruction().loss(net(x), x, None, net)
    torch.testing.assert_close(loss, F.mse_loss(net(x), x) + kl / 16)
    net.train()
    assert not torch.equal(net(x), net(x))  # training samples the code


# --- training and recording ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.describe())
def test_trainer_loss_equals_a_plain_loop(tmp_path, cfg):
    train = TrainConfig(batch_size=20, epochs=3, lr=1e-2)
    trainer, run, x, y = record(tmp_path, cfg, train)
    torch.manual_seed(0)
    net = build_model(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(3):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(perm), 20):
            xb = x[perm[i : i + 20]]
            opt.zero_grad()
            out = net(xb)
            loss = F.mse_loss(out, xb) + (net.penalty() if cfg.variational else 0)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    # the recorder's snapshots run the network in eval mode and never draw random numbers, so even a VAE matches
    np.testing.assert_array_equal(run.steps()["loss"], np.asarray(losses, np.float32))
    assert trainer.history[-1].keys() >= {"train_error", "test_error", "train_loss", "test_loss"}
    assert "error" in run.steps() and "acc" not in run.steps()


def test_recorded_codes_have_the_documented_shapes(tmp_path):
    cfg = CONFIGS[1]
    trainer, run, x, y = record(tmp_path, cfg)
    for k in range(len(run)):
        latent = run.group(k, "latent")
        assert latent["code"].shape == (30, 3) and latent["error"].shape == (30,)
        assert latent["class_error"].shape == (3,) and latent["class_means"].shape == (3, 3)
        s = run.snapshot(k)
        assert s["pred"].shape == (30,) and s["confusion"].sum() == 30
        assert {"mean/code", "std/code", "mean/recon"} <= s.keys()
        assert s["mean/code"].shape == (3, 3)
        torch.testing.assert_close(s["mean/code"][1].float(), latent["code"][y[:30] == 1].mean(0))
    assert 0 <= run.snapshots[-1]["eval_acc"] <= 1


def test_decoding_a_stored_code_reproduces_the_stored_reconstruction(tmp_path):
    trainer, run, x, y = record(tmp_path, CONFIGS[0])
    k = len(run) - 1
    model, latent = run.model_at(k), run.group(k, "latent")
    recon = L.decode(model, latent["code"].numpy())
    with torch.no_grad():
        assert np.array_equal(recon, model(x[:30]).numpy())  # bit for bit: the code is all the decoder needs
    error = ((torch.from_numpy(recon) - x[:30]) ** 2).flatten(1).mean(1)
    assert torch.equal(error, latent["error"])
    per_class = torch.stack([error[y[:30] == c].mean() for c in range(3)])
    torch.testing.assert_close(latent["class_error"], per_class)


# --- analysis and figures ------------------------------------------------------------------------------------------
def test_projection_is_the_identity_for_2d_and_pca_above():
    codes = np.random.default_rng(0).normal(size=(50, 2))
    p = L.fit_projection(codes)
    assert not p.is_pca and np.allclose(p.to_map(codes), codes)
    wide = np.c_[codes * [5, 2], 0.01 * codes[:, :1], np.zeros(50)] + 3  # variance in the first two axes only
    p = L.fit_projection(wide)
    assert p.is_pca and p.explained.sum() > 0.99
    back = p.to_code(p.to_map(wide))
    np.testing.assert_allclose(back, wide, atol=0.05)


def test_procrustes_undoes_a_turn_a_mirror_and_a_scale():
    a = np.random.default_rng(1).normal(size=(40, 2))
    turn = np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]]) @ np.diag([1, -1])
    np.testing.assert_allclose(L.procrustes(3 * a @ turn + 7, a), a, atol=1e-5)
    frames = L.aligned_frames(np.stack([2 * a @ turn, a]))
    np.testing.assert_allclose(frames[0], frames[1], atol=1e-5)
    np.testing.assert_array_equal(frames[1], a.astype(np.float32))  # the last frame is kept as it is


def test_grid_interpolation_and_worst_samples():
    p = L.fit_projection(np.zeros((3, 2)))
    codes = L.grid_codes(p, ((0, 1), (0, 2)), n=3)
    assert codes.shape == (9, 2) and codes[0].tolist() == [0, 2] and codes[-1].tolist() == [1, 0]  # from the top
    line = L.interpolate(np.zeros(3), np.ones(3), 10)
    assert line.shape == (10, 3) and line[0].sum() == 0 and line[-1].sum() == 3
    assert L.worst_samples(np.array([0.1, 0.9, 0.5, 0.7]), np.array([0, 0, 1, 0]), 0, n=2).tolist() == [1, 3]
    assert L.fixed_samples(np.array([2, 0, 0, 1]), 3).tolist() == [1, 3, 0]


def test_as_images_undoes_the_normalisation():
    raw = np.array([[[[0, 255], [128, 64]]]], np.uint8)
    mean, std = np.array([[[0.4]]], np.float32), np.array([[[0.3]]], np.float32)
    x = (raw / 255.0 - mean) / std
    np.testing.assert_array_equal(L.as_images(x, mean, std), raw[:, 0])
    assert L.as_images(np.array([[0.0, 1.0]]), 0, 1, is_image=False).shape == (1, 8, 16)


def test_figures_by_structure(tmp_path):
    trainer, run, x, y = record(tmp_path, CONFIGS[0])
    m = L.latent_info(run, len(run) - 1)
    fig = FL.latent_map_figure(m, ["a", "b", "c"], marker=(0.0, 0.0))
    kinds = [t.type for t in fig.data]
    assert kinds[:2] == ["histogram2dcontour", "scatter"] and kinds.count("scattergl") == 3
    assert len(fig.data[1].x) == FL.CLICK_GRID**2 and fig.data[-1].name == "decoded point"
    assert fig.layout.xaxis.title.text == "code 1"
    images = L.decoded_images(
        run.model_at(-1), L.grid_codes(m.projection, m.extent, 4), SimpleNamespace(mean=0.0, std=1.0, is_image=True)
    )
    grid = FL.manifold_figure(images, m.extent, m)
    assert grid.data[0].type == "image" and grid.data[0].source.startswith("data:image/png;base64,")
    frames, labels, steps = L.movie_info(run)
    movie = FL.map_movie_figure(frames, labels, ["a", "b", "c"], steps, pca=False)
    assert len(movie.frames) == len(run) and frames.shape == (len(run), 30, 2)
    bars = FL.class_error_figure(L.class_error_info(run, 0), ["a", "b", "c"])
    assert list(bars.data[0].x) == ["a", "b", "c"]
    assert "No images" in FL.image_strip_figure(np.zeros((0, 4, 4), np.uint8)).layout.title.text
    strip = FL.image_strip_figure(np.full((5, 4, 4), 255, np.uint8), cols=3)
    assert len(strip.layout.shapes) == 5 and strip.layout.yaxis.constrain == "domain"  # framed, never cropped
    assert math.isfinite(float(m.error.mean()))


# --- an input of your own --------------------------------------------------------------------------------------------
def test_an_own_input_is_encoded_by_the_encoder_and_placed_by_the_runs_pca(tmp_path):
    trainer, run, x, y = record(tmp_path, CONFIGS[1])  # a VAE with a 3-D code: drawn through the run's PCA
    k = len(run) - 1
    model, m = run.model_at(k), L.latent_info(run, k)
    assert m.projection.is_pca
    own = x[4:5] + 0.05  # (1, 1, 4, 4): not a sample of the run, a little brighter than sample 4
    enc = L.encoded_input_info(run, k, model, own)
    with torch.no_grad():
        code = model.encode(own)  # (1, 3): the VAE's mean, as recorded
        np.testing.assert_array_equal(enc.code, code[0].numpy())
        np.testing.assert_array_equal(enc.reconstruction, model.decode(code)[0].numpy())
    projection = L.run_projection(run)  # fitted on the last snapshot's codes, the same for every snapshot
    np.testing.assert_allclose(enc.place.coords, (code[0].numpy() - projection.mean) @ projection.axes.T, atol=1e-6)
    assert enc.error == pytest.approx(float(((enc.reconstruction - own[0].numpy()) ** 2).mean()))
    codes = run.group(k, "latent")["code"].numpy()
    dist = np.linalg.norm(codes - code.numpy(), axis=1)
    assert list(enc.place.neighbours) == list(np.argsort(dist, kind="stable")[:10])
    assert enc.place.counts.sum() == 10 and enc.place.exact
    means = run.group(k, "latent")["class_means"]
    assert enc.probe == int(nearest_mean(code, means)[0])  # the recorded probe's own rule


def test_an_evaluation_sample_encoded_again_lands_on_its_own_dot(tmp_path):
    trainer, run, x, y = record(tmp_path, CONFIGS[0])
    k = 1
    m, model = L.latent_info(run, k), run.model_at(k)
    i = 7
    enc = L.encoded_input_info(run, k, model, x[i : i + 1], m.projection)
    np.testing.assert_allclose(enc.place.coords, m.coords[i], atol=1e-6)  # the recorded code, on the same map
    assert enc.place.neighbours[0] == i and enc.error == pytest.approx(float(m.error[i]), rel=1e-5)
    assert enc.probe == int(run.snapshot(k)["pred"][i])
    assert enc.place.words(["a", "b", "c"]).startswith("your drawing lands among the ")
    fig = FL.latent_map_figure(m, ["a", "b", "c"], marker=(0.0, 0.0), own=(*enc.place.coords, "your drawing"))
    mine = next(t for t in fig.data if t.name == "your drawing")
    assert mine.text == ("your drawing",) and mine.marker.symbol == "diamond" and fig.data[-1].name == "decoded point"
    far = FL.latent_map_figure(m, ["a", "b", "c"], own=(100.0, -100.0, "your image"))
    assert far.layout.xaxis.range[1] > 100 and far.layout.yaxis.range[0] < -100  # the axes widen to show it
