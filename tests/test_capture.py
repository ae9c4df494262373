"""nnlab.capture: outputs equal a hand-written forward pass; hooks never outlive the block."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nnlab import Capture
from nnlab.models import CNNConfig, MLPConfig, build_model, forward_points


def _hooks(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_mlp_capture_equals_a_hand_written_forward():
    torch.manual_seed(0)
    net = build_model(MLPConfig(input_shape=(1, 4, 4), n_classes=3, hidden=(6, 5)))
    x = torch.randn(8, 1, 4, 4)
    h = x.flatten(1)
    dense1 = h @ net.dense1.weight.T + net.dense1.bias
    relu1 = dense1.clamp(min=0)
    dense2 = relu1 @ net.dense2.weight.T + net.dense2.bias
    relu2 = dense2.clamp(min=0)
    out = relu2 @ net.out.weight.T + net.out.bias
    expected = {"dense1": dense1, "relu1": relu1, "dense2": dense2, "relu2": relu2, "out": out}
    with Capture(net, list(expected)) as cap:
        logits = net(x)
    for name, value in expected.items():
        torch.testing.assert_close(cap[name], value, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(cap["out"], logits, rtol=0, atol=0)
    points = forward_points(net, x)
    for name, value in expected.items():
        torch.testing.assert_close(points[name], value, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(points["softmax"], torch.softmax(out, 1), rtol=1e-6, atol=1e-6)


def test_cnn_capture_equals_a_hand_written_forward():
    torch.manual_seed(1)
    net = build_model(CNNConfig(input_shape=(2, 8, 8), n_classes=4, channels=(3, 5), hidden=(7,), pool="max"))
    x = torch.randn(4, 2, 8, 8)
    conv1 = F.conv2d(x, net.conv1.weight, net.conv1.bias, padding=1)
    relu1 = F.relu(conv1)
    pool1 = F.max_pool2d(relu1, 2)
    conv2 = F.conv2d(pool1, net.conv2.weight, net.conv2.bias, padding=1)
    relu2 = F.relu(conv2)
    pool2 = F.max_pool2d(relu2, 2)
    dense3 = F.linear(pool2.flatten(1), net.dense3.weight, net.dense3.bias)
    relu3 = F.relu(dense3)
    out = F.linear(relu3, net.out.weight, net.out.bias)
    expected = dict(
        conv1=conv1,
        relu1=relu1,
        pool1=pool1,
        conv2=conv2,
        relu2=relu2,
        pool2=pool2,
        dense3=dense3,
        relu3=relu3,
        out=out,
    )
    with Capture(net, list(expected)) as cap:
        net(x)
    assert cap["pool2"].shape == (4, 5, 2, 2)
    for name, value in expected.items():
        torch.testing.assert_close(cap[name], value, rtol=1e-5, atol=1e-6)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x))


class Custom(nn.Module):
    """Not an nnlab Net: nested blocks, a sequential, and a functional op."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.ModuleDict({"block": Block()})
        self.head = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid())

    def forward(self, x):
        return self.head(self.encoder["block"](x) * 2)


def test_capture_any_module_by_dotted_name():
    torch.manual_seed(2)
    model = Custom()
    x = torch.randn(5, 3)
    fc = x @ model.encoder.block.fc.weight.T + model.encoder.block.fc.bias
    act = torch.tanh(fc)
    head0 = (act * 2) @ model.head[0].weight.T + model.head[0].bias
    with Capture(model, ["encoder.block.fc", "encoder.block", "head.0", "head"]) as cap:
        y = model(x)
    torch.testing.assert_close(cap["encoder.block.fc"], fc)
    torch.testing.assert_close(cap["encoder.block"], act)
    torch.testing.assert_close(cap["head.0"], head0)
    torch.testing.assert_close(cap["head"], torch.sigmoid(head0))
    torch.testing.assert_close(cap["head"], y, rtol=0, atol=0)


def test_outputs_are_detached_cpu_tensors_and_hooks_are_gone():
    torch.manual_seed(0)
    model = Custom()
    x = torch.randn(2, 3, requires_grad=True)
    with Capture(model, ["encoder.block.fc", "head"]) as cap:
        assert _hooks(model) == 2
        y = model(x)
    assert _hooks(model) == 0
    assert y.requires_grad  # the model's own graph is untouched
    for name in ("encoder.block.fc", "head"):
        assert not cap[name].requires_grad and cap[name].grad_fn is None and cap[name].device.type == "cpu"


def test_a_later_in_place_op_does_not_change_what_was_captured():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(inplace=True))
    x = torch.randn(16, 3)
    with Capture(model, ["0", "1"]) as cap:
        model(x)
    torch.testing.assert_close(cap["0"], model[0](x).detach(), rtol=0, atol=0)
    assert (cap["0"] < 0).any() and not (cap["1"] < 0).any()


def test_hooks_are_removed_when_the_forward_raises():
    model = Custom()
    with pytest.raises(RuntimeError, match="mat1 and mat2"):
        with Capture(model, ["encoder.block.fc", "head.0"]):
            model(torch.zeros(2, 5))  # wrong width
    assert _hooks(model) == 0


def test_keep_all_keeps_every_call():
    model = nn.Sequential(nn.Linear(2, 2))
    with Capture(model, ["0"], keep_all=True) as cap:
        model(torch.zeros(1, 2))
        model(torch.ones(3, 2))
    assert [t.shape[0] for t in cap["0"]] == [1, 3]


def test_unknown_names_give_a_clear_key_error():
    model = Custom()
    with pytest.raises(KeyError, match=r"No module named encoder\.nope.*encoder\.block\.fc"):
        Capture(model, ["head", "encoder.nope"])
    assert _hooks(model) == 0
    with Capture(model, ["head"]) as cap:
        pass
    with pytest.raises(KeyError, match="produced no output"):
        cap["head"]


def test_a_module_returning_a_tuple_is_captured_as_a_tuple_of_copies():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True)
    with Capture(lstm, [""]) as cap:
        out, (h, c) = lstm(torch.randn(2, 5, 3))
    got, (got_h, got_c) = cap[""]
    torch.testing.assert_close(got, out.detach(), rtol=0, atol=0)
    torch.testing.assert_close(got_h, h.detach(), rtol=0, atol=0)
    assert not got.requires_grad
