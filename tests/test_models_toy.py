"""The toy model of superposition (nnlab.models.toy): its forward pass and loss against the paper's formulas on
hand-set weights, its points, its refusals, and the trainer against a plain PyTorch loop with the same seed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nnlab import TrainConfig, Trainer, build_model
from nnlab.models import ToyConfig, forward_points, layer_points, model_kind, task_of
from nnlab.models.toy import importances


def hand_set(config=ToyConfig(input_shape=(3,), n_classes=4, dims=2, importance=0.5)):
    model = build_model(config)
    with torch.no_grad():
        model.hidden.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]]))  # W: (2, 3)
        model.out.bias.copy_(torch.tensor([0.0, -1.0, 0.5]))
    return model


def test_forward_is_relu_of_wt_w_x_plus_b():
    model = hand_set()
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    # x₁ = e₀: h = (1, 0), Wᵀh = (1, 0, −1), + b = (1, −1, −0.5) → (1, 0, 0)
    # x₂: h = (−1, 2), Wᵀh = (−1, 4, 1), + b = (−1, 3, 1.5) → (0, 3, 1.5)
    np.testing.assert_allclose(model(x).detach().numpy(), [[1, 0, 0], [0, 3, 1.5]], atol=1e-6)
    outs = forward_points(model, x)
    assert list(outs) == ["hidden", "out", "recon"]
    np.testing.assert_allclose(outs["hidden"].detach().numpy(), [[1, 0], [-1, 2]], atol=1e-6)
    np.testing.assert_allclose(outs["out"].detach().numpy(), [[1, -1, -0.5], [-1, 3, 1.5]], atol=1e-6)
    np.testing.assert_allclose(model.decode(model.encode(x)).detach().numpy(), model(x).detach().numpy())


def test_loss_is_the_importance_weighted_error():
    model = hand_set()
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    out = model(x)
    # I = (1, 0.5, 0.25); errors² (0, 0, 0) and (0, 4, 0.25) → per sample 0 and 2 + 0.0625; mean over the batch
    loss = task_of(model).loss(out, x, torch.zeros(2, dtype=torch.long), model)
    assert loss.item() == pytest.approx((0 + 2.0625) / 2, abs=1e-6)
    np.testing.assert_allclose(importances(model.config).numpy(), [1, 0.5, 0.25])
    assert task_of(model).score(out, x, None) == pytest.approx((0 + (4 + 0.25) / 3), abs=1e-5)  # plain MSE


def test_points_and_the_kind():
    config = ToyConfig(input_shape=(6,), n_classes=7, dims=3)
    points = layer_points(build_model(config))
    assert [(p.name, p.layout, p.shape) for p in points] == [
        ("hidden", "code", (3,)),
        ("out", "vector", (6,)),
        ("recon", "vector", (6,)),
    ]
    kind = model_kind("toy")
    assert kind.skip_reason("attribution") and kind.task.name == "reconstruction"
    assert kind.make((6,), 7, dims=3) == config
    assert config.describe() == "Toy model 6 features → 3 dims (importance 0.7ⁱ)"


@pytest.mark.parametrize(
    "values, words",
    [
        ({"input_shape": (1, 8, 8)}, "vector of 2 to"),
        ({"dims": 5}, "from 1 to 4"),
        ({"dims": 0}, "from 1 to 4"),
        ({"importance": 0.0}, "from 0.1 to 1"),
    ],
)
def test_bad_configs_are_refused_in_words(values, words):
    with pytest.raises(ValueError, match=words):
        ToyConfig(**{"input_shape": (5,), "n_classes": 6, **values})


def test_trainer_equals_a_plain_loop():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 5, generator=g) * (torch.rand(64, 5, generator=g) > 0.5)
    y = torch.zeros(64, dtype=torch.long)
    config = ToyConfig(input_shape=(5,), n_classes=6, dims=2)
    cfg = TrainConfig(lr=0.01, epochs=2, batch_size=16, seed=0)
    torch.manual_seed(0)
    trainer = Trainer(build_model(config), cfg, x, y).fit()
    torch.manual_seed(0)
    model = build_model(config)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    weight = 0.7 ** torch.arange(5.0)
    shuffle = torch.Generator().manual_seed(0)
    for _ in range(2):
        for idx in torch.randperm(64, generator=shuffle).split(16):
            opt.zero_grad()
            loss = (
                (
                    (x[idx] - torch.relu(x[idx] @ model.hidden.weight.T @ model.hidden.weight + model.out.bias)) ** 2
                    * weight
                )
                .sum(1)
                .mean()
            )
            loss.backward()
            opt.step()
    torch.testing.assert_close(trainer.model.hidden.weight, model.hidden.weight, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(trainer.model.out.bias, model.out.bias, atol=1e-6, rtol=1e-5)
