"""Units: top examples against a brute-force sort, the patch a channel sees, density, and ablation (a unit whose
outgoing weights are zero changes nothing; the ranking equals ablating each unit by hand)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab.analysis import ablation as A
from nnlab.analysis import units as U
from nnlab.models import CNNConfig, MLPConfig, build_model, layer_points


def point(model, name):
    return {p.name: p for p in layer_points(model)}[name]


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return build_model(MLPConfig((5,), 3, (6, 4)))


@pytest.fixture
def data():
    torch.manual_seed(1)
    x = torch.randn(200, 5)
    return x, np.arange(200) + 1000, np.random.default_rng(0).integers(0, 3, 200)


def test_the_unit_table_holds_every_units_output(mlp, data):
    x, idx, y = data
    t = U.unit_table(mlp, x, point(mlp, "dense1"), idx, y)
    assert t.values.shape == (200, 6) and t.where is None and t.signed and t.n_units == 6
    np.testing.assert_allclose(t.values, mlp.dense1(x).detach().numpy(), rtol=1e-6)
    relu = U.unit_table(mlp, x, point(mlp, "relu1"), idx, y)
    assert not relu.signed  # after a ReLU: nothing below zero, no "lowest" examples


def test_top_examples_are_a_brute_force_sort(mlp, data):
    x, idx, y = data
    t = U.unit_table(mlp, x, point(mlp, "dense2"), idx, y)
    for unit in range(4):
        info = U.unit_info(t, unit, 9)
        v = t.values[:, unit]
        by_hand = sorted(range(200), key=lambda i: -v[i])[:9]
        np.testing.assert_array_equal(info.high, idx[by_hand])
        np.testing.assert_array_equal(info.high_values, v[by_hand])
        np.testing.assert_array_equal(info.low, idx[sorted(range(200), key=lambda i: v[i])[:9]])
        assert np.all(np.diff(info.high_values) <= 0) and np.all(np.diff(info.low_values) >= 0)
    assert U.top_examples(np.array([1.0, 3.0, 3.0, 2.0]), 2).tolist() == [1, 2]  # ties: the earlier first
    with pytest.raises(IndexError, match="has 4 units"):
        U.unit_info(t, 4)


def test_density_counts_zeros_and_finds_dead_units(mlp, data):
    x, idx, y = data
    with torch.no_grad():
        mlp.dense1.bias[2] = -100.0  # unit 3 of relu1 never fires
    t = U.unit_table(mlp, x, point(mlp, "relu1"), idx, y)
    dead = U.unit_info(t, 2)
    assert dead.dead and dead.zero_share == 1.0 and U.dead_units(t).tolist() == [2]
    live = U.unit_info(t, 0)
    assert not live.dead and live.zero_share == pytest.approx(np.mean(t.values[:, 0] == 0))
    assert live.values.shape == (200,)


def test_a_channels_value_is_its_strongest_position_and_its_patch_is_what_that_position_sees():
    torch.manual_seed(0)
    cnn = build_model(CNNConfig((1, 8, 8), 3, (2, 3), 3, "max", (4,)))
    x = torch.randn(20, 1, 8, 8)
    t = U.unit_table(cnn, x, point(cnn, "relu2"), np.arange(20), np.zeros(20, int))
    out = cnn.relu2(cnn.conv2(cnn.pool1(cnn.relu1(cnn.conv1(x))))).detach()  # (20, 3, 4, 4)
    np.testing.assert_allclose(t.values, out.flatten(2).max(2).values.numpy())
    assert t.map_shape == (4, 4)
    field = U.receptive_field(cnn, "relu2")
    assert field == (8, 2, 0.5)  # 3×3 conv, 2×2 pool, 3×3 conv: 8 pixels, a step of 2
    assert U.receptive_field(cnn, "relu1") == (3, 1, 0.0)
    assert U.patch_box(field, 0, 4, (8, 8)) == (0, 5, 0, 5)  # the corner position sees the corner, clipped
    assert U.patch_box(field, 5, 4, (8, 8)) == (0, 7, 0, 7)  # row 1, column 1
    info = U.unit_info(t, 1, 5, field=field, image_hw=(8, 8))
    assert info.high_boxes.shape == (5, 4) and info.low_boxes.shape == (0, 4)  # ReLU'd: no lowest
    # The patch is exactly the pixels that can move that position: the gradient is zero outside it.
    i, pos = int(np.flatnonzero(np.arange(20) == info.high[0])[0]), t.where[info.high[0], 1]
    xi = x[i : i + 1].clone().requires_grad_()
    torch.manual_seed(0)
    cnn.relu2(cnn.conv2(cnn.pool1(cnn.relu1(cnn.conv1(xi)))))[0, 1].flatten()[pos].backward()
    r0, r1, c0, c1 = info.high_boxes[0]
    outside = xi.grad[0, 0].clone()
    outside[r0:r1, c0:c1] = 0
    assert not outside.any()


def test_the_table_of_a_conv_layer_in_several_batches_keeps_its_mean_output():
    torch.manual_seed(0)
    cnn = build_model(CNNConfig((3, 8, 8), 3, (2, 3), 3, "max", (4,)))
    x = torch.randn(U.BATCH + 44, 3, 8, 8)  # two batches, in channels-last order
    t = U.unit_table(cnn, x, point(cnn, "relu2"), np.arange(len(x)), np.zeros(len(x), int))
    with torch.no_grad():
        out = cnn.relu2(cnn.conv2(cnn.pool1(cnn.relu1(cnn.conv1(x)))))
    np.testing.assert_allclose(t.values, out.flatten(2).max(2).values.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(t.where, out.flatten(2).argmax(2).numpy())
    np.testing.assert_allclose(t.mean, out.mean(0, keepdim=True).numpy(), rtol=1e-5, atol=1e-6)
    assert t.mean.shape == (1, 3, 4, 4) and not t.whole
    np.testing.assert_array_equal(t.pred, A.predictions(cnn, x))  # the intact answers come along
    with torch.no_grad():
        cnn.dense3.weight.view(4, 3, 4)[:, 1] = 0  # relu2 → pool2 (3, 2, 2) → dense3: channel 1 reaches nothing
    t = U.unit_table(cnn, x, point(cnn, "relu2"), np.arange(len(x)), np.zeros(len(x), int))
    for mode in A.MODES:
        info = A.ablation_info(cnn, x, np.zeros(len(x), int), point(cnn, "relu2"), [1], 3, mode, intact=t.pred)
        assert info.changed == 0 and info.cost == 0
    dense = U.unit_table(cnn, x, point(cnn, "relu3"), np.arange(len(x)), np.zeros(len(x), int))
    assert dense.whole and dense.mean.shape == (1, 4)  # a dense layer's values are its whole output


def test_ablation_from_the_table_equals_ablation_from_the_inputs(mlp, data):
    x, idx, y = data
    for name in ("dense1", "relu2"):
        p = point(mlp, name)
        t = U.unit_table(mlp, x, p, idx, y)
        for mode in A.MODES:
            alone = A.ablation_info(mlp, x, y, p, [0, 2], 3, mode)
            fast = A.ablation_info(mlp, x, y, p, [0, 2], 3, mode, mean=t.mean, start=t.values, intact=t.pred)
            assert (alone.changed, alone.ablated_accuracy) == (fast.changed, fast.ablated_accuracy)
            np.testing.assert_array_equal(alone.ablated_confusion, fast.ablated_confusion)
            np.testing.assert_allclose(
                A.ablation_ranking(mlp, x, y, p, mode, table=t), A.ablation_ranking(mlp, x, y, p, mode)
            )


def test_ablating_a_unit_with_zero_outgoing_weights_changes_nothing(mlp, data):
    x, _, y = data
    with torch.no_grad():
        mlp.dense2.weight[:, 3] = 0  # relu1's unit 4 reaches nothing
    before = {k: v.clone() for k, v in mlp.state_dict().items()}
    for mode in A.MODES:
        info = A.ablation_info(mlp, x, y, point(mlp, "relu1"), [3], 3, mode)
        assert info.changed == 0 and info.cost == 0 and info.units == [3]
        np.testing.assert_array_equal(info.confusion, info.ablated_confusion)
    assert all(torch.equal(before[k], v) for k, v in mlp.state_dict().items()) and not mlp.relu1._forward_hooks
    assert A.ablation_ranking(mlp, x, y, point(mlp, "relu1"))[3] == 0


def test_ablation_compares_accuracy_per_class_and_confusion(mlp, data):
    x, _, y = data
    p = point(mlp, "relu1")
    info = A.ablation_info(mlp, x, y, p, [0, 1, 2, 3, 4, 5], 3)  # the whole layer off: one class for everything
    pred = A.predictions(mlp, x)
    assert info.accuracy == pytest.approx(np.mean(pred == y)) and info.confusion.sum() == 200
    assert (info.ablated_confusion > 0).any(axis=0).sum() == 1  # every sample gets the same answer
    np.testing.assert_allclose(info.per_class, [np.mean(pred[y == c] == c) for c in range(3)])
    assert A.ablation_info(mlp, x, y, p, [], 3).changed == 0
    with pytest.raises(ValueError, match="Unknown ablation"):
        A.ablated_predictions(mlp, x, p, [0], "half")


def test_the_ranking_is_each_unit_ablated_alone(mlp, data):
    x, _, y = data
    for name in ("dense1", "relu2"):
        p = point(mlp, name)
        for mode in A.MODES:
            costs = A.ablation_ranking(mlp, x, y, p, mode)
            by_hand = [A.ablation_info(mlp, x, y, p, [u], 3, mode).cost for u in range(p.shape[0])]
            np.testing.assert_allclose(costs, by_hand, atol=1e-6)
    seen = []
    A.ablation_ranking(mlp, x, y, point(mlp, "relu1"), progress=lambda f, w: seen.append(f))
    assert seen[-1] == 1.0


def test_ranking_of_conv_channels_and_its_words():
    torch.manual_seed(0)
    cnn = build_model(CNNConfig((1, 8, 8), 3, (4,), 3, "max", ()))
    x, y = torch.randn(30, 1, 8, 8), np.random.default_rng(0).integers(0, 3, 30)
    p = point(cnn, "relu1")
    costs = A.ablation_ranking(cnn, x, y, p, "mean")
    assert costs.shape == (4,)
    np.testing.assert_allclose(costs[2], A.ablation_info(cnn, x, y, p, [2], 3, "mean").cost, atol=1e-6)
    words = A.ranking_words(np.array([0.0, 0.05, 0.0002, 0.01]), "channel")
    assert words.startswith("The network can least do without channel 1 (5.0 points), channel 3 (1.0 points)")
    assert "2 of 4 channels cost less than 0.1 points" in words
    assert A.ranking_words(np.zeros(3)).startswith("No single unit matters on its own")


def test_unit_points_are_the_hidden_layers(mlp):
    assert [p.name for p in U.unit_points(layer_points(mlp))] == ["dense1", "relu1", "dense2", "relu2"]


def test_the_run_records(tiny_run):
    ds = tiny_run.dataset()
    t = U.run_unit_table(tiny_run, -1, ds, "relu1")
    idx, labels = tiny_run.eval_set()
    assert t.values.shape == (len(idx), 8) and np.array_equal(t.indices, np.asarray(idx))
    info = U.run_unit_info(tiny_run, -1, ds, "relu1", 2, table=t)
    assert set(info.high) <= set(np.asarray(idx)) and info.high_boxes is None


def test_a_background_ranking_runs_gently_and_leaves_the_main_thread_as_it_was():
    import threading

    threads, seen = torch.get_num_threads(), {}

    def work():
        with A.gentle():
            seen["inside"] = torch.get_num_threads()
        seen["after"] = torch.get_num_threads()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["inside"] == 1 and seen["after"] == threads == torch.get_num_threads()
    with A.gentle():  # the main thread: nothing changes
        assert torch.get_num_threads() == threads
