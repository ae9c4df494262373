"""nnlab.models: point names, roles and shapes, the variants, config round trips, the parameter table."""

import json
from dataclasses import asdict

import pytest
import torch
from torch import nn

from nnlab.models import (
    ACTIVATIONS,
    CNNConfig,
    MLPConfig,
    build_model,
    config_from_dict,
    count_parameters,
    forward_points,
    layer_points,
    parameter_table,
)


def _names(net):
    return [p.name for p in layer_points(net)]


def test_two_hidden_layers_give_six_points_with_shapes():
    net = build_model(MLPConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(32, 16)))
    points = layer_points(net)
    assert [p.name for p in points] == ["dense1", "relu1", "dense2", "relu2", "out", "softmax"]
    assert [p.role for p in points] == ["raw", "activated", "raw", "activated", "logits", "probs"]
    assert [p.layer for p in points] == [1, 1, 2, 2, 3, 3]
    assert [p.shape for p in points] == [(32,), (32,), (16,), (16,), (10,), (10,)]
    assert net.points() == points


def test_forward_points_are_the_layers_in_order_and_end_in_the_logits():
    torch.manual_seed(0)
    net = build_model(MLPConfig(hidden=(5, 4), n_classes=3)).eval()
    x = torch.randn(7, 2)
    outs = forward_points(net, x)
    assert list(outs) == ["dense1", "relu1", "dense2", "relu2", "out", "softmax"]
    torch.testing.assert_close(outs["relu1"], outs["dense1"].clamp(min=0), rtol=0, atol=0)
    torch.testing.assert_close(outs["out"], net(x), rtol=0, atol=0)
    torch.testing.assert_close(outs["softmax"].sum(1), torch.ones(7))
    assert {k: tuple(v.shape) for k, v in outs.items()} == {
        "dense1": (7, 5),
        "relu1": (7, 5),
        "dense2": (7, 4),
        "relu2": (7, 4),
        "out": (7, 3),
        "softmax": (7, 3),
    }


def test_cnn_points_and_shapes():
    net = build_model(CNNConfig(input_shape=(1, 28, 28), n_classes=10, channels=(4, 8), hidden=(16,)))
    assert [(p.name, p.role, p.layer, p.shape) for p in layer_points(net)] == [
        ("conv1", "raw", 1, (4, 28, 28)),
        ("relu1", "activated", 1, (4, 28, 28)),
        ("pool1", "pooled", 1, (4, 14, 14)),
        ("conv2", "raw", 2, (8, 14, 14)),
        ("relu2", "activated", 2, (8, 14, 14)),
        ("pool2", "pooled", 2, (8, 7, 7)),
        ("dense3", "raw", 3, (16,)),
        ("relu3", "activated", 3, (16,)),
        ("out", "logits", 4, (10,)),
        ("softmax", "probs", 4, (10,)),
    ]
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("pool, size", [("avg", 4), ("none", 9)])
def test_cnn_pool_variants_on_an_odd_sized_colour_image(pool, size):
    net = build_model(CNNConfig(input_shape=(3, 9, 9), n_classes=4, channels=(2,), pool=pool, kernel=5, hidden=()))
    shapes = {p.name: p.shape for p in layer_points(net)}
    assert shapes["conv1"] == (2, 9, 9)
    assert shapes["pool1" if pool != "none" else "relu1"] == (2, size, size)
    assert ("pool1" in shapes) == (pool != "none")
    assert net(torch.zeros(3, 3, 9, 9)).shape == (3, 4)


def test_batch_norm_and_dropout_variants():
    net = build_model(MLPConfig(hidden=(6, 5), dropout=0.5, batch_norm=True))
    assert list(dict(net.named_children())) == [
        "flatten",
        "dense1",
        "bn1",
        "relu1",
        "drop1",
        "dense2",
        "bn2",
        "relu2",
        "drop2",
        "out",
    ]
    assert [(p.name, p.role) for p in layer_points(net)][:3] == [
        ("dense1", "raw"),
        ("bn1", "norm"),
        ("relu1", "activated"),
    ]
    assert "drop1" not in _names(net)  # dropout is not a point: it equals its input in eval mode
    cnn = build_model(CNNConfig(input_shape=(1, 8, 8), channels=(3,), hidden=(4,), batch_norm=True, dropout=0.1))
    assert _names(cnn) == ["conv1", "bn1", "relu1", "pool1", "dense2", "bn2", "relu2", "out", "softmax"]
    assert isinstance(cnn.bn1, nn.BatchNorm2d) and isinstance(cnn.bn2, nn.BatchNorm1d)
    assert cnn.training  # layer_points must leave the training flag as it found it
    cnn.eval()
    layer_points(cnn)
    assert not cnn.training


def test_a_server_asking_for_shapes_does_not_import_torchs_compiler():
    import subprocess
    import sys

    code = (
        "import sys; from nnlab.models import CNNConfig, build_model, layer_points; "
        "net = build_model(CNNConfig(input_shape=(1, 8, 8), channels=(3,), hidden=(4,), batch_norm=True)); "
        "print([p.shape for p in layer_points(net)][-2:], 'torch._dynamo' in sys.modules, 'sympy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[(10,), (10,)] False False", out.stderr


def test_dropout_is_active_in_training_and_off_in_eval():
    torch.manual_seed(0)
    net = build_model(MLPConfig(hidden=(64,), dropout=0.5))
    x = torch.randn(4, 2)
    train_out = net.train()(x)
    eval_out = net.eval()(x)
    assert not torch.equal(train_out, eval_out)
    torch.testing.assert_close(net.eval()(x), eval_out, rtol=0, atol=0)  # eval is deterministic
    hidden = net.relu1(net.dense1(x))
    dropped = net.train().drop1(hidden)
    assert torch.equal((dropped == 0) | (dropped == hidden * 2), torch.ones_like(hidden, dtype=torch.bool))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation(name):
    torch.manual_seed(0)
    net = build_model(MLPConfig(hidden=(3,), activation=name)).eval()
    assert _names(net) == ["dense1", f"{name}1", "out", "softmax"]
    assert isinstance(getattr(net, f"{name}1"), ACTIVATIONS[name])
    x = torch.randn(5, 2)
    outs = forward_points(net, x)
    expected = {
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "gelu": nn.functional.gelu,
        "leaky_relu": nn.functional.leaky_relu,
    }[name](outs["dense1"])
    torch.testing.assert_close(outs[f"{name}1"], expected, rtol=0, atol=0)


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown activation 'swish'.*relu"):
        build_model(MLPConfig(activation="swish"))


def test_bad_cnn_configs_are_clear_errors():
    with pytest.raises(ValueError, match="odd"):
        build_model(CNNConfig(input_shape=(1, 7, 7), kernel=4))
    with pytest.raises(ValueError, match="too small"):
        build_model(CNNConfig(input_shape=(1, 8, 8), channels=(4, 4, 4, 4)))
    with pytest.raises(ValueError, match="pool"):
        build_model(CNNConfig(pool="median"))
    with pytest.raises(ValueError, match=r"A CNN needs image input .*\(2,\)"):
        build_model(CNNConfig(input_shape=(2,)))


@pytest.mark.parametrize(
    "cfg",
    [
        MLPConfig(),
        MLPConfig(input_shape=(3, 32, 32), n_classes=10, hidden=(7,), activation="gelu", dropout=0.25, batch_norm=True),
        CNNConfig(),
        CNNConfig(input_shape=(3, 32, 32), channels=(8, 8, 16), kernel=5, pool="avg", hidden=(), activation="tanh"),
    ],
)
def test_config_dict_round_trip_through_json(cfg):
    d = json.loads(json.dumps(asdict(cfg)))
    back = config_from_dict(d)
    assert back == cfg and type(back) is type(cfg)
    assert hash(back) == hash(cfg)  # frozen and hashable: usable as a cache key
    assert d == json.loads(json.dumps(asdict(cfg)))


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        MLPConfig().hidden = (1,)


def test_parameter_table_counts():
    net = build_model(MLPConfig(input_shape=(1, 28, 28), n_classes=10, hidden=(128, 64)))
    rows = {r["layer"]: r for r in parameter_table(net)}
    assert rows["dense1"]["parameters"] == 784 * 128 + 128
    assert rows["dense2"]["parameters"] == 128 * 64 + 64
    assert rows["out"]["parameters"] == 64 * 10 + 10
    assert rows["relu1"]["parameters"] == 0
    assert rows["dense1"]["output shape"] == "128" and rows["dense1"]["type"] == "Linear"
    assert count_parameters(net) == 109_386 == sum(r["parameters"] for r in rows.values())
    cnn = build_model(CNNConfig(input_shape=(1, 28, 28), channels=(16, 32), hidden=(64,), batch_norm=True))
    rows = {r["layer"]: r for r in parameter_table(cnn)}
    assert rows["conv1"]["parameters"] == 16 * 1 * 9 + 16
    assert rows["conv2"]["parameters"] == 32 * 16 * 9 + 32
    assert rows["bn1"]["parameters"] == 2 * 16
    assert rows["dense3"]["parameters"] == 32 * 7 * 7 * 64 + 64
    assert rows["conv1"]["output shape"] == "16×28×28"
    assert count_parameters(cnn) == sum(r["parameters"] for r in rows.values())


def test_parameter_table_of_a_plain_module():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert parameter_table(model) == [
        {"layer": "0", "type": "Linear", "output shape": "", "parameters": 16},
        {"layer": "2", "type": "Linear", "output shape": "", "parameters": 10},
    ]
