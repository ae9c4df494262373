"""nnlab.record: snapshot contents worked out on paper, the schedule, state dtypes, and no effect on training."""

from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nnlab import CNNConfig, MLPConfig, RecordConfig, Recorder, Run, RunWriter, TrainConfig, Trainer, build_model
from nnlab.models import forward_points
from nnlab.record import snapshot_steps


def _writer(folder, model_dict):
    return RunWriter(folder, data={"name": "custom", "options": {}}, model=model_dict, train={}, record={})


def _record(folder, net, cfg, x, y, x_eval, y_eval, k, record=RecordConfig(), callbacks=(), **kw):
    """Train `net` with a recorder writing `folder`; returns the trainer and the opened run."""
    model_dict = asdict(net.config) if hasattr(net, "config") else {"kind": "custom"}
    writer = _writer(folder, model_dict)
    writer.save_eval_set(np.arange(len(y_eval)), y_eval.numpy())
    rec = Recorder(writer, x_eval, y_eval, k, record, **kw)
    trainer = Trainer(net, cfg, x, y, callbacks=[rec, *callbacks]).fit()
    return trainer, Run(folder)


# --- a 2-2-2 MLP with hand-set weights ---------------------------------------------------------
# dense1 = x (identity), relu1 = max(x, 0), out = (r1 - r2, r2 - r1).
X_EVAL = torch.tensor([[1.0, -1.0], [3.0, 1.0], [-2.0, 2.0], [2.0, 0.0]])
Y_EVAL = torch.tensor([0, 0, 1, 1])  # the last one is predicted 0: wrong


def _hand_set_net():
    net = build_model(MLPConfig(input_shape=(2,), n_classes=2, hidden=(2,)))
    with torch.no_grad():
        net.dense1.weight.copy_(torch.eye(2))
        net.dense1.bias.zero_()
        net.out.weight.copy_(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
        net.out.bias.zero_()
    return net


def test_snapshot_values_worked_out_on_paper(tmp_path):
    net = _hand_set_net()
    # lr 0: the weights never move, so every snapshot has the same statistics; one full batch per step
    cfg = TrainConfig(optimizer="sgd", lr=0.0, momentum=0.9, batch_size=4, epochs=3)
    trainer, run = _record(tmp_path / "run", net, cfg, X_EVAL, Y_EVAL, X_EVAL, Y_EVAL, 2)
    assert [s["step"] for s in run.snapshots] == [0, 1, 2, 3]
    s = run.snapshot(0)
    as_np = lambda key: s[key].numpy()  # noqa: E731
    np.testing.assert_array_equal(as_np("mean/dense1"), [[2, 0], [0, 1]])
    np.testing.assert_array_equal(as_np("std/dense1"), [[1, 1], [2, 1]])
    np.testing.assert_array_equal(as_np("mean/relu1"), [[2, 0.5], [1, 1]])
    np.testing.assert_array_equal(as_np("std/relu1"), [[1, 0.5], [1, 1]])
    np.testing.assert_array_equal(as_np("fire/relu1"), [0.75, 0.5])
    np.testing.assert_array_equal(as_np("mean/out"), [[1.5, -1.5], [0, 0]])
    np.testing.assert_array_equal(as_np("std/out"), [[0.5, 0.5], [2, 2]])
    p = torch.softmax(torch.tensor([[1.0, -1], [2, -2], [-2, 2], [2, -2]]), 1)
    np.testing.assert_allclose(as_np("mean/softmax"), [p[:2].mean(0), p[2:].mean(0)], rtol=1e-6)
    np.testing.assert_array_equal(as_np("pred"), [0, 0, 1, 0])
    np.testing.assert_array_equal(as_np("confusion"), [[2, 0], [1, 1]])
    assert s["pred"].dtype == torch.int32 and s["confusion"].dtype == torch.int64
    assert not any(key.startswith("fire/") for key in s if key not in ("fire/relu1",))  # only activated points
    assert run.snapshots[0]["eval_acc"] == 0.75 and run.snapshots[0]["loss"] is None
    assert not any(k.startswith(("grad/", "opt/")) for k in s)  # nothing has a gradient before the first step
    np.testing.assert_array_equal(s["param/dense1.weight"].numpy(), np.eye(2))

    # gradients and momentum at step 3: the full-batch gradient g, and the buffer g + 0.9 g + 0.81 g
    ref = _hand_set_net()
    F.cross_entropy(ref(X_EVAL), Y_EVAL).backward()
    last = run.snapshot(3)
    assert run.snapshots[3]["loss"] == pytest.approx(F.cross_entropy(ref(X_EVAL), Y_EVAL).item())
    for name, p in ref.named_parameters():
        g = p.grad
        assert last[f"grad/{name}"].dtype == torch.bfloat16
        torch.testing.assert_close(last[f"grad/{name}"], g.to(torch.bfloat16), rtol=0, atol=0)
        torch.testing.assert_close(last[f"opt/{name}/momentum_buffer"].float(), g * 2.71, rtol=1e-2, atol=1e-6)
        assert last[f"param/{name}"].dtype == torch.float32
    np.testing.assert_array_equal(last["mean/relu1"].numpy(), s["mean/relu1"].numpy())


def test_conv_points_are_reduced_per_channel(tmp_path):
    torch.manual_seed(0)
    net = build_model(CNNConfig(input_shape=(1, 6, 6), n_classes=3, channels=(4,), hidden=(5,)))
    x, y = torch.randn(12, 1, 6, 6), torch.arange(12) % 3
    _, run = _record(tmp_path / "run", net, TrainConfig(batch_size=6, epochs=1), x, y, x, y, 3)
    s = run.snapshot(-1)
    assert s["mean/conv1"].shape == (3, 4) and s["std/relu1"].shape == (3, 4) and s["fire/relu1"].shape == (4,)
    assert s["mean/pool1"].shape == (3, 4) and s["mean/dense2"].shape == (3, 5) and s["mean/softmax"].shape == (3, 3)
    assert s["pred"].shape == (12,) and s["confusion"].shape == (3, 3) and int(s["confusion"].sum()) == 12
    with torch.no_grad():
        outs = forward_points(run.model_at(-1), x)
    per_channel = outs["conv1"].mean((2, 3))  # (N, C)
    for k in range(3):
        torch.testing.assert_close(s["mean/conv1"][k], per_channel[y == k].mean(0), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(s["std/conv1"][k], per_channel[y == k].std(0, unbiased=False), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(s["fire/relu1"], (outs["relu1"] > 0).float().mean((0, 2, 3)))


def test_snapshot_steps_schedule():
    assert snapshot_steps(10, 4) == [0, 2, 5, 8, 10]
    assert snapshot_steps(3, 50) == [0, 1, 2, 3]  # never more snapshots than steps
    assert snapshot_steps(0, 5) == [0]
    steps = snapshot_steps(9380, 50)  # 20 epochs of Fashion-MNIST at batch 128
    assert len(steps) == 51 and steps[0] == 0 and steps[-1] == 9380
    assert set(np.diff(steps)) <= {187, 188}  # evenly spaced


def test_recorded_steps_follow_the_schedule(tiny_run):
    assert [s["step"] for s in tiny_run.snapshots] == snapshot_steps(10, 4) == [0, 2, 5, 8, 10]
    assert [s["index"] for s in tiny_run.snapshots] == list(range(5))
    assert tiny_run.snapshots[-1]["epoch"] == 2.0 and tiny_run.snapshots[2]["epoch"] == 1.0
    steps = tiny_run.steps()
    assert steps["loss"].shape == steps["acc"].shape == (10,)
    assert tiny_run.snapshots[-1]["loss"] == pytest.approx(steps["loss"][-1])
    s = tiny_run.snapshot(-1)
    assert s["pred"].shape == (40,) and s["confusion"].shape == (2, 2)
    assert {k for k in s if k.startswith("opt/dense1.weight/")} == {
        "opt/dense1.weight/exp_avg",
        "opt/dense1.weight/exp_avg_sq",
    }
    assert s["mean/dense1"].shape == (2, 8) and s["fire/relu2"].shape == (8,)


def _adam_state(state_dtype, tmp_path):
    torch.manual_seed(0)
    x = torch.randn(256, 20)
    y = (x[:, :3].sum(1) > 0).long()
    net = build_model(MLPConfig(input_shape=(20,), hidden=(32, 16)))
    trainer, run = _record(
        tmp_path / state_dtype,
        net,
        TrainConfig(batch_size=32, epochs=2, lr=1e-3),
        x,
        y,
        x[:50],
        y[:50],
        2,
        RecordConfig(snapshots=2, state_dtype=state_dtype),
    )
    return trainer, run.group(-1, "opt")


def test_bfloat16_state_keeps_small_moments_that_float16_would_flush(tmp_path):
    trainer, saved = _adam_state("bfloat16", tmp_path)
    names = dict(trainer.model.named_parameters())
    exact = torch.cat([trainer.optimizer.state[names[n.split("/")[0]]][n.split("/")[1]].flatten() for n in saved])
    stored = torch.cat([v.flatten() for v in saved.values()])
    assert stored.dtype == torch.bfloat16 and len(stored) == len(exact) == 2 * sum(p.numel() for p in names.values())
    nonzero = exact != 0
    flushed_f16 = (exact.half() == 0)[nonzero].float().mean().item()
    flushed_bf16 = (stored == 0)[nonzero].float().mean().item()
    assert flushed_bf16 == 0
    assert flushed_f16 > 0.05  # float16 would lose these (mostly Adam's second moments)
    torch.testing.assert_close(stored.float(), exact, rtol=2**-8, atol=0)


def test_float32_state_is_exact(tmp_path):
    trainer, saved = _adam_state("float32", tmp_path)
    names = dict(trainer.model.named_parameters())
    for key, v in saved.items():
        name, slot = key.split("/")
        assert torch.equal(v, trainer.optimizer.state[names[name]][slot])


def test_recording_does_not_change_the_training_trajectory(tmp_path):
    cfg = MLPConfig(input_shape=(4,), n_classes=3, hidden=(16, 8), dropout=0.2, batch_norm=True)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 4, generator=g)
    y = torch.randint(0, 3, (120,), generator=g)
    train = TrainConfig(batch_size=16, epochs=3, seed=2)

    class Losses:
        def __init__(self):
            self.values = []

        def on_step_end(self, trainer, loss, acc):
            self.values.append(loss)

    plain, recorded = Losses(), Losses()
    torch.manual_seed(2)
    a = Trainer(build_model(cfg), train, x, y, callbacks=[plain]).fit()
    torch.manual_seed(2)
    _, run = _record(
        tmp_path / "run",
        build_model(cfg),
        train,
        x,
        y,
        x[:30],
        y[:30],
        3,
        RecordConfig(snapshots=20),
        callbacks=[recorded],
    )
    assert len(run) == 21
    assert plain.values == recorded.values
    b = run.model_at(-1)
    for (name, p), q in zip(a.model.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name  # batch-norm running statistics included


class Custom(nn.Module):
    """Not an nnlab Net: a shared activation, a nested block, and a module that never runs."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 6), nn.ReLU(inplace=True))
        self.head = nn.Linear(6, 2)
        self.unused = nn.Linear(3, 3)

    def forward(self, x):
        return self.head(self.body(x))


def test_a_custom_module_is_recorded_by_dotted_names(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, 0] > 0).long()
    trainer, run = _record(tmp_path / "run", Custom(), TrainConfig(batch_size=16, epochs=1), x, y, x, y, 2)
    s = run.snapshot(-1)
    assert {k for k in s if k.startswith("mean/")} == {"mean/body.0", "mean/body.1", "mean/head", "mean/softmax"}
    with torch.no_grad():
        raw = trainer.model.body[0](x)
    torch.testing.assert_close(s["mean/body.0"][1], raw[y == 1].mean(0))  # raw, not overwritten by the ReLU
    assert (s["mean/body.0"] < 0).any()
    model = run.model_at(-1, model=Custom())
    assert torch.equal(model.head.weight, trainer.model.head.weight)
    with pytest.raises(Exception, match="custom model"):
        run.model_at(0)


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"snapshots": 0}, "snapshots 0 is outside 1..1,000"),
        ({"snapshots": 10**6}, "snapshots 1000000 is outside"),
        ({"snapshots": 2.5}, "snapshots 2.5 is outside"),
        ({"eval_size": 0}, "eval_size 0 is outside 1..100,000"),
        ({"state_dtype": "int8"}, "Unknown state_dtype 'int8'"),
    ],
)
def test_bad_record_configs_are_clear_errors(bad, words):
    with pytest.raises(ValueError, match=words):
        RecordConfig(**bad)
    assert RecordConfig(snapshots=np.int64(3)).to_dict()["snapshots"] == 3 and RecordConfig(snapshots=1000)
