"""Features of an SAE against their definitions: the table equals the SAE's codes of the point's output (a map's
largest over positions, and where), an exact SAE spliced in changes nothing, purity counted by hand, the effect on
the classes worked out from the output layer's weights, the neuron split, the sentence from the numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.analysis import features, sae
from nnlab.analysis.units import eval_inputs, point_output
from nnlab.models import CNNConfig, MLPConfig, build_model, layer_points


def point(model, name):
    return {p.name: p for p in layer_points(model)}[name]


def identity_sae(d: int) -> sae.TopKSae:
    """An SAE whose features are the point's units (k = width = d): its reconstruction of non-negative vectors is
    exact."""
    m = sae.TopKSae(d, d, d)
    with torch.no_grad():
        m.w_enc.copy_(torch.eye(d))
        m.w_dec.copy_(torch.eye(d))
        m.b_enc.zero_()
        m.b_pre.zero_()
    return m


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return build_model(MLPConfig((5,), 3, (6,))).eval()


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(1)
    return torch.randn(150, 5, generator=gen), np.arange(150) + 500, np.arange(150) % 3


def test_the_table_holds_the_saes_codes_of_the_points_output(mlp, data):
    x, idx, y = data
    torch.manual_seed(2)
    m = sae.TopKSae(6, 12, 3)
    t = features.feature_table(mlp, m, x, point(mlp, "relu1"), idx, y)
    h = point_output(mlp, x, "relu1")
    np.testing.assert_allclose(t.acts, m.codes(h).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.neurons, h.numpy(), rtol=1e-6)
    assert t.where is None and t.n_features == 12
    q = sae.quality(m, h)
    assert t.quality.variance_explained == pytest.approx(q.variance_explained, rel=1e-4)
    assert t.quality.l0 == pytest.approx(q.l0) and t.frequency.tolist() == pytest.approx(q.frequency.tolist())
    assert t.metric == "accuracy" and t.intact == pytest.approx(float((mlp(x).argmax(1).numpy() == y).mean()))


def test_an_exact_sae_spliced_in_changes_nothing(mlp, data):
    x, idx, y = data
    t = features.feature_table(mlp, identity_sae(6), x, point(mlp, "relu1"), idx, y)
    assert t.spliced == t.intact
    assert t.quality.variance_explained == pytest.approx(1.0, abs=1e-5)


def test_a_map_points_features_are_their_largest_over_positions_and_where():
    torch.manual_seed(3)
    cnn = build_model(CNNConfig((1, 8, 8), 3, channels=(4,), hidden=())).eval()
    p = point(cnn, "relu1")
    x = torch.randn(20, 1, 8, 8)
    m = sae.TopKSae(4, 6, 2)
    t = features.feature_table(cnn, m, x, p, np.arange(20), np.arange(20) % 3)
    out = point_output(cnn, x, "relu1")  # (20, 4, H, W)
    h, w = out.shape[2:]
    codes = m.codes(sae.to_vectors("map", out)).reshape(20, h * w, 6)
    np.testing.assert_allclose(t.acts, codes.max(1).values.numpy(), rtol=1e-5, atol=1e-6)
    for s in range(20):
        for f in range(6):
            pos = int(t.where[s, f])
            assert float(codes[s, pos, f]) == pytest.approx(float(t.acts[s, f]), abs=1e-6)
    assert t.map_shape == (h, w)
    np.testing.assert_allclose(t.neurons, out.flatten(2).max(2).values.numpy(), rtol=1e-6)
    info = features.feature_info(t, int(np.argmax(t.acts.max(0))), ["a", "b", "c"], field=(3, 1, 0.0), image_hw=(8, 8))
    assert info.boxes is not None and info.boxes.shape == (len(info.top), 4)


def test_purity_counts_the_strongest_responses_by_hand():
    labels = np.array([0, 0, 1, 1, 2, 2, 0, 1, 0, 0])
    v = np.array([[9, 8, 1, 1, 0, 0, 7, 2, 6, 5]], float).T  # at a quarter of 9 or more: rows 0, 1, 6, 8, 9
    pur, best, shares = features.purity(v, labels, 3)
    assert pur[0] == 1.0 and best[0] == 0 and shares[0].tolist() == [1.0, 0.0, 0.0]
    v2 = np.array([[9, 9, 9, 9, 9, 0, 0, 0, 0, 0]], float).T  # rows 0-4: classes 0, 0, 1, 1, 2
    pur, best, shares = features.purity(v2, labels, 3)
    assert pur[0] == pytest.approx(0.4) and best[0] == 0 and shares[0].tolist() == pytest.approx([0.4, 0.4, 0.2])
    rare = np.array([[1, 0, 0, 0, 0, 0, 0, 0, 0, 1]], float).T  # 2 strong responses < MIN_FIRING
    assert np.isnan(features.purity(rare, labels, 3)[0][0])
    assert np.isnan(features.purity(np.zeros((10, 1)), labels, 3)[0][0])


def test_the_effect_of_switching_a_unit_feature_off_is_its_output_weights(mlp, data):
    x, idx, y = data
    m = identity_sae(6)
    p = point(mlp, "relu1")
    t = features.feature_table(mlp, m, x, p, idx, y)
    effects = features.logit_effects(mlp, m, x, t, p)
    h = point_output(mlp, x, "relu1").numpy()
    w = mlp.out.weight.detach().numpy()  # (3, 6)
    for f in range(6):
        rows = np.argsort(-h[:, f], kind="stable")[: features.EFFECT_SAMPLES]
        rows = rows[h[rows, f] > 0]
        if len(rows) == 0:
            assert np.isnan(effects[f]).all()
            continue
        by_hand = w[:, f] * h[rows, f].mean()  # removing unit f takes h_f · W[:, f] off the logits
        np.testing.assert_allclose(effects[f], by_hand - by_hand.mean(), rtol=1e-4, atol=1e-5)


def test_the_most_polysemantic_neuron_is_split_by_the_features_that_carry_it():
    labels = np.repeat([0, 1, 2], 10)
    neurons = np.zeros((30, 2))
    neurons[:, 0] = 1.0  # neuron 0 fires for every class alike
    neurons[:10, 1] = 1.0  # neuron 1 fires for class 0 only
    acts = np.zeros((30, 3))
    for c in range(3):
        acts[labels == c, c] = 1.0  # feature c fires for class c
    m = sae.TopKSae(2, 3, 1)
    with torch.no_grad():
        m.w_dec.copy_(torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]) / torch.tensor([2**0.5, 1.0, 1.0]))
    t = features.FeatureTable("p", "vector", acts, None, neurons, np.arange(30), labels, acts.mean(0),
                              sae.Quality(1, 1, 0, 0, acts.mean(0)), "accuracy", 1.0, 1.0, None)  # fmt: skip
    c = features.neurons_vs_features(t, m, 3)
    assert c.neuron == 0 and c.neuron_purity.tolist() == pytest.approx([1 / 3, 1.0])
    assert c.feature_purity.tolist() == [1.0, 1.0, 1.0] and c.feature_median == 1.0
    assert [cls for cls, _ in c.neuron_classes] == [0, 1, 2]
    assert [(cls, f) for cls, f, _ in c.splitters] == [(0, 0), (1, 1), (2, 2)]


def test_the_sentence_says_the_numbers():
    shares = np.array([0.0, 0.9, 0.1])
    effect = np.array([-1.0, 2.0, -0.5])
    s = features.sentence(7, shares, 0.9, 0.04, effect, ["zero", "one", "two"], "mostly at the top of the image")
    assert s == (
        "Feature 7 fires on one (90%) of its strongest samples (one class); active on 4% of the samples, "
        "mostly at the top of the image; raises one, lowers zero and two."
    )
    assert "dead feature" in features.sentence(3, np.zeros(3), float("nan"), 0.0, None, ["a", "b", "c"])
    assert "too rarely" in features.sentence(3, np.zeros(3), float("nan"), 0.01, None, ["a", "b", "c"])


def test_token_boxes_and_places():
    assert features.token_box(0, 17, (8, 8)) == (0, 8, 0, 8)  # the class token sees the whole image
    assert features.token_box(1, 17, (8, 8)) == (0, 2, 0, 2)  # 16 patches of 2×2: the first at the top left
    assert features.token_box(16, 17, (8, 8)) == (6, 8, 6, 8)
    assert features.place(np.array([[0, 2, 0, 2]]), (8, 8)) == "mostly at the top left of the image"
    assert features.place(np.array([[3, 5, 3, 5]]), (8, 8)) == "mostly near the middle of the image"


def test_steering_scales_one_feature_as_scaling_that_unit_by_hand(mlp, data):
    x, _, _ = data
    m = identity_sae(6)
    p = point(mlp, "relu1")
    sample = x[3:4]
    h = point_output(mlp, sample, "relu1")  # (1, 6)
    f = int(h.argmax())
    for factor in (0.0, 1.0, 2.5):
        s = features.steer(mlp, m, sample, p, f, factor)
        scaled = h.clone()
        scaled[0, f] *= factor
        want = torch.softmax(mlp.out(scaled), 1)[0].detach().numpy()
        np.testing.assert_allclose(s.after, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(s.before, torch.softmax(mlp(sample), 1)[0].detach().numpy(), rtol=1e-6)
    assert s.value == pytest.approx(float(h[0, f])) and s.active[0] == f
    assert sorted(s.active.tolist()) == torch.nonzero(h[0] > 0).flatten().tolist()
    with pytest.raises(IndexError, match="no feature 6"):
        features.steer(mlp, m, sample, p, 6, 0.0)


@pytest.mark.parametrize("kind", ["vit", "ae"])
def test_every_kind_of_point_a_vit_residual_stream_and_an_autoencoders_code(kind, tmp_path):
    """train_in_run, the table and a dashboard on a ViT's tokens (one vector per token, where: the token, its patch
    on the image) and on an autoencoder's code (no class scores: the spliced-in metric is its reconstruction error,
    and no effect on classes)."""
    from nnlab import DataConfig, RecordConfig, TrainConfig, train_run
    from nnlab.models.autoencoder import AEConfig
    from nnlab.models.vit import ViTConfig
    from nnlab.runs import Run

    if kind == "vit":
        model, name = ViTConfig((1, 8, 8), 10, width=16, depth=1, heads=2), "block1"
    else:
        model, name = AEConfig((1, 8, 8), 10, hidden=(16,), code=4), "code"
    run = train_run(
        DataConfig.make("digits", train_subset=200),
        model,
        TrainConfig(batch_size=50, epochs=1, seed=0),
        RecordConfig(snapshots=1, eval_size=60),
        root=tmp_path,
        name=kind,
    )
    saved = sae.train_in_run(run.folder, name, None, 16, 2, epochs=2)
    run = Run(run.folder)
    m, entry = sae.load_sae(saved)
    p, ds = run.point(name), run.dataset()
    x, idx, labels = eval_inputs(run, ds)
    model_at = run.model_at(-1)
    t = features.feature_table(model_at, m, x, p, idx, labels)
    out = point_output(model_at, x, p.module)
    vectors = sae.to_vectors(p.layout, out)
    assert entry["vectors"] == 200 * (len(vectors) // len(x))  # every training sample's tokens, or its one code
    codes = m.codes(vectors).reshape(len(x), -1, 16)
    np.testing.assert_allclose(t.acts, codes.max(1).values.numpy(), rtol=1e-5, atol=1e-6)
    f = int(np.argmax(t.acts.max(0)))
    info = features.feature_info(t, f, run.class_names, image_hw=(8, 8))
    effects = features.logit_effects(model_at, m, x, t, p)
    want = {  # a ViT: 16 patches of 2×2 and the class token; an autoencoder: one code per sample, no classes
        "vit": ((17,), True, (16, 10), "accuracy"),
        "ae": (None, False, None, run.model_kind.task.metric_info.label),
    }[kind]
    got = (t.map_shape, info.boxes is not None, None if effects is None else effects.shape, t.metric)
    assert got == want and t.spliced >= 0
