"""The TopK SAE against its definitions (Gao et al. 2024): k selected per row, the reconstruction by its formula,
unit-norm decoder columns after steps, AuxK's gradient only through dead latents, the input scale; a planted sparse
dictionary recovered; saved and loaded with checks; trained on a run's point through the job function."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from nnlab.analysis import sae
from nnlab.runs import RunError


def planted(n=3000, d=12, atoms=24, active=3, seed=0):
    """Vectors that are sums of `active` of `atoms` unit directions (non-negative weights) plus an offset."""
    gen = torch.Generator().manual_seed(seed)
    dictionary = torch.randn(d, atoms, generator=gen)
    dictionary /= dictionary.norm(dim=0)
    idx = torch.stack([torch.randperm(atoms, generator=gen)[:active] for _ in range(n)])
    z = torch.zeros(n, atoms).scatter_(1, idx, torch.rand(n, active, generator=gen) + 0.5)
    return z @ dictionary.t() + 0.2, dictionary


def test_exactly_k_latents_are_selected_and_the_rest_are_zero():
    torch.manual_seed(0)
    m = sae.TopKSae(10, 40, 5)
    x = torch.randn(64, 10)
    with torch.no_grad():
        pre = m.pre_activations(x)
        z, idx = m.topk(pre)
    assert idx.shape == (64, 5)
    for row in range(64):
        chosen = set(idx[row].tolist())
        assert len(chosen) == 5
        assert set(pre[row].argsort(descending=True)[:5].tolist()) == chosen  # the 5 largest pre-activations
        for j in range(40):
            want = max(float(pre[row, j]), 0.0) if j in chosen else 0.0
            assert float(z[row, j]) == pytest.approx(want, abs=1e-6)
    assert int((z > 0).sum(1).max()) <= 5


def test_reconstruction_is_the_formula():
    torch.manual_seed(1)
    m = sae.TopKSae(6, 20, 3, scale=0.5)
    with torch.no_grad():
        m.b_pre.copy_(torch.randn(6))
        m.b_enc.copy_(torch.randn(20) * 0.1)
    x = torch.randn(30, 6)
    xs = 0.5 * x
    pre = (xs - m.b_pre) @ m.w_enc.t() + m.b_enc
    vals, idx = pre.topk(3, dim=1)
    z = torch.zeros(30, 20).scatter_(1, idx, vals.relu())
    by_hand = z @ m.w_dec.t() + m.b_pre
    recon, codes, _ = m(xs)
    torch.testing.assert_close(recon, by_hand, rtol=1e-5, atol=1e-5)  # float32: one matmul order against another
    torch.testing.assert_close(m.reconstruct(x), by_hand / 0.5, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(m.codes(x), codes)


def test_decoder_columns_stay_unit_norm_and_the_parallel_gradient_is_removed():
    torch.manual_seed(2)
    m = sae.TopKSae(8, 16, 2)
    x = torch.randn(50, 8) * 3
    recon, _, _ = m(x)
    ((recon - x) ** 2).sum().backward()
    m.remove_parallel_grad()
    along = (m.w_dec.grad * m.w_dec).sum(0)
    torch.testing.assert_close(along, torch.zeros(16), atol=1e-4, rtol=0)  # float32 sums of 8 products
    trained = sae.train_sae(x, 16, 2, epochs=5, batch=10)
    torch.testing.assert_close(trained.w_dec.norm(dim=0), torch.ones(16), atol=1e-5, rtol=0)


def test_aux_loss_flows_only_through_dead_latents():
    torch.manual_seed(3)
    m = sae.TopKSae(6, 12, 2)
    x = torch.randn(40, 6)
    recon, _, pre = m(x)
    dead = torch.zeros(12, dtype=torch.bool)
    dead[[1, 4, 7]] = True
    m.aux_loss(x, recon, pre, dead).backward()
    enc_rows = m.w_enc.grad.abs().sum(1)
    dec_cols = m.w_dec.grad.abs().sum(0)
    assert (enc_rows[dead] > 0).all() and (dec_cols[dead] > 0).all()
    assert float(enc_rows[~dead].abs().sum()) == 0 and float(dec_cols[~dead].abs().sum()) == 0
    assert float(m.b_enc.grad[~dead].abs().sum()) == 0
    assert float(m.aux_loss(x, recon, pre, torch.zeros(12, dtype=torch.bool))) == 0.0


def test_the_input_scale_makes_the_mean_squared_norm_d_in():
    x = torch.randn(500, 7) * 13 + 4
    s = sae.input_scale(x)
    assert float(((s * x) ** 2).sum(1).mean()) == pytest.approx(7.0, rel=1e-4)


def test_geometric_median_against_its_definition():
    gen = torch.Generator().manual_seed(4)
    x = torch.cat([torch.randn(50, 3, generator=gen), torch.full((5, 3), 100.0)])  # outliers pull the mean
    m = sae.geometric_median(x, iters=500)
    cost = (x - m).norm(dim=1).sum()
    for shift in torch.eye(3) * 0.05:
        assert cost <= (x - (m + shift)).norm(dim=1).sum() and cost <= (x - (m - shift)).norm(dim=1).sum()
    assert float(m.norm()) < 1.0 < float(x.mean(0).norm())


def test_a_planted_sparse_dictionary_is_recovered():
    x, dictionary = planted(n=2000)
    m = sae.train_sae(x, 24, 3, seed=0, epochs=40, batch=128)
    q = sae.quality(m, x)
    assert q.variance_explained > 0.85 and q.l0 <= 3.0
    best = (m.w_dec.detach().t() @ dictionary).max(0).values  # each atom's closest feature (cosine: unit columns)
    assert float(best.min()) > 0.9  # every planted atom has a feature pointing its way


def test_quality_against_hand_counts():
    torch.manual_seed(5)
    m = sae.TopKSae(4, 8, 2)
    x = torch.randn(100, 4)
    q = sae.quality(m, x, batch=7)
    z = m.codes(x)
    recon = m.reconstruct(x)
    ve = 1 - float(((recon - x) ** 2).sum()) / float(((x - x.mean(0)) ** 2).sum())
    assert q.variance_explained == pytest.approx(ve, rel=1e-4)
    assert q.l0 == pytest.approx(float((z > 0).sum(1).float().mean()))
    freq = (z > 0).float().mean(0).numpy()
    assert q.frequency.tolist() == pytest.approx(freq.tolist())
    assert q.dead == pytest.approx(float((freq == 0).mean())) and q.dense == pytest.approx(float((freq > 0.1).mean()))


def test_stopping_returns_none():
    x, _ = planted(n=200)
    calls = []
    assert sae.train_sae(x, 8, 2, should_stop=lambda: calls.append(1) or len(calls) > 3) is None
    assert len(calls) == 4


def test_bad_sizes_are_refused_in_words():
    x = torch.randn(10, 4)
    with pytest.raises(ValueError, match="k .* between 1 and the width"):
        sae.train_sae(x, 4, 5)
    with pytest.raises(ValueError, match="number of features"):
        sae.train_sae(x, 0, 1)
    with pytest.raises(ValueError, match="limit"):
        sae.SaeSpec("p", None, 16384, 8).check(4096)
    with pytest.raises(ValueError, match="NaN"):
        sae.train_sae(torch.full((10, 4), float("nan")), 4, 1)


def test_vectors_of_maps_and_tokens_go_back_to_their_shape():
    out = torch.randn(2, 3, 4, 5)
    v = sae.to_vectors("map", out)
    assert v.shape == (40, 3)
    torch.testing.assert_close(v[1 * 5 + 2], out[0, :, 1, 2])  # sample 0, row 1, column 2
    torch.testing.assert_close(sae.from_vectors("map", v, out.shape), out)
    tok = torch.randn(2, 5, 6)
    assert sae.to_vectors("tokens", tok).shape == (10, 6)
    torch.testing.assert_close(sae.from_vectors("tokens", sae.to_vectors("tokens", tok), tok.shape), tok)


def test_save_and_load_round_trip_with_checks(tmp_path):
    x, _ = planted(n=300)
    m = sae.train_sae(x, 16, 2, epochs=2)
    folder = sae.save_sae(tmp_path, m, {"point": "relu1", "snapshot": 3})
    assert folder == tmp_path / "features" / "relu1-s3-w16-k2"
    assert sorted(p.name for p in folder.iterdir()) == ["sae.json", "sae.safetensors"]
    back, entry = sae.load_sae(folder, d_in=12)
    torch.testing.assert_close(back.reconstruct(x), m.reconstruct(x))
    assert entry["k"] == 2 and entry["d_in"] == 12
    assert [e["name"] for e in sae.list_saes(tmp_path)] == ["relu1-s3-w16-k2"]
    with pytest.raises(RunError, match="12 values where the point has 5"):
        sae.load_sae(folder, d_in=5)
    entry["width"] = 17  # the header's shapes no longer fit the entry
    (folder / "sae.json").write_text(json.dumps(entry))
    with pytest.raises(RunError, match="does not fit its entry"):
        sae.load_sae(folder)
    entry["width"] = 10**6
    (folder / "sae.json").write_text(json.dumps(entry))
    with pytest.raises(RunError, match="outside the limits"):
        sae.load_sae(folder)
    assert sae.list_saes(tmp_path) == []  # a damaged one is left out of the list
    with pytest.raises(ValueError, match="cannot name"):
        sae.sae_name("../x", 0, 4, 1)


def test_train_in_run_saves_in_the_run_folder_and_stops_cleanly(tiny_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(tiny_run.folder, folder)
    seen = []
    out = sae.train_in_run(folder, "relu2", None, 16, 2, progress=lambda f, w: seen.append((f, w)), epochs=3)
    assert out == folder / "features" / f"relu2-s{len(tiny_run) - 1}-w16-k2"
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in seen)
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    m, entry = sae.load_sae(out, d_in=8)
    assert entry["point"] == "relu2" and entry["snapshot"] == len(tiny_run) - 1 and entry["vectors"] > 0
    assert sae.train_in_run(folder, "relu1", 1, 16, 2, should_stop=lambda: True) is None
    assert not (folder / "features" / "relu1-s1-w16-k2").exists()
    assert sorted(p.name for p in (folder / "features").iterdir()) == [out.name]  # no temporary folder left
    with pytest.raises(KeyError, match="no point"):
        sae.train_in_run(folder, "nope", None, 16, 2)
    with pytest.raises(ValueError, match="not a hidden layer"):
        sae.train_in_run(folder, "out", None, 16, 2)
