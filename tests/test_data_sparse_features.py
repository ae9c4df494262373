"""The sparse-features dataset (nnlab.data.sparse_features): each value zero with probability S, else uniform in
[0, 1]; labels are the strongest feature or "none"; no normalisation; bad options refused in words."""

from __future__ import annotations

import numpy as np
import pytest

from nnlab.data import DataConfig, list_datasets, load_dataset
from nnlab.data.sparse_features import draw_features, strongest_feature


def test_values_are_sparse_and_uniform():
    x = draw_features(20_000, 10, 0.8, seed=1)
    assert x.shape == (20_000, 10) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1
    assert abs((x == 0).mean() - 0.8) < 0.01  # 200,000 draws: the share of zeros is 0.8 ± 0.003 (3 sigma)
    present = x[x > 0]
    assert abs(present.mean() - 0.5) < 0.01 and abs(present.var() - 1 / 12) < 0.005  # uniform on [0, 1]
    np.testing.assert_array_equal(x, draw_features(20_000, 10, 0.8, seed=1))  # seeded
    assert (draw_features(100, 4, 0.0, seed=0) > 0).all()  # dense: no zero


def test_labels_are_the_strongest_feature_or_none():
    x = np.array([[0.0, 0.3, 0.9], [0.5, 0.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    assert strongest_feature(x).tolist() == [2, 0, 3]


def test_the_registered_dataset():
    assert list_datasets()["sparse-features"].kind == "table"
    ds = load_dataset(DataConfig.make("sparse-features", n_features=4, sparsity=0.5, n_samples=500, seed=3))
    assert ds.input_shape == (4,) and ds.kind == "table"
    assert ds.class_names == ("feature 0", "feature 1", "feature 2", "feature 3", "none")
    assert len(ds.y_train) + len(ds.y_test) == 500
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    np.testing.assert_array_equal(y, strongest_feature(x))
    np.testing.assert_array_equal(ds.prepare(ds.x_test).numpy(), ds.x_test)  # the model sees the values as drawn


@pytest.mark.parametrize(
    "options, words",
    [
        ({"sparsity": 1.0}, "sparsity 1.0 must be"),
        ({"sparsity": -0.1}, "sparsity -0.1 must be"),
        ({"n_features": 1}, "n_features 1 must be"),
        ({"n_samples": 5}, "n_samples 5 must be"),
    ],
)
def test_bad_options_are_refused_in_words(options, words):
    with pytest.raises(ValueError, match=words):
        load_dataset(DataConfig.make("sparse-features", **options))


def test_the_command_line_trains_a_toy_model_on_it(tmp_path, capsys):
    from nnlab import Run
    from nnlab.cli import main

    args = ["train", "--dataset", "sparse-features", "--sparsity", "0.9", "--n-features", "6", "--samples", "300"]
    code = main(
        [*args, "--model", "toy", "--dims", "2", "--epochs", "1", "--snapshots", "2", "--runs-dir", str(tmp_path)]
    )
    assert code == 0
    run = Run(capsys.readouterr().out.strip().splitlines()[-1].removeprefix("run folder: "))
    assert run.data_config.kwargs == {"sparsity": 0.9, "n_features": 6, "n_samples": 300}
    assert run.model_config.dims == 2 and run.model_config.input_shape == (6,)
    assert main(["train", "--dataset", "sparse-features", "--sparsity", "1.5", "--runs-dir", str(tmp_path)]) == 2
    assert "sparsity 1.5 must be" in capsys.readouterr().err
