"""Tests of nnlab.analysis.classes on hand-made class statistics, and on a recorded run."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlab.analysis import classes as A
from nnlab.models import Point


def test_separability_worked_out_on_paper():
    # Two equal classes, means 0 and 2, spread 1: the centre is 1, between = 1, within = 1.
    assert A.separability([[0.0], [2.0]], [[1.0], [1.0]], [5, 5]) == pytest.approx(1.0)
    # Counts weigh the classes: 2:1, means 0 and 3 → centre 1, between = 2/3·1 + 1/3·4 = 2;
    # spreads 1 and 2 → within = 2/3·1 + 1/3·4 = 2.
    assert A.separability([[0.0], [3.0]], [[1.0], [2.0]], [2, 1]) == pytest.approx(1.0)
    # Two units add up: between = 1 + 4·1 = 5 (second unit means −2, 2), within = 1 + 1.
    assert A.separability([[0.0, -2.0], [2.0, 2.0]], [[1.0, 1.0], [1.0, 1.0]], [1, 1]) == pytest.approx(2.5)
    assert A.separability([[0.0], [2.0]], [[0.0], [0.0]], [1, 1]) == math.inf  # apart and no spread at all
    assert A.separability([[1.0], [1.0]], [[0.0], [0.0]], [1, 1]) == 0.0
    assert A.separability([[0.0], [9.0]], [[1.0], [1.0]], [4, 0]) == 0.0  # one class present: nothing to separate


def test_sample_separability_matches_the_statistics_it_summarises():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)) + np.repeat(np.eye(3)[:, :3] * 2, 20, axis=0)
    y = np.repeat(np.arange(3), 20)
    mean = np.stack([x[y == c].mean(0) for c in range(3)])
    std = np.stack([x[y == c].std(0) for c in range(3)])
    assert A.sample_separability(x, y, 3) == pytest.approx(A.separability(mean, std, [20, 20, 20]))


def stats_for(ratios_means):
    """ClassMeans of 2 classes × 1 unit with std 1, whose separability is (m/2)² for means ±m/2."""
    return [
        A.ClassMeans(f"p{i}", "raw", i + 1, np.array([[-m / 2], [m / 2]]), np.ones((2, 1)), True)
        for i, m in enumerate(ratios_means)
    ]


def test_profile_finds_where_classes_first_separate():
    prof = A.separability_profile(stats_for([1.0, 3.0, 4.0]), np.array([10, 10]), input_ratio=0.1)
    assert prof.names == ("input", "p0", "p1", "p2")
    np.testing.assert_allclose(prof.ratio, [0.1, 0.25, 2.25, 4.0])
    assert prof.first_separating() == 2
    text = A.describe_separation(prof)
    assert "first stand apart at **p1**" in text and "furthest apart at **p2**" in text and "0.10" in text
    low = A.separability_profile(stats_for([1.0]), np.array([10, 10]), input_ratio=5.0)
    assert low.first_separating() is None  # the input does not count as a layer
    assert "no layer separates" in A.describe_separation(low)


def test_history_stacks_profiles():
    profiles = [A.separability_profile(stats_for([m, 2 * m]), np.array([1, 1])) for m in (1.0, 2.0, 4.0)]
    hist = A.separability_history(profiles, [0.0, 0.5, 1.0])
    assert hist.names == ("p0", "p1") and hist.ratio.shape == (2, 3)
    np.testing.assert_allclose(hist.ratio[1], [1.0, 4.0, 16.0])
    assert A.separability_history([], []).ratio.size == 0


def test_confused_pairs_and_words():
    confusion = np.array([[8, 2, 0], [5, 5, 0], [0, 1, 9]])
    pairs = A.confused_pairs(confusion)
    assert [(p.true, p.pred, p.count, p.total) for p in pairs] == [(1, 0, 5, 10), (0, 1, 2, 10), (2, 1, 1, 10)]
    assert pairs[0].share == 0.5
    names = ["T-shirt", "Shirt", "Coat"]
    assert A.describe_pair(pairs[0], names) == "Shirt is taken for T-shirt in 50% of cases (5 of 10)."
    assert A.confused_pairs(confusion, top=1) == pairs[:1]
    assert A.confused_pairs(np.eye(3, dtype=int) * 4) == []


def test_cell_samples_and_selection_events():
    idx = np.array([40, 41, 42, 43, 44])
    labels = np.array([0, 1, 1, 2, 1])
    pred = np.array([0, 0, 1, 2, 0])
    np.testing.assert_array_equal(A.cell_samples(idx, labels, pred, 1, 0), [41, 44])
    assert A.cell_samples(idx, labels, pred, 2, 0).size == 0
    event = {
        "selection": {
            "points": [{"curve_number": 1, "point_index": 7, "x": 1, "y": 2, "customdata": {"0": 2}}],
            "point_indices": [7],
            "box": [],
            "lasso": [],
        }
    }
    assert A.cell_from_selection(event) == (2, 1)  # y is the true class, x the predicted one
    assert A.cell_from_selection({"selection": {"points": []}}) is None
    assert A.cell_from_selection(None) is None


def test_class_means_roles_scales_and_pairs():
    def points(act):
        return [
            Point("conv1", "raw", 1, (2, 4, 4), layout="map"),
            Point("relu1", "activated", 1, (2, 4, 4), layout="map", activation=act),
            Point("out", "logits", 2, (3,)),
            Point("softmax", "probs", 2, (3,)),
        ]

    means = {p.name: np.arange(6.0).reshape(3, 2) - 2 for p in points("relu")}
    stds = {p.name: np.ones((3, 2)) for p in points("relu")}
    stats = A.class_means(means, stds, points("relu"))
    assert [(s.name, s.signed, s.per_channel) for s in stats] == [
        ("conv1", True, True),
        ("relu1", False, True),
        ("out", True, False),
        ("softmax", False, False),
    ]
    assert stats[0].unit_word == "channel" and stats[2].unit_word == "unit"
    tanh = A.class_means(means, stds, points("tanh"))
    assert tanh[1].signed and not tanh[3].signed  # probabilities stay non-negative
    pair = A.pair_difference(stats[0], 2, 0)
    np.testing.assert_array_equal(pair.diff, [4.0, 4.0])
    assert A.class_means({}, {}, points("relu")) == []


def test_unit_order_groups_units_by_their_class():
    mean = np.array([[0.0, 5.0, 0.0, 1.0, 0.0], [3.0, 0.0, 0.0, 0.0, 0.0]])  # unit 2 and 4: no class drives them
    order = A.unit_order(mean)
    assert sorted(order.tolist()) == list(range(5))
    np.testing.assert_array_equal(order[:2], [1, 3])  # class 0's units, strongest first
    assert order[2] == 0 and set(order[3:].tolist()) == {2, 4}


class _Run:
    """What class_learning reads from a Run: the evaluation labels and each snapshot's predictions."""

    def __init__(self, labels, preds, epochs, names):
        self.labels, self.preds, self.snapshots = np.asarray(labels), preds, [{"epoch": e} for e in epochs]
        self.class_names = names

    def __len__(self):
        return len(self.preds)

    def eval_set(self):
        return np.arange(len(self.labels)), self.labels

    def snapshot(self, t):
        import torch

        return {"pred": torch.as_tensor(self.preds[t])}


def test_class_learning_worked_out_by_hand():
    labels = [0, 0, 1, 1, 2, 2, 2, 2, 2, 2]
    preds = [
        [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],  # epoch 0: nothing right
        [0, 0, 0, 1, 2, 2, 2, 2, 2, 0],  # epoch 1: class 0 all right, 1 half, 2 five of six
        [0, 0, 1, 1, 2, 2, 2, 2, 2, 2],  # epoch 2: all right
    ]
    info = A.class_learning(_Run(labels, preds, [0.0, 1.0, 2.0], ["zero", "one", "two"]))
    np.testing.assert_allclose(info.accuracy, [[0, 1, 1], [0, 0.5, 1], [0, 5 / 6, 1]])
    np.testing.assert_allclose(info.learned_at, [1.0, 2.0, 2.0])  # 5/6 is below 90%
    text = A.describe_learning(info, ["zero", "one", "two"])
    assert text.startswith("**zero** is learned first (90% of its samples right by epoch 1.0)")
    assert "**two** only by epoch 2.0" in text or "**one** only by epoch 2.0" in text
    early = A.class_learning(_Run(labels, preds[:2], [0.0, 1.0], ["zero", "one", "two"]))
    assert np.isnan(early.learned_at[1]) and "not yet learned: one, two" in A.describe_learning(
        early, ["zero", "one", "two"]
    )


def test_describe_confusion_counts_and_lists_mistakes():
    text = A.describe_confusion(np.array([[8, 2], [0, 10]]), ["cat", "dog"])
    assert text.startswith("**90.0%** of the 20 evaluation samples are right") and "cat" in text
    assert "none: all are right" in A.describe_confusion(np.eye(2, dtype=int) * 5, ["cat", "dog"])


def test_over_training_from_each_snapshots_part_equals_the_whole_and_asks_each_snapshot_once(tiny_run):
    asked = []

    def sep_at(k):
        asked.append(("sep", k))
        return A.separability_at(tiny_run, k, 0.5)

    def acc_at(k):
        asked.append(("acc", k))
        return A.class_accuracy_at(tiny_run, k, tiny_run.eval_set()[1])

    whole, parts = A.separability_over_training(tiny_run, 0.5), A.separability_over_training(tiny_run, 0.5, at=sep_at)
    np.testing.assert_array_equal(whole.ratio, parts.ratio)
    assert whole.names == parts.names
    learned, learned_parts = A.class_learning(tiny_run), A.class_learning(tiny_run, at=acc_at)
    np.testing.assert_array_equal(learned.accuracy, learned_parts.accuracy)
    n = len(tiny_run)
    assert sorted(asked) == sorted([("sep", k) for k in range(n)] + [("acc", k) for k in range(n)])
