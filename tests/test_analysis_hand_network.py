"""The network you can hold: which networks it draws, edits change a copy only, and its numbers are the network's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab import CNNConfig, MLPConfig, build_model
from nnlab.analysis import backprop as bp
from nnlab.analysis import boundary
from nnlab.analysis import hand_network as hand


def test_only_small_dense_networks_on_2d_data_are_held():
    assert hand.holdable(build_model(MLPConfig(hidden=(8, 8, 8)))) is None
    assert "2-D data" in hand.holdable(build_model(MLPConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(8,))))
    assert "at most 3 hidden layers" in hand.holdable(build_model(MLPConfig(hidden=(8, 8, 8, 8))))
    assert "at most 8 units" in hand.holdable(build_model(MLPConfig(hidden=(16,))))
    assert "only dense layers" in hand.holdable(build_model(MLPConfig(hidden=(8,), batch_norm=True)))
    cnn = CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,))
    assert hand.holdable(build_model(cnn)) is not None


def test_an_edit_changes_a_copy_and_every_number_follows(tiny_run):
    run, k = tiny_run, len(tiny_run) - 1
    ds, model = run.dataset(), run.model_at(k)
    grid = boundary.plane_grid(ds.x_test, 20)
    sample, target = ds.prepare(ds.x_test[:1]), int(ds.y_test[0])
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    edits = {("dense1.weight", (2, 1)): 1.75, ("out.bias", (0,)): -0.5}
    net = hand.run_hand_network(run, k, ds, sample, target, edits, grid=grid, model=model)
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())  # the run's network is not touched
    assert net.param("dense1.weight")[2, 1] == 1.75 and net.param("out.bias")[0] == -0.5
    assert net.edited == tuple(sorted(edits)) and net.columns == ("input", "relu1", "relu2", "softmax")
    twin = hand.edited_copy(model, edits)
    with torch.no_grad():
        probs = torch.softmax(twin(ds.prepare(grid.xy)), 1).numpy().reshape(20, 20, 2)
        logits = twin(ds.prepare(ds.x_test))
    np.testing.assert_allclose(net.probs, probs, atol=1e-6)
    assert net.accuracy == pytest.approx(float((logits.argmax(1).numpy() == ds.y_test).mean()))
    assert net.loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, torch.as_tensor(ds.y_test))))
    record = bp.backprop(twin, sample, target, bp.optimizer_at(run, k), bp.state_at(run, k))
    np.testing.assert_allclose(net.weight_grads[0], record.param("dense1.weight").grad, atol=1e-6)
    np.testing.assert_allclose(net.values[1], record.point("relu1").values, atol=1e-6)
    assert [m.shape for m in net.maps] == [(2, 20, 20), (8, 20, 20), (8, 20, 20), (2, 20, 20)]
    np.testing.assert_allclose(net.maps[-1].sum(0), 1, atol=1e-5)
    unedited = hand.run_hand_network(run, k, ds, sample, target, {}, grid=grid, model=model)
    assert not np.allclose(unedited.probs, net.probs)


def test_every_entry_has_words(tiny_run):
    model = tiny_run.model_at(0)
    entries = hand.entries(model)
    assert len(entries) == sum(p.numel() for p in model.parameters()) == 2 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2
    cols, layers = hand.columns_of(model), hand.dense_layers(model)
    assert hand.entry_words("dense2.weight", (3, 5), cols, layers) == "dense2.weight[3, 5]: relu1 unit 5 → relu2 unit 3"
    assert hand.entry_words("out.bias", (1,), cols, layers) == "out.bias[1]: bias of softmax unit 1"
