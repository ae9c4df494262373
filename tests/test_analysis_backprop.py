"""The backward walk-through against torch itself: autograd for every gradient, `torch.optim` for the step.

Tiny seeded runs of each kind (MLP on moons with SGD and momentum, and with Adam; CNN and ViT on digits), at a middle
snapshot (optimizer state recorded) and at snapshot 0 (no state yet). Tolerances are 1e-6: both sides are float32 on
the same CPU, but torch may order a sum differently from the written-out formula by an ulp or so.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nnlab import CNNConfig, DataConfig, MLPConfig, RecordConfig, TrainConfig, ViTConfig, train_run
from nnlab.analysis import backprop as B
from nnlab.models import forward_points

TOL = 1e-6  # float32 on both sides; a written-out formula may round an ulp away from torch's


@pytest.fixture(scope="module")
def runs(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("backprop-runs")
    rec = RecordConfig(snapshots=3, eval_size=40)
    digits = DataConfig.make("digits", train_subset=200)
    return {
        "mlp-sgd": train_run(
            DataConfig.make("moons", n_samples=200),
            MLPConfig(hidden=(8, 8)),
            TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-3, batch_size=32, epochs=2, seed=0),
            rec,
            root=root,
            name="mlp-sgd",
        ),
        "mlp-adam": train_run(
            DataConfig.make("moons", n_samples=200),
            MLPConfig(hidden=(8, 8)),
            TrainConfig(optimizer="adam", lr=0.01, weight_decay=1e-3, batch_size=32, epochs=2, seed=1),
            rec,
            root=root,
            name="mlp-adam",
        ),
        "cnn": train_run(
            digits,
            CNNConfig(input_shape=(1, 8, 8), n_classes=10, channels=(4,), hidden=(8,)),
            TrainConfig(batch_size=50, epochs=1, seed=0, schedule="cosine"),
            rec,
            root=root,
            name="cnn",
        ),
        "vit": train_run(
            digits,
            ViTConfig(input_shape=(1, 8, 8), n_classes=10, width=16, depth=2, heads=2),
            TrainConfig(batch_size=50, epochs=1, seed=0),
            rec,
            root=root,
            name="vit",
        ),
    }


@pytest.fixture(scope="module")
def monkeypatch_module(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_DATA_DIR", str(tmp_path_factory.mktemp("data")))
        yield mp


def sample(run, i: int = 3):
    ds = run.dataset()
    return ds.prepare(ds.x_test[i : i + 1]), int(ds.y_test[i])


def reference(run, k: int, x: torch.Tensor, target: int):
    """Plain torch: the loss, every point's and parameter's gradient by backward(), then torch.optim's step."""
    model = run.model_at(k)
    outs = forward_points(model, x)
    for t in outs.values():
        t.retain_grad()
    loss = F.cross_entropy(outs["out"], torch.tensor([target]))
    loss.backward()
    cfg, rec = run.train_config, B.optimizer_at(run, k)
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=rec.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=rec.lr, weight_decay=cfg.weight_decay)
    names = dict(model.named_parameters())
    for name, state in B.state_at(run, k).items():
        opt.state[names[name]] = {key: v.float().clone() for key, v in state.items()}
        if cfg.optimizer == "adam":
            opt.state[names[name]]["step"] = torch.tensor(float(run.snapshots[k]["step"]))
    grads = {n: p.grad.clone() for n, p in names.items()}
    before = {n: p.detach().clone() for n, p in names.items()}
    opt.step()
    with torch.no_grad():
        after = F.cross_entropy(model(x), torch.tensor([target])).item()
    state = {n: {key: v for key, v in opt.state[p].items() if key != "step"} for n, p in names.items()}
    return loss.item(), outs, grads, before, dict(model.named_parameters()), state, after


@pytest.mark.parametrize("kind", ["mlp-sgd", "mlp-adam", "cnn", "vit"])
@pytest.mark.parametrize("k", [0, 2])
def test_every_number_equals_autograd_and_torch_optim(runs, kind, k):
    run = runs[kind]
    x, y = sample(run)
    target = (y + 1) % len(run.class_names)  # not the truth: any target works the same way
    record = B.run_backprop(run, k, x, target, index=3)
    loss, outs, grads, before, after, state, loss_after = reference(run, k, x, target)
    assert record.loss == pytest.approx(loss, abs=TOL) and record.target == target and record.index == 3
    assert record.loss_after == pytest.approx(loss_after, abs=TOL)
    assert [p.name for p in record.points] == [n for n in outs if n != "softmax"]
    for p in record.points:
        np.testing.assert_allclose(p.values, outs[p.name][0].detach().numpy(), atol=TOL)
        np.testing.assert_allclose(p.grad, outs[p.name].grad[0].numpy(), atol=TOL, err_msg=p.name)
    assert [p.name for p in record.params] == list(grads)
    for p in record.params:
        np.testing.assert_allclose(p.grad, grads[p.name].numpy(), atol=TOL, err_msg=p.name)
        np.testing.assert_allclose(p.value + p.step, after[p.name].detach().numpy(), atol=TOL, err_msg=p.name)
        np.testing.assert_allclose(p.value, before[p.name].numpy(), atol=0)
        assert set(p.new_state) == set(state[p.name]), p.name
        for key, v in p.new_state.items():
            np.testing.assert_allclose(v, state[p.name][key].numpy(), atol=TOL, err_msg=f"{p.name} {key}")
    np.testing.assert_allclose(record.probs.sum(), 1, atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp-sgd", "cnn", "vit"])
def test_a_dense_layers_gradient_is_the_outer_product_of_its_input_and_its_output_gradient(runs, kind):
    run = runs[kind]
    record = B.run_backprop(run, 2, *sample(run))
    dense = [p for p in record.params if p.is_dense]
    assert dense and dense[-1].module == "out"
    for p in dense:
        np.testing.assert_allclose(p.grad, np.outer(p.outgoing, p.incoming), atol=TOL, err_msg=p.name)
        np.testing.assert_allclose(record.param(p.module + ".bias").grad, p.outgoing, atol=TOL)


def test_the_relu_gate_passes_where_the_raw_output_is_positive_and_stops_elsewhere(runs):
    record = B.run_backprop(runs["cnn"], 2, *sample(runs["cnn"]))
    for raw, act in (("conv1", "relu1"), ("dense2", "relu2")):
        before, gate = record.point(raw), record.point(act).gate
        np.testing.assert_array_equal(gate, (before.values > 0).astype(np.float32))
        np.testing.assert_allclose(before.grad, gate * record.point(act).grad, atol=TOL)
        assert set(record.point(act).stopped) == set(np.flatnonzero(before.values.reshape(-1) <= 0))
    assert record.point("conv1").gate is None and record.point("pool1").gate is None
    conv = record.param("conv1.weight")
    assert conv.is_filters and conv.grad.shape == (4, 1, 3, 3) and not conv.is_dense


def test_sgd_with_momentum_written_out():
    """Hand-set numbers: the first step's buffer is the gradient plus weight decay, the next one adds μ·buffer."""
    param, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25])
    opt = B.OptimizerStep("sgd", lr=0.1, momentum=0.9, weight_decay=0.01)
    delta, state = B.sgd_step(param, grad, {}, opt)
    np.testing.assert_allclose(state["momentum_buffer"], [0.51, 0.23], atol=TOL)
    np.testing.assert_allclose(delta, [-0.051, -0.023], atol=TOL)
    delta, state = B.sgd_step(param, grad, {"momentum_buffer": torch.tensor([1.0, 1.0])}, opt)
    np.testing.assert_allclose(state["momentum_buffer"], [1.41, 1.13], atol=TOL)
    np.testing.assert_allclose(delta, [-0.141, -0.113], atol=TOL)


def test_adam_written_out_with_its_bias_correction():
    """At t = 1 the corrected step is lr·sign(g) (m/(1−β₁) = g, √(v/(1−β₂)) = |g|); at t = 3, by the formula."""
    param, grad = torch.tensor([1.0, -2.0]), torch.tensor([0.5, -0.25])
    delta, state = B.adam_step(param, grad, {}, B.OptimizerStep("adam", lr=0.01, t=1))
    np.testing.assert_allclose(delta, [-0.01, 0.01], atol=TOL)
    np.testing.assert_allclose(state["exp_avg"], [0.05, -0.025], atol=TOL)
    m, v = torch.tensor([0.1, 0.2]), torch.tensor([0.01, 0.04])
    opt = B.OptimizerStep("adam", lr=0.01, t=3)
    delta, state = B.adam_step(param, grad, {"exp_avg": m, "exp_avg_sq": v}, opt)
    m1, v1 = 0.9 * m.double() + 0.1 * grad.double(), 0.999 * v.double() + 0.001 * grad.double() ** 2
    c1, c2 = 1 - 0.9**3, 1 - 0.999**3
    np.testing.assert_allclose(delta, -0.01 / c1 * m1 / (v1.sqrt() / c2**0.5 + 1e-8), atol=TOL)
    assert opt.bias_correction == pytest.approx((c1, c2))


def test_what_to_say(runs):
    record = B.run_backprop(runs["mlp-sgd"], 2, *sample(runs["mlp-sgd"]))
    big = B.largest_gradient(record)
    assert big.name in {"dense1", "relu1", "dense2", "relu2"}
    assert abs(big.value) == max(np.abs(p.grad).max() for p in record.points if p.role != "logits")
    move = B.largest_move(record, [record.param("dense1.weight")])
    assert move.name == "dense1.weight" and abs(move.value) == np.abs(record.param("dense1.weight").step).max()
    grad = B.largest_weight_gradient(record)
    assert abs(grad.value) == max(np.abs(p.grad).max() for p in record.weights())


def test_the_step_after_a_snapshot_uses_the_schedules_learning_rate_and_adams_next_count(runs):
    import math

    run = runs["cnn"]  # Adam on a cosine schedule
    step, total = run.snapshots[1]["step"], run.manifest["progress"]["total_steps"]
    opt = B.optimizer_at(run, 1)
    assert opt.name == "adam" and opt.t == step + 1 and 0 < step < total
    assert opt.lr == pytest.approx(run.train_config.lr * 0.5 * (1 + math.cos(math.pi * step / total)))
    assert B.state_at(run, 0) == {} and set(B.state_at(run, 1)["conv1.weight"]) == {"exp_avg", "exp_avg_sq"}
